"""The names staff read for the ids the analytics store: procedures, fields and places, from
the catalogue, the directory and the localities (raw ids when unknown)."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

if TYPE_CHECKING:  # the data files are read (and their modules imported) on first use
    from bot.localities import Localities
    from bot.procedures.catalogue import Catalogue
    from bot.procedures.directory import Directory

UNKNOWN_PLACE = "Không rõ địa bàn"
FORMER_PLACE = "{name} (cũ)"
UNKNOWN_FIELD = "Không rõ lĩnh vực"
UNKNOWN_PROCEDURE = "Không rõ thủ tục"


class Names:
    """Display names from the catalogue and the localities; raw ids when unknown."""

    catalogue: Optional[Catalogue]
    places: Optional[Localities]
    directory: Optional[Directory]

    def __init__(self) -> None:
        from bot import knowledge

        try:
            self.catalogue = knowledge.catalogue()
        except Exception:  # noqa: BLE001 - names are a nicety; ids still tell the story
            self.catalogue = None
        try:
            self.places = knowledge.localities()
        except Exception:  # noqa: BLE001
            self.places = None
        try:
            self.directory = knowledge.directory()
        except Exception:  # noqa: BLE001
            self.directory = None

    def entry(self, procedure_id: Optional[str]) -> Optional[Dict[str, Any]]:
        entry = self.catalogue.get(procedure_id) if self.catalogue else None
        if entry is None and self.directory is not None:
            entry = self.directory.get(procedure_id)
        return entry

    def procedure(self, procedure_id: Optional[str]) -> str:
        entry = self.entry(procedure_id)
        return entry["name"] if entry else (procedure_id or "")

    def listed(self, procedure_id: Optional[str]) -> Optional[Dict[str, Any]]:
        return self.directory.get(procedure_id) if self.directory is not None else None

    def field_of(self, procedure_id: Optional[str]) -> Optional[str]:
        entry = self.catalogue.get(procedure_id) if self.catalogue else None
        return entry["field"] if entry else None

    def field(self, field_id: Optional[str]) -> str:
        if self.catalogue and field_id is not None and field_id in self.catalogue.fields:
            return self.catalogue.fields[field_id].name
        return field_id or ""

    def fields(self) -> List[str]:
        return list(self.catalogue.fields) if self.catalogue else []

    def locality(self, value: Optional[str]) -> Tuple[str, str]:
        """(key, name) of a stored place: today's unit, "… (cũ)" for a former district or
        commune the citizen named, UNKNOWN_PLACE when none (older rows hold the words typed)."""
        if self.places is None or not value:
            return "", UNKNOWN_PLACE
        key = self.places.place_key(value)
        if key is None:
            return "", UNKNOWN_PLACE
        record = self.places.records[key]
        return key, (FORMER_PLACE.format(name=record["name"]) if self.places.is_former(key) else record["name"])

    def units(self) -> List[Tuple[str, str]]:
        """Today's units (key, name), in the order of the data file."""
        if self.places is None:
            return []
        return [(k, r["name"]) for k, r in self.places.records.items() if r["kind"] == "unit"]


@lru_cache(maxsize=1)
def names() -> Names:
    """The names, read once per process."""
    return Names()


def display(by: str, raw: Optional[str]) -> Tuple[str, str]:
    """(key, name) of a funnel or offline row grouped by procedure, field or locality."""
    known = names()
    if by == "procedure":
        return raw or "", known.procedure(raw)
    if by == "field":
        return (raw, known.field(raw)) if raw else ("", UNKNOWN_FIELD)
    return known.locality(raw)
