"""Exact name lookup over syllables, with offsets into the original text.

Accents are respected when typed: in a message written with diacritics, "đang" is not xã Dang
and "cười" is not "cưới"; only a name typed without any diacritic is looked up without them.
A one-syllable place ("Ba", "Dang", "Tư") counts only with its marker ("xã Ba"): the gazetteer
keeps no one-syllable place name, and no one-syllable procedure name without its accents."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Tuple

from functools import lru_cache

from bot.datafiles import DataFileError, read_yaml
from bot.nlu.lexicon import teencode_table
from bot.nlu.text import fold, normalise

_SYLLABLE = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Match:
    entity: str
    value: str
    start: int
    end: int
    text: str


@dataclass
class Gazetteer:
    """Surface forms (folded syllable tuples) -> (entity, value)."""

    teencode: Mapping[str, str] = field(default_factory=dict)
    names: Dict[Tuple[str, ...], List[Tuple[str, str]]] = field(default_factory=dict)     # folded
    accented: Dict[Tuple[str, ...], List[Tuple[str, str]]] = field(default_factory=dict)  # as spelt
    longest: int = 0

    def add(self, entity: str, value: str, surface: str, only_new: bool = False) -> None:
        """Index a name; with `only_new`, not where a name of the same entity is already."""
        text = normalise(surface, self.teencode).text
        key = tuple(_SYLLABLE.findall(fold(text)))
        spelt = tuple(_SYLLABLE.findall(text.lower()))
        if not key or (entity == "locality" and len(key) == 1):
            return
        for index, words in ((self.accented, spelt), (self.names, key)):
            if entity == "procedure" and len(key) == 1 and index is self.names and spelt != key:
                continue  # "cưới" only as spelt: "cuoi" is also "cười"
            values = index.setdefault(words, [])
            if only_new and any(e == entity and v != value for e, v in values):
                continue
            if (entity, value) not in values:
                values.append((entity, value))
        self.longest = max(self.longest, len(key))

    def find(self, text: str) -> List[Match]:
        """Longest non-overlapping names in `text`, left to right."""
        normalised = normalise(text, self.teencode)
        folded = "".join(_fold_char(c) for c in normalised.text)
        lowered = "".join(c.lower() if len(c.lower()) == 1 else c for c in normalised.text)
        syllables = [(m.group(), m.start(), m.end()) for m in _SYLLABLE.finditer(folded)]
        words = [s for s, _, _ in syllables]
        spelt = [lowered[start:end] for _, start, end in syllables]
        with_accents = folded != lowered.replace("đ", "d")  # the citizen types diacritics
        # Every name at every position, then the longest first: "làm khai sinh kết hợp nhận cha"
        # is the one long name, not "làm khai sinh" and a remainder.
        options = []
        for i in range(len(words)):
            for length in range(min(self.longest, len(words) - i), 0, -1):
                window = tuple(words[i : i + length])
                if with_accents:
                    candidates = self.accented.get(tuple(spelt[i : i + length]))
                    typed_bare = tuple(spelt[i : i + length]) == window
                    if not candidates and typed_bare and length > 1:
                        candidates = self.names.get(window)  # this name typed without accents
                else:
                    candidates = self.names.get(window)
                if candidates:
                    options.append((length, i, candidates))
                    break
        taken = [False] * len(words)
        found: List[Match] = []
        for length, i, candidates in sorted(options, key=lambda o: (-o[0], o[1])):
            if any(taken[i : i + length]):
                continue
            for position in range(i, i + length):
                taken[position] = True
            start, end = normalised.original_span(syllables[i][1], syllables[i + length - 1][2])
            for entity in sorted({entity for entity, _ in candidates}):
                values = [v for e, v in candidates if e == entity]
                # An ambiguous name keeps what the citizen wrote; the resolver asks.
                value = values[0] if len(values) == 1 else text[start:end]
                found.append(Match(entity, value, start, end, text[start:end]))
        found.sort(key=lambda m: m.start)
        return found


def _fold_char(char: str) -> str:
    folded = fold(char)
    return folded if len(folded) == 1 else char.lower()


def _yaml_files(path: Optional[str]) -> Iterable[Path]:
    if not path:
        return []
    root = Path(path)
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise DataFileError(f"{root}: no such file or folder")
    return sorted(root.glob("*.yml"))


def load_gazetteer(
    procedures_path: Optional[str],
    localities_path: Optional[str],
    teencode: Mapping[str, str],
    directory_path: Optional[str] = None,
) -> Gazetteer:
    """Procedures of the catalogue first, then of the directory (named and routed only): a name
    both hold stays the catalogue's."""
    gazetteer = Gazetteer(teencode=teencode)
    codes, names = set(), set()
    for path, listed in ((procedures_path, False), (directory_path, True)):
        for file in _yaml_files(path):
            for entry in _entries(file, "procedures"):
                if listed and (entry.get("code") in codes or fold(str(entry.get("name", ""))) in names):
                    continue  # covered by a full entry (bot/procedures/directory.py leaves it out too)
                if not listed:
                    codes.add(entry.get("code") or "")
                    names.add(fold(str(entry.get("name", ""))))
                for surface in [entry.get("name", "")] + list(entry.get("aliases") or []):
                    gazetteer.add("procedure", str(entry["id"]), str(surface), only_new=listed)
    for file in _yaml_files(localities_path):
        for entry in _entries(file, "localities"):
            for surface in [entry.get("name", "")] + list(entry.get("aliases") or []):
                gazetteer.add("locality", str(entry["id"]), str(surface))
    return gazetteer


def _entries(file: Path, key: str) -> List[dict]:
    document = read_yaml(file)
    entries = document.get(key) if isinstance(document, dict) else None
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise DataFileError(f"{file}: '{key}' must be a list")
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or "id" not in entry:
            raise DataFileError(f"{file}: {key}[{index}] has no 'id'")
    return entries


# The data files both the extractor and the featurizer read (component configuration keys).
DATA_FILES = {
    "procedures_path": "data/procedures",
    "localities_path": "data/localities",
    "teencode_path": "data/lexicon/teencode.yml",
    "directory_path": "data/directory",
}


def gazetteer_from_config(config: dict) -> "Gazetteer":
    return gazetteer_for(*(config.get(key) for key in DATA_FILES))


@lru_cache(maxsize=4)
def gazetteer_for(
    procedures_path: Optional[str], localities_path: Optional[str], teencode_path: Optional[str],
    directory_path: Optional[str] = None,
) -> Gazetteer:
    """One shared gazetteer per set of data files (extractor and featurizer use the same)."""
    teencode = teencode_table(teencode_path) if teencode_path else {}
    return load_gazetteer(procedures_path, localities_path, teencode, directory_path)
