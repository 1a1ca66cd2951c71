"""Places citizens name — today's units or the former districts and communes — resolved to
today's commune-level units of Đà Nẵng city (data/localities/, Resolution 1659/NQ-UBTVQH15)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Set, Tuple

from bot.datafiles import read_yaml
from bot.nlu.lexicon import teencode_table
from bot.nlu.text import fold, normalise

_SYLLABLE = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class PlaceResolution:
    status: str                    # one | choose | unknown
    units: Tuple[str, ...] = ()    # today's unit ids
    records: Tuple[dict, ...] = () # what the name matched (units or former places)
    named: str = ""


class Localities:
    def __init__(self, folder: Path, teencode: Mapping[str, str]) -> None:
        self.teencode = teencode
        self.records: Dict[str, dict] = {}
        for file in sorted(Path(folder).glob("*.yml")):
            for entry in read_yaml(file).get("localities") or []:
                self.records[entry["id"]] = entry
        self.by_key: Dict[Tuple[str, ...], Set[str]] = {}
        self.by_spelling: Dict[Tuple[str, ...], Set[str]] = {}
        for record in self.records.values():
            for surface in [record["name"], *(record.get("aliases") or [])]:
                self.by_key.setdefault(self._key(str(surface)), set()).add(record["id"])
                self.by_spelling.setdefault(self._spelt(str(surface)), set()).add(record["id"])

    def _key(self, text: str) -> Tuple[str, ...]:
        return tuple(_SYLLABLE.findall(fold(normalise(text, self.teencode).text)))

    def _spelt(self, text: str) -> Tuple[str, ...]:
        return tuple(_SYLLABLE.findall(normalise(text, self.teencode).text.lower()))

    def unit(self, unit_id: str) -> dict:
        return self.records[unit_id]

    def units_of(self, record: dict) -> Tuple[str, ...]:
        return (record["id"],) if record["kind"] == "unit" else tuple(record.get("new_units") or ())

    def resolve(self, named: str) -> PlaceResolution:
        """A name typed with accents is matched as spelt ("Tam Thanh" is not "Tam Thành");
        one typed without any is matched without them."""
        spelt = self._spelt(named)
        typed_accents = fold(named) != named.lower().replace("đ", "d")  # before teencode adds any ("tp")
        if named in self.records:
            ids = {named}
        elif typed_accents:
            ids = self.by_spelling.get(spelt, set())
        else:
            ids = self.by_key.get(self._key(named), set())
        if not ids:
            return PlaceResolution("unknown", named=named)
        records = tuple(self.records[i] for i in sorted(ids))
        units: List[str] = []
        for record in records:
            units += [u for u in self.units_of(record) if u not in units]
        return PlaceResolution("one" if len(units) == 1 else "choose", tuple(units), records, named)

    def place_key(self, named: object) -> Optional[str]:
        """What a place is counted under in the analytics: today's unit when the name gives
        one; the former district or commune the citizen named when it spans several of today's
        units ("Duy Xuyên", "Hội An"); None when nothing, or several places, fit."""
        if named in (None, ""):
            return None
        resolution = self.resolve(str(named))
        if resolution.status == "one":
            return resolution.units[0]
        former = [r for r in resolution.records if r["kind"] == "former_district"] or \
            [r for r in resolution.records if r["kind"] != "unit"]
        return former[0]["id"] if len(former) == 1 else None

    def is_former(self, key: str) -> bool:
        record = self.records.get(key)
        return record is not None and record["kind"] != "unit"


@lru_cache(maxsize=2)
def localities_at(folder: str, teencode_path: str) -> Localities:
    return Localities(Path(folder), teencode_table(teencode_path))
