"""scripts/import_localities.py: the locality data files are exactly what the importer makes
from shared/data/localities/, and that data holds together (94 units, ids resolve)."""

from __future__ import annotations

import importlib.util
import shutil
from collections import Counter
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
SCRIPT = REPO_ROOT / "scripts" / "import_localities.py"
SOURCE = (REPO_ROOT / ".." / "shared" / "data" / "localities").resolve()
COMMITTED = REPO_ROOT / "data" / "localities"
FILES = ("units.yml", "former_districts.yml", "former_communes.yml")

if not SOURCE.is_dir():
    pytest.skip(
        f"source data folder {SOURCE} (../shared/data/localities from the repository root)"
        " is absent, so the importer cannot be run",
        allow_module_level=True,
    )


def _load_script():
    spec = importlib.util.spec_from_file_location("import_localities", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


importer = _load_script()


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("localities")
    assert importer.main(["--source", str(SOURCE), "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def data(out_dir):
    return {
        name: yaml.safe_load((out_dir / name).read_text(encoding="utf-8"))["localities"]
        for name in FILES
    }


@pytest.fixture(scope="module")
def by_id(data):
    return {entry["id"]: entry for entries in data.values() for entry in entries}


def test_94_units_by_type_and_province(data):
    units = data["units.yml"]
    assert len(units) == 94
    assert Counter(u["type"] for u in units) == {"phường": 23, "xã": 70, "đặc khu": 1}
    assert Counter(u["former_province"] for u in units) == {"Quảng Nam": 78, "Đà Nẵng": 16}
    assert all(u["kind"] == "unit" for u in units)
    assert all(isinstance(u["code_gso"], str) for u in units)


def test_ids_unique_across_files(data):
    ids = [entry["id"] for entries in data.values() for entry in entries]
    duplicates = sorted(i for i, n in Counter(ids).items() if n > 1)
    assert not duplicates


def test_every_new_unit_exists(data):
    unit_ids = {u["id"] for u in data["units.yml"]}
    for name in ("former_districts.yml", "former_communes.yml"):
        for entry in data[name]:
            assert entry["new_units"], entry["id"]
            missing = set(entry["new_units"]) - unit_ids
            assert not missing, f"{name} {entry['id']}: {sorted(missing)}"


def test_split_flag_matches_new_units(data):
    for entry in data["former_communes.yml"]:
        assert entry.get("split", False) == (len(entry["new_units"]) > 1), entry["id"]


def test_hoa_lien_is_split(by_id):
    hoa_lien = by_id["cu-xa-hoa-lien-hoa-vang"]
    assert hoa_lien["name"] == "xã Hòa Liên"
    assert hoa_lien["split"] is True
    assert sorted(hoa_lien["new_units"]) == ["phuong-hai-van", "phuong-lien-chieu"]


def test_hoi_an_city_maps_to_the_four_units_in_the_csv(by_id):
    hoi_an = by_id["cu-thanh-pho-hoi-an"]
    assert hoi_an["name"] == "thành phố Hội An"
    assert hoi_an["new_units"] == [
        "phuong-hoi-an", "phuong-hoi-an-dong", "phuong-hoi-an-tay", "xa-tan-hiep",
    ]


def test_names_and_written_forms(by_id):
    assert {"Hội An", "P. Hội An", "P Hội An"} <= set(by_id["phuong-hoi-an"]["aliases"])
    assert "X. Tam Xuân" in by_id["xa-tam-xuan"]["aliases"]
    assert by_id["dac-khu-hoang-sa"]["aliases"] == ["Hoàng Sa"]
    assert {"Núi Thành", "H. Núi Thành", "huyện Núi Thành cũ"} <= set(
        by_id["cu-huyen-nui-thanh"]["aliases"]
    )
    assert {"TP Tam Kỳ", "TP. Tam Kỳ", "thành phố Tam Kỳ"} <= set(
        by_id["cu-thanh-pho-tam-ky"]["aliases"]
    )
    assert {"TX Điện Bàn", "thị xã Điện Bàn"} <= set(by_id["cu-thi-xa-dien-ban"]["aliases"])
    assert "Q. Hải Châu" in by_id["cu-quan-hai-chau"]["aliases"]
    assert by_id["cu-huyen-nong-son"]["new_units"] == ["xa-nong-son", "xa-que-phuoc"]
    assert "TT Núi Thành" in by_id["cu-thi-tran-nui-thanh-nui-thanh"]["aliases"]
    # Spelling variants from aliases.csv sit on the entry they spell.
    assert "xã Tam Xuân 1" in by_id["cu-xa-tam-xuan-i-nui-thanh"]["aliases"]
    assert by_id["cu-xa-cam-kim-hoi-an"]["new_units"] == ["phuong-hoi-an"]


def test_former_names_keep_their_facts(data):
    former_names = [e for e in data["former_communes.yml"] if e["kind"] == "former_name"]
    assert former_names
    for entry in former_names:
        assert entry["kind_detail"] != "spelling variant"
        assert entry["unit_as_of_2025_06_30"] and entry["source"] and entry["confidence"]


def test_committed_files_equal_a_fresh_import(out_dir):
    for name in FILES:
        committed = COMMITTED / name
        assert committed.is_file(), f"{committed} missing: run scripts/import_localities.py"
        assert committed.read_bytes() == (out_dir / name).read_bytes(), (
            f"{committed} differs from what scripts/import_localities.py makes now: re-run it"
        )


def test_unresolvable_unit_name_fails_loudly(tmp_path, capsys):
    source = tmp_path / "source"
    shutil.copytree(SOURCE, source)
    path = source / "former_districts.csv"
    path.chmod(0o644)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("phường Hội An Tây", "phường Hội An Bắc", 1), encoding="utf-8")
    assert importer.main(["--source", str(source), "--out", str(tmp_path / "out")]) != 0
    assert "phường Hội An Bắc" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
