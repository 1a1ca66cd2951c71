"""The directory (`data/directory/*.yml`): procedures the assistant names and routes without
detailed guidance: official name, national code, level, agency, aliases, source.

A directory entry with the code or the name of a full catalogue entry is covered by that entry
and left out: the detailed guidance wins. A broken file stops start-up with an error naming the
file and the entry, as the catalogue does.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Optional

import jsonschema
import yaml

from bot.datafiles import load_yaml
from bot.nlu.text import fold
from bot.procedures.catalogue import Catalogue, CatalogueError, catalogue_at
from bot.procedures.schema import DIRECTORY_FILE


@dataclass(frozen=True)
class Directory:
    entries: Dict[str, Dict[str, Any]]  # id → entry, with its field and field name
    covered: int                         # entries left out because a full entry covers them

    def get(self, entry_id: Optional[str]) -> Optional[Dict[str, Any]]:
        return self.entries.get(entry_id or "")


def _load_file(path: Path) -> Dict[str, Any]:
    try:
        document = load_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise CatalogueError(f"{path}: not valid YAML: {error}") from error
    errors = sorted(jsonschema.Draft7Validator(DIRECTORY_FILE).iter_errors(document),
                    key=lambda e: list(e.absolute_path))
    if errors:
        where = ".".join(str(p) for p in errors[0].absolute_path) or "(top level)"
        raise CatalogueError(f"{path}: {where}: {errors[0].message}")
    return document


def load_directory(folder: Path, catalogue: Catalogue) -> Directory:
    codes = {e["code"] for e in catalogue.procedures.values() if e.get("code")}
    names = {fold(e["name"]) for e in catalogue.procedures.values()}
    entries: Dict[str, Dict[str, Any]] = {}
    covered = 0
    for path in sorted(Path(folder).glob("*.yml")):
        document = _load_file(path)
        for entry in document["procedures"]:
            if entry["id"] in entries or entry["id"] in catalogue.procedures:
                raise CatalogueError(f"{path}: entry id '{entry['id']}' is defined twice")
            if entry.get("code") in codes or fold(entry["name"]) in names:
                covered += 1
                continue
            entries[entry["id"]] = {**entry, "field": document["field"],
                                    "field_name": document["field_name"], "as_of": document["as_of"]}
    return Directory(entries, covered)


@lru_cache(maxsize=2)
def directory_at(folder: str, catalogue_folder: str) -> Directory:
    return load_directory(Path(folder), catalogue_at(catalogue_folder))
