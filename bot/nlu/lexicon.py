"""The teencode table the NLU components use (data/lexicon/teencode.yml)."""

from __future__ import annotations

from functools import lru_cache
from typing import Dict

from bot.datafiles import DataFileError, read_yaml
from bot.nlu.text import load_teencode


@lru_cache(maxsize=8)
def teencode_table(path: str) -> Dict[str, str]:
    """The teencode table of a lexicon file: {'đk': 'đăng ký', 'dk': 'đăng ký', ...}."""
    document = read_yaml(path)
    entries = document.get("entries") if isinstance(document, dict) else None
    if not isinstance(entries, dict) or not entries:
        raise DataFileError(f"{path}: expected a non-empty mapping under 'entries'")
    return load_teencode(entries)
