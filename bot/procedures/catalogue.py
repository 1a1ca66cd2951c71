"""Loading and validating the procedure catalogue (`data/procedures/*.yml`).

A broken file stops start-up with an error naming the file, the entry and the field:
a wrong fee told to a citizen costs more than a refused start.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional

import jsonschema
import yaml

from bot.datafiles import load_yaml
from bot.procedures.schema import CATALOGUE_FILE


class CatalogueError(ValueError):
    """A catalogue file is unreadable or breaks the schema."""


@dataclass(frozen=True)
class Field:
    id: str
    name: str
    procedure_ids: tuple
    acts_on_papers: bool = False


@dataclass(frozen=True)
class Catalogue:
    procedures: Dict[str, Dict[str, Any]]
    fields: Dict[str, Field]

    def get(self, procedure_id: Optional[str]) -> Optional[Dict[str, Any]]:
        return self.procedures.get(procedure_id or "")

    def field_of(self, procedure_id: str) -> Optional[Field]:
        return next((f for f in self.fields.values() if procedure_id in f.procedure_ids), None)


def current_temporary_facts(fee: Dict[str, Any], today: dt.date) -> List[Dict[str, Any]]:
    """Time-limited fee facts in force today; expired or future ones are not said."""
    facts = []
    for fact in fee.get("temporary") or []:
        start = dt.date.fromisoformat(fact["valid_from"]) if fact.get("valid_from") else None
        end = dt.date.fromisoformat(fact["valid_until"])
        if (start is None or start <= today) and today <= end:
            facts.append(fact)
    return facts


def _describe(error: jsonschema.ValidationError, document: Any) -> str:
    path = list(error.absolute_path)
    if len(path) >= 2 and path[0] == "procedures" and isinstance(path[1], int):
        entry = document["procedures"][path[1]]
        name = entry.get("id") if isinstance(entry, dict) else None
        where = f"entry {path[1]} (id '{name}')" if name else f"entry {path[1]}"
        field = ".".join(str(p) for p in path[2:]) or "(the entry itself)"
    else:
        where, field = "file", ".".join(str(p) for p in path) or "(top level)"
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        field = f"{field}.{missing}" if field not in ("(the entry itself)", "(top level)") else missing
        return f"{where}, field '{field}': missing"
    return f"{where}, field '{field}': {error.message}"


def load_file(path: Path) -> Dict[str, Any]:
    try:
        document = load_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise CatalogueError(f"{path}: not valid YAML: {error}") from error
    validator = jsonschema.Draft7Validator(CATALOGUE_FILE)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        raise CatalogueError(f"{path}: {_describe(errors[0], document)}")
    for index, entry in enumerate(document["procedures"]):
        for fact in entry["fee"].get("temporary") or []:
            if fact.get("valid_from") and fact["valid_from"] > fact["valid_until"]:
                raise CatalogueError(
                    f"{path}: entry {index} (id '{entry['id']}'), field 'fee.temporary': "
                    "valid_from is after valid_until"
                )
    return document


def load_catalogue(folder: Path) -> Catalogue:
    files = sorted(Path(folder).glob("*.yml"))
    if not files:
        raise CatalogueError(f"{folder}: no catalogue files (*.yml)")
    procedures: Dict[str, Dict[str, Any]] = {}
    fields: Dict[str, Field] = {}
    for path in files:
        document = load_file(path)
        if document["field"] in fields:
            raise CatalogueError(f"{path}: field '{document['field']}' is defined twice")
        for entry in document["procedures"]:
            if entry["id"] in procedures:
                raise CatalogueError(f"{path}: entry id '{entry['id']}' is defined twice")
            procedures[entry["id"]] = {**entry, "field": document["field"]}
        fields[document["field"]] = Field(
            document["field"], document["field_name"], tuple(e["id"] for e in document["procedures"]),
            bool(document.get("acts_on_papers")),
        )
    return Catalogue(procedures, fields)


@lru_cache(maxsize=2)
def catalogue_at(folder: str) -> Catalogue:
    return load_catalogue(Path(folder))
