"""The facts the knowledge audit of 2026-12-02 found wrong or missing stay fixed (issue: notes
shown as caveats, fee exemptions, time-limited reductions, repealed decrees)."""

import datetime as dt
from pathlib import Path

import pytest
import yaml

from bot.nlu.text import fold
from bot.procedures import answers
from bot.procedures.catalogue import current_temporary_facts, load_catalogue

DOMAIN = yaml.safe_load(Path("domain.yml").read_text(encoding="utf-8"))
TEXTS = yaml.safe_load(Path("data/texts/procedures.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue(Path("data/procedures"))


def said(entry) -> str:
    """Everything a citizen can be shown about an entry, folded."""
    fee = entry["fee"]
    parts = [fee["text"], *(fee.get("exemptions") or []), *[t["text"] for t in fee.get("temporary") or []],
             *[c["text"] for c in entry.get("caveats") or []], *[c["answer"] for c in entry.get("cases") or []]]
    return fold(" ".join(parts)).lower()


def test_criminal_record_fee_lists_the_exemptions_of_circular_244_and_is_not_claimed_verified(catalogue):
    entry = catalogue.get("ly_lich_tu_phap")
    text = said(entry)
    for group in ("tre em", "nguoi cao tuoi", "khuyet tat", "ho ngheo", "dac biet kho khan"):
        assert group in text, group
    assert entry["fee"]["verified"] is False
    assert any("5.000" in c["text"] for c in entry.get("caveats") or []), "the third-copy surcharge, as a caveat"


def test_identity_card_first_issue_is_free_and_the_reduction_ends_with_2026(catalogue):
    entry = catalogue.get("can_cuoc")
    assert "lan dau" in fold(entry["fee"]["text"]).lower() and "khong thu" in fold(entry["fee"]["text"]).lower()
    assert any("117/2026/TT-BTC" in basis for basis in entry["legal_basis"])
    reduction = [t for t in entry["fee"]["temporary"] if "64/2025" in t["text"]]
    assert reduction and all(t["valid_until"] == "2026-12-31" for t in reduction)
    assert not [t for t in current_temporary_facts(entry["fee"], dt.date(2027, 1, 1)) if "64/2025" in t["text"]]


def test_land_transfers_within_the_family_are_exempt_and_other_gifts_taxed_ten_percent(catalogue):
    text = said(catalogue.get("bien_dong_dat_dai"))
    assert "10%" in text.replace(" %", "%")
    for relation in ("vo", "chong", "cha", "me", "con", "ong ba", "chau", "anh, chi, em ruot"):
        assert relation in text, relation
    assert "mien" in text and "truoc ba" in text


def test_temporary_absence_is_its_own_procedure_not_an_alias_of_temporary_residence(catalogue):
    assert not any("tam vang" in fold(a).lower() for a in catalogue.get("tam_tru")["aliases"])
    absent = [e for e in catalogue.procedures.values() if any(fold(a).lower() == "tam vang" for a in e["aliases"])]
    assert absent and "31" in " ".join(absent[0]["legal_basis"] + [absent[0]["handled_by"]["source"]])


def test_company_registration_fee_follows_circular_64_2025(catalogue):
    entry = catalogue.get("doanh_nghiep")
    text = said(entry)
    assert "50.000" in text and "100.000" in text and "0 dong" in text
    reduced = [t for t in entry["fee"]["temporary"] if "25.000" in t["text"]]
    assert reduced and reduced[0]["valid_until"] == "2026-12-31"


def test_the_marriage_fee_conflict_is_told_to_the_citizen(catalogue):
    entry = catalogue.get("ket_hon")
    fee_caveats = [c for c in entry.get("caveats") or [] if c["aspect"] == "fee"]
    assert fee_caveats and not fee_caveats[0]["verified"]
    assert "15.000" in answers.caveat_lines(entry, "fee", TEXTS, dt.date(2026, 12, 3))


def test_civil_status_place_rule_ends_with_february_2027(catalogue):
    for procedure_id in ("khai_sinh", "ket_hon", "khai_tu"):
        entry = catalogue.get(procedure_id)
        assert "28/02/2027" not in (entry["handled_by"].get("note") or "")
        limited = [c for c in entry.get("caveats") or [] if c["aspect"] == "agency" and c.get("valid_until")]
        assert limited and limited[0]["valid_until"] == "2027-02-28", procedure_id
        assert not answers.caveat_lines(entry, "agency", TEXTS, dt.date(2027, 3, 1)).count(limited[0]["text"])


def test_online_levels_cite_the_decree_in_force():
    text = DOMAIN["responses"]["utter_online_levels"][0]["text"]
    assert "224/2026/NĐ-CP" in text and "42/2022" not in text


def test_no_note_is_left_where_a_citizen_needs_a_caveat(catalogue):
    """Notes are for maintainers; an entry with a note a citizen must know has caveats."""
    with_caveats = [e for e in catalogue.procedures.values() if e.get("caveats")]
    assert len(with_caveats) >= 30
    for entry in with_caveats:
        for caveat in entry["caveats"]:
            assert caveat["source"] and caveat["text"][-1] in ".)»!?", (entry["id"], caveat["text"])
