"""Read-only access to the data files the actions answer from."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Dict, Optional

from bot.config import load_settings
from bot.nlu.lexicon import read_yaml


@lru_cache(maxsize=1)
def province() -> dict:
    return read_yaml(load_settings().province_profile)


@lru_cache(maxsize=1)
def intent_labels() -> Dict[str, str]:
    return dict(read_yaml(load_settings().intent_labels)["intents"])


@lru_cache(maxsize=1)
def procedure_names() -> Dict[str, str]:
    names: Dict[str, str] = {}
    for file in sorted(Path(load_settings().procedures_dir).glob("*.yml")):
        for entry in read_yaml(file).get("procedures") or []:
            names[str(entry["id"])] = str(entry["name"])
    return names


def procedure_name(procedure_id: Optional[str]) -> Optional[str]:
    if not procedure_id:
        return None
    return procedure_names().get(procedure_id)
