"""Loading the word lists the NLU components use (teencode, gazetteers)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Dict

import yaml

from bot.nlu.text import load_teencode


class LexiconError(ValueError):
    """A lexicon file is missing or malformed; the message names the file."""


def read_yaml(path: str | Path) -> Any:
    file = Path(path)
    try:
        with file.open(encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except FileNotFoundError as error:
        raise LexiconError(f"{file}: file not found") from error
    except yaml.YAMLError as error:
        raise LexiconError(f"{file}: not valid YAML: {error}") from error


@lru_cache(maxsize=8)
def teencode_table(path: str) -> Dict[str, str]:
    """The teencode table of a lexicon file: {'đk': 'đăng ký', 'dk': 'đăng ký', ...}."""
    document = read_yaml(path)
    entries = document.get("entries") if isinstance(document, dict) else None
    if not isinstance(entries, dict) or not entries:
        raise LexiconError(f"{path}: expected a non-empty mapping under 'entries'")
    return load_teencode(entries)
