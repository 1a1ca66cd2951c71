import datetime as dt
import shutil
from pathlib import Path

import pytest
import yaml

from bot.procedures.catalogue import CatalogueError, current_temporary_facts, load_catalogue

CATALOGUE = Path("data/procedures")
REQUIRED_IDS = {
    "khai_sinh", "ket_hon", "khai_tu", "xac_nhan_hon_nhan", "trich_luc_ho_tich", "chung_thuc_ban_sao",
    "chung_thuc_chu_ky", "ly_lich_tu_phap", "thuong_tru", "tam_tru", "can_cuoc", "ho_kinh_doanh",
    "doanh_nghiep", "giay_phep_xay_dung", "bien_dong_dat_dai", "cap_so_do", "giay_phep_lai_xe",
}


def test_the_catalogue_loads_and_has_every_required_procedure_and_five_more():
    catalogue = load_catalogue(CATALOGUE)
    assert REQUIRED_IDS <= set(catalogue.procedures)
    assert len(set(catalogue.procedures) - REQUIRED_IDS) >= 5
    fields_with_more = {catalogue.procedures[i]["field"] for i in set(catalogue.procedures) - REQUIRED_IDS}
    assert {"dat_dai", "xa_hoi"} <= fields_with_more  # land and social allowances among the extras


def test_every_unverified_fact_is_marked_and_every_entry_has_a_source():
    catalogue = load_catalogue(CATALOGUE)
    for entry in catalogue.procedures.values():
        assert entry["legal_basis"] and entry["portal_url"].startswith("https://")
        facts = [entry["fee"], entry["processing_time"], entry["online"], entry["handled_by"]]
        if entry["verified"]:
            assert all(f["verified"] for f in facts) and entry["documents_verified"], entry["id"]


@pytest.fixture
def broken(tmp_path):
    """A copy of the catalogue whose first entry of ho_tich.yml the test can break."""
    folder = tmp_path / "procedures"
    shutil.copytree(CATALOGUE, folder)
    path = folder / "ho_tich.yml"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))

    def write(mutate):
        mutate(document)
        path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
        return folder

    return write


def first(document):
    return document["procedures"][0]


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda d: first(d).pop("fee"), "fee"),
        (lambda d: first(d)["fee"].pop("source"), "fee.source"),
        (lambda d: first(d)["online"].update(level="muc_do_5"), "online.level"),
        (lambda d: first(d).update(as_of="26/11/2026"), "as_of"),
        (lambda d: first(d).update(portal_url="http://example"), "portal_url"),
        (lambda d: first(d)["documents"].append({"name": "Giấy tờ", "form": "photo"}), "documents."),
        (lambda d: first(d).update(aliases=[]), "aliases"),
    ],
    ids=["missing-fee", "missing-source", "bad-online-level", "bad-date", "not-https", "bad-document-form", "no-aliases"],
)
def test_a_broken_entry_names_file_entry_and_field(broken, mutate, field):
    folder = broken(mutate)
    with pytest.raises(CatalogueError) as error:
        load_catalogue(folder)
    message = str(error.value)
    assert "ho_tich.yml" in message
    assert "entry 0" in message and "khai_sinh" in message
    assert f"field '{field}" in message


def test_a_duplicate_id_is_refused(broken):
    folder = broken(lambda d: d["procedures"].append(dict(first(d))))
    with pytest.raises(CatalogueError, match="'khai_sinh' is defined twice"):
        load_catalogue(folder)


def test_invalid_yaml_names_the_file(tmp_path):
    (tmp_path / "bad.yml").write_text("procedures: [unclosed", encoding="utf-8")
    with pytest.raises(CatalogueError, match="bad.yml: not valid YAML"):
        load_catalogue(tmp_path)


def test_time_limited_facts_are_said_only_while_in_force():
    fee = {"temporary": [
        {"text": "0 đồng khi nộp trực tuyến", "valid_from": "2026-08-15", "valid_until": "2027-02-28"},
        {"text": "giảm đến hết 2026", "valid_until": "2026-12-31"},
    ]}
    said = lambda day: [f["text"] for f in current_temporary_facts(fee, day)]  # noqa: E731
    assert said(dt.date(2026, 8, 14)) == ["giảm đến hết 2026"]
    assert said(dt.date(2026, 11, 26)) == ["0 đồng khi nộp trực tuyến", "giảm đến hết 2026"]
    assert said(dt.date(2027, 1, 1)) == ["0 đồng khi nộp trực tuyến"]
    assert said(dt.date(2027, 3, 1)) == []
