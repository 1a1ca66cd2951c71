"""Which procedure did the citizen mean? Aliases, accents, teencode and typos.

- an exact name or alias (any spelling) → that procedure;
- words that begin several names ("giấy phép") → ambiguous: the citizen chooses;
- a near miss ("khai sinhh", "ket hoon") → the closest name, when it is clearly closest;
- otherwise unknown, with the closest names as suggestions.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

from bot.nlu.text import fold, normalise
from bot.procedures.catalogue import Catalogue

_SYLLABLE = re.compile(r"\w+", re.UNICODE)
FUZZY_MIN = 0.86       # similarity for a typo to count as that name
FUZZY_MARGIN = 0.04    # and at least this much better than the runner-up
SUGGESTIONS = 3


@dataclass(frozen=True)
class Resolution:
    status: str                       # found | ambiguous | unknown | none
    procedures: Tuple[str, ...] = ()  # found: one id; ambiguous: the candidates
    suggestions: Tuple[str, ...] = () # unknown: closest ids
    named: str = ""                   # what the citizen wrote, for the answer

    @property
    def procedure(self) -> Optional[str]:
        return self.procedures[0] if self.status == "found" else None


@dataclass
class ProcedureResolver:
    catalogue: Catalogue
    teencode: Mapping[str, str] = field(default_factory=dict)
    generic_words: Iterable[str] = ()

    def __post_init__(self) -> None:
        self.names: Dict[Tuple[str, ...], Set[str]] = {}
        for procedure_id, entry in self.catalogue.procedures.items():
            for surface in [entry["name"], *entry["aliases"]]:
                self.names.setdefault(self._key(surface), set()).add(procedure_id)
        self.names.pop((), None)
        self.generic: Set[Tuple[str, ...]] = {self._key(w) for w in self.generic_words}
        self.longest_generic = max((len(k) for k in self.generic), default=1)

    def _key(self, text: str) -> Tuple[str, ...]:
        return tuple(_SYLLABLE.findall(fold(normalise(text, self.teencode).text)))

    def resolve(self, named: str, prefixes: bool = True) -> Resolution:
        """Resolve a name the citizen gave (an entity value or a short text); with `prefixes`
        off, only a whole name or alias counts."""
        if named in self.catalogue.procedures:
            return Resolution("found", (named,), named=named)
        key = self._key(named)
        if not key:
            return Resolution("none", named=named)
        exact = self.names.get(key, set())
        if len(exact) == 1:
            return Resolution("found", tuple(exact), named=named)
        if not prefixes:
            return Resolution("ambiguous", tuple(sorted(exact)), named=named) if exact else \
                Resolution("unknown", named=named)
        # A shared alias ("giấy phép") is ambiguous among every name it begins.
        starting = sorted(exact | {i for k, ids in self.names.items() if k[: len(key)] == key for i in ids})
        if exact or (len(key) >= 2 and starting):
            return Resolution("found" if len(starting) == 1 else "ambiguous", tuple(starting), named=named)
        scored = self._similar(key)
        if scored and scored[0][1] >= FUZZY_MIN and (
            len(scored) == 1 or scored[0][1] - scored[1][1] >= FUZZY_MARGIN
        ):
            return Resolution("found", (scored[0][0],), named=named)
        return Resolution("unknown", suggestions=tuple(i for i, _ in scored[:SUGGESTIONS]), named=named)

    def find_in_text(self, text: str, prefixes: bool = True) -> Resolution:
        """Look for a procedure inside a whole message when no entity named one; with
        `prefixes` off (a procedure is already in context), only whole names count."""
        words = list(self._key(text))
        content = self._content_words(words)
        if not content:
            return Resolution("none")
        # Longest windows first: "giấy phép xây dựng" before "giấy phép"; a whole name anywhere
        # before the beginning of one ("hết hạn" is not "hết hạn tạm trú" when a name is there).
        for prefix_pass in ((False, True) if prefixes else (False,)):
            for size in range(min(6, len(words)), 1, -1):
                for start in range(0, len(words) - size + 1):
                    window = words[start : start + size]
                    # "xin giấy phép" must not read as the one alias "xin giấy phép xây nhà".
                    if (window[0],) in self.generic or (window[-1],) in self.generic:
                        continue
                    resolution = self.resolve(" ".join(window), prefix_pass)
                    if resolution.status == "found":
                        return resolution
                    if resolution.status == "ambiguous":
                        return self.narrowed(resolution, text)
        named = " ".join(content)
        scored = self._similar(tuple(content))
        return Resolution("unknown", suggestions=tuple(i for i, _ in scored[:SUGGESTIONS]), named=named)

    def narrowed(self, resolution: Resolution, text: str) -> Resolution:
        """A shared name ("giấy phép") narrowed by the other words of the message: "xây nhà …
        xin giấy phép" names the building permit when only its names share "xây"."""
        if resolution.status != "ambiguous":
            return resolution
        words = list(self._key(text))
        named = set(self._key(resolution.named))
        others = {w for w in self._content_words(words) if w not in named}
        scores = {}
        for procedure_id in resolution.procedures:
            entry = self.catalogue.get(procedure_id)
            vocabulary = {w for surface in [entry["name"], *entry["aliases"]] for w in self._key(surface)}
            scores[procedure_id] = len(others & vocabulary)
        best = max(scores.values(), default=0)
        winners = [i for i, score in scores.items() if score == best]
        if best > 0 and len(winners) == 1:
            return Resolution("found", (winners[0],), named=resolution.named)
        if best == 0 and len(others) >= 2:
            # "xin giấy phép bắn pháo hoa": a permit none of the candidates is. Saying so beats
            # offering unrelated ones.
            return Resolution("unknown", named=" ".join(w for w in words if w in others))
        return resolution

    def find_all_in_text(self, text: str) -> List[str]:
        """Every procedure a message names, in order ("thường trú khác gì tạm trú")."""
        words = list(self._key(text))
        found: List[str] = []
        start = 0
        while start < len(words):
            for size in range(min(6, len(words) - start), 0, -1):
                window = words[start : start + size]
                if (window[0],) in self.generic and size == 1:
                    continue
                ids = self.names.get(tuple(window), set())
                if len(ids) == 1:
                    procedure = next(iter(ids))
                    if procedure not in found:
                        found.append(procedure)
                    start += size
                    break
            else:
                start += 1
        return found

    def _content_words(self, words: Sequence[str]) -> List[str]:
        """The words left once generic question words are removed (longest first)."""
        left: List[str] = []
        i = 0
        while i < len(words):
            for size in range(min(self.longest_generic, len(words) - i), 0, -1):
                if tuple(words[i : i + size]) in self.generic:
                    i += size
                    break
            else:
                left.append(words[i])
                i += 1
        return left

    def _similar(self, key: Tuple[str, ...]) -> List[Tuple[str, float]]:
        """Ids by their best name similarity to the key, best first."""
        query = " ".join(key)
        best: Dict[str, float] = {}
        for name, ids in self.names.items():
            ratio = difflib.SequenceMatcher(None, query, " ".join(name)).ratio()
            for procedure_id in ids:
                best[procedure_id] = max(best.get(procedure_id, 0.0), ratio)
        return sorted(best.items(), key=lambda item: (-item[1], item[0]))
