"""The knowledge's three tiers: full entries, the directory, nothing; counts and sources."""

import datetime as dt
import re
import shutil
from pathlib import Path

import pytest
import yaml

from bot.nlu.text import fold
from bot.procedures import answers
from bot.procedures.catalogue import CatalogueError, load_catalogue
from bot.procedures.directory import load_directory

CATALOGUE = Path("data/procedures")
DIRECTORY = Path("data/directory")
TEXTS = yaml.safe_load(Path("data/texts/procedures.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue(CATALOGUE)


@pytest.fixture(scope="module")
def directory(catalogue):
    return load_directory(DIRECTORY, catalogue)


def test_at_least_seventy_full_entries_over_the_fields_citizens_ask_about(catalogue):
    assert len(catalogue.procedures) >= 70
    assert len(catalogue.fields) >= 10
    for entry in catalogue.procedures.values():
        assert entry["as_of"] and entry["legal_basis"], entry["id"]


def test_at_least_three_hundred_directory_entries_beside_them(directory, catalogue):
    assert len(directory.entries) >= 300
    levels = {e["level"] for e in directory.entries.values()}
    assert {"xa", "thanh_pho", "cong_an_thanh_pho", "bao_hiem_xa_hoi"} <= levels | {"cong_an_xa"}
    for entry in directory.entries.values():
        assert entry["source"] and entry["agency"] and entry["name"], entry["id"]
        assert entry["id"] not in catalogue.procedures


def test_national_codes_have_the_national_form_and_name_one_directory_entry(catalogue, directory):
    codes = [e["code"] for e in [*catalogue.procedures.values(), *directory.entries.values()] if e.get("code")]
    assert codes and all(re.fullmatch(r"\d\.\d{6}", c) for c in codes)
    listed = [e["code"] for e in directory.entries.values() if e.get("code")]
    assert len(listed) == len(set(listed)), "a national code used twice in the directory"
    # (Two catalogue entries may split one national procedure for citizens: tách thửa, hợp thửa.)


def test_no_alias_names_two_procedures(catalogue, directory):
    seen = {}
    for entry_id, entry in [*catalogue.procedures.items(), *directory.entries.items()]:
        for surface in entry["aliases"]:
            key = " ".join(fold(surface).lower().split())
            assert seen.setdefault(key, entry_id) == entry_id, f"«{surface}»: {seen[key]} and {entry_id}"


def test_a_directory_entry_covered_by_a_full_entry_is_left_out(tmp_path, catalogue):
    entry = next(iter(catalogue.procedures.values()))
    (tmp_path / "x.yml").write_text(yaml.safe_dump({
        "field": "x", "field_name": "X", "as_of": "2026-12-03", "procedures": [
            {"id": "dm_a", "name": entry["name"], "code": None, "code_verified": False, "level": "xa",
             "agency": "UBND xã", "aliases": [], "source": "test"},
            {"id": "dm_b", "name": "Thủ tục khác hẳn", "code": None, "code_verified": False, "level": "xa",
             "agency": "UBND xã", "aliases": ["khác hẳn"], "source": "test"}]}, allow_unicode=True), encoding="utf-8")
    directory = load_directory(tmp_path, catalogue)
    assert set(directory.entries) == {"dm_b"} and directory.covered == 1


def test_a_broken_directory_file_stops_the_start_with_its_name(tmp_path, catalogue):
    (tmp_path / "x.yml").write_text("field: x\nfield_name: X\nas_of: '2026-12-03'\nprocedures:\n  - id: dm_a\n    name: A\n",
                                    encoding="utf-8")
    with pytest.raises(CatalogueError, match="x.yml"):
        load_directory(tmp_path, catalogue)


def test_caveats_are_said_under_their_aspect_only_while_in_force():
    entry = {"caveats": [
        {"aspect": "fee", "text": "Giảm 50 %.", "verified": True, "source": "s", "valid_until": "2026-12-31"},
        {"aspect": "fee", "text": "Mức khác nhau giữa hai văn bản.", "verified": False, "source": "s"},
        {"aspect": "agency", "text": "Nơi khác.", "verified": True, "source": "s"}]}
    december = answers.caveat_lines(entry, "fee", TEXTS, dt.date(2026, 12, 3))
    assert "Giảm 50 %." in december and "Mức khác nhau giữa hai văn bản. (chưa xác minh)" in december
    assert "Nơi khác." not in december
    assert "Giảm 50 %." not in answers.caveat_lines(entry, "fee", TEXTS, dt.date(2027, 1, 1))


@pytest.fixture
def copied(tmp_path):
    folder = tmp_path / "procedures"
    shutil.copytree(CATALOGUE, folder)
    return folder


def test_a_caveat_needs_a_source_and_a_known_aspect(copied):
    path = copied / "ho_tich.yml"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    document["procedures"][0]["caveats"] = [{"aspect": "weather", "text": "x", "verified": False, "source": "s"}]
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    with pytest.raises(CatalogueError, match="caveats"):
        load_catalogue(copied)
