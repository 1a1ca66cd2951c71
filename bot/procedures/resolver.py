"""Which procedure did the citizen mean? Aliases, accents, teencode and typos.

- an exact name or alias (any spelling) → that procedure;
- words that begin several names ("giấy phép") → ambiguous: the citizen chooses;
- a near miss ("khai sinhh", "ket hoon") → the closest name, when it is clearly closest;
- a name or alias of the directory (procedures named and routed without detailed guidance) →
  that directory entry, when no catalogue name as long is in the message;
- otherwise unknown, with at most four suggestions that share the message's distinctive words
  (weighted by how rare each word is among all names: "xe" never suggests "đất"), none when
  nothing is close enough: the assistant then says honestly that it does not know.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

from bot.nlu.text import fold, normalise
from bot.procedures.catalogue import Catalogue
from bot.procedures.directory import Directory

_SYLLABLE = re.compile(r"\w+", re.UNICODE)
FUZZY_MIN = 0.86       # similarity for a typo to count as that name
FUZZY_MARGIN = 0.04    # and at least this much better than the runner-up
SUGGESTIONS = 4
SUGGEST_MIN = 0.34     # share of the message's distinctive weight a suggestion must cover
RARE = 3.0             # weight of a pair of words in at most about one name in twenty
PREFIX_MIN = 0.4       # share of the message a name found by its beginning must cover
FILLERS = {"o", "cho", "thi", "va", "voi", "la", "de", "tai", "the", "nao", "sao", "gi", "khong", "ko", "k",
           "can", "lam", "ve", "cua", "nay", "do", "nhe", "a", "ah", "nha", "vay", "gio", "roi", "ma", "co",
           "da", "dang", "se", "chua", "cung", "van", "nua", "bi", "duoc", "dc", "muon", "phai", "hay"}  # folded


@dataclass(frozen=True)
class Resolution:
    status: str                       # found | directory | ambiguous | unknown | none
    procedures: Tuple[str, ...] = ()  # found, directory: one id; ambiguous: the candidates
    suggestions: Tuple[str, ...] = () # unknown: closest ids
    named: str = ""                   # what the citizen wrote, for the answer

    @property
    def procedure(self) -> Optional[str]:
        return self.procedures[0] if self.status in ("found", "directory") else None


@dataclass
class ProcedureResolver:
    catalogue: Catalogue
    teencode: Mapping[str, str] = field(default_factory=dict)
    generic_words: Iterable[str] = ()
    directory: Optional[Directory] = None

    def __post_init__(self) -> None:
        self.names: Dict[Tuple[str, ...], Set[str]] = {}
        for procedure_id, entry in self.catalogue.procedures.items():
            for surface in [entry["name"], *entry["aliases"]]:
                self.names.setdefault(self._key(surface), set()).add(procedure_id)
        self.names.pop((), None)
        # Names by everything but one syllable: the names a key could be a typo of, found with
        # a lookup per syllable instead of a comparison with every name (measured: half of the
        # action server's CPU on long messages went to comparing each window with every name).
        self.all_but_one: Dict[Tuple[int, Tuple[str, ...]], List[Tuple[str, ...]]] = {}
        self.names_of: Dict[str, List[Tuple[str, ...]]] = {}
        self.beginning: Dict[Tuple[str, ...], Set[str]] = {}  # every beginning of a name -> its ids
        for name, ids in self.names.items():
            for size in range(1, len(name) + 1):
                self.beginning.setdefault(name[:size], set()).update(ids)
            for position in range(len(name)):
                self.all_but_one.setdefault((position, name[:position] + name[position + 1:]), []).append(name)
            for procedure_id in ids:
                self.names_of.setdefault(procedure_id, []).append(name)
        self.generic: Set[Tuple[str, ...]] = {self._key(w) for w in self.generic_words}
        self.longest_generic = max((len(k) for k in self.generic), default=1)
        self.listed: Dict[Tuple[str, ...], Set[str]] = {}  # directory names and aliases
        for entry_id, entry in (self.directory.entries.items() if self.directory else ()):
            for surface in [entry["name"], *entry["aliases"]]:
                key = self._key(surface)
                if key and key not in self.names:
                    self.listed.setdefault(key, set()).add(entry_id)
        self._index_words()

    def _index_words(self) -> None:
        """Each id's words (syllables and pairs of syllables) and how rare each is among ids."""
        self.vocabulary: Dict[str, Set[str]] = {}
        for index in (self.names, self.listed):
            for key, ids in index.items():
                for entry_id in ids:
                    self.vocabulary.setdefault(entry_id, set()).update(self._features(key))
        self.holders: Dict[str, List[str]] = {}  # feature -> the ids that have it
        for entry_id, features in self.vocabulary.items():
            for feature in features:
                self.holders.setdefault(feature, []).append(entry_id)
        counts = {feature: len(ids) for feature, ids in self.holders.items()}
        total = max(1, len(self.vocabulary))
        self.weight = {f: math.log(1 + total / n) for f, n in counts.items()}
        self.unseen = math.log(1 + total)  # a word no name has is the most distinctive of all

    @staticmethod
    def _features(words: Sequence[str]) -> Set[str]:
        """Words and pairs of words; a one-letter or filler word counts only in a pair (folded,
        "ở" and the "ô" of "ô tô" are both "o")."""
        return ({w for w in words if len(w) > 1 and w not in FILLERS}
                | {f"{a} {b}" for a, b in zip(words, words[1:])})

    def is_listed(self, entry_id: Optional[str]) -> bool:
        return bool(self.directory and self.directory.get(entry_id))

    def _key(self, text: str) -> Tuple[str, ...]:
        return tuple(_SYLLABLE.findall(fold(normalise(text, self.teencode).text)))

    def resolve(self, named: str, prefixes: bool = True) -> Resolution:
        """Resolve a name the citizen gave (an entity value or a short text); with `prefixes`
        off, only a whole name or alias counts."""
        if named in self.catalogue.procedures:
            return Resolution("found", (named,), named=named)
        if self.is_listed(named):
            return Resolution("directory", (named,), named=named)
        key = self._key(named)
        if not key:
            return Resolution("none", named=named)
        exact = self.names.get(key, set())
        if len(exact) == 1:
            return Resolution("found", tuple(exact), named=named)
        listed = self.listed.get(key, set())
        if not exact and len(listed) == 1:
            return Resolution("directory", tuple(listed), named=named)
        if not prefixes:
            return Resolution("ambiguous", tuple(sorted(exact)), named=named) if exact else \
                Resolution("unknown", named=named)
        # A shared alias ("giấy phép") is ambiguous among every name it begins.
        starting = sorted(exact | self.beginning.get(key, set()))
        if exact or (len(key) >= 2 and starting):
            return Resolution("found" if len(starting) == 1 else "ambiguous", tuple(starting), named=named)
        scored = self._similar(key, self._typos(key))
        if scored and scored[0][1] >= FUZZY_MIN and (
            len(scored) == 1 or scored[0][1] - scored[1][1] >= FUZZY_MARGIN
        ):
            return Resolution("found", (scored[0][0],), named=named)
        return Resolution("unknown", suggestions=self.suggestions(self._content_words(key)), named=named)

    def _typos(self, key: Tuple[str, ...]) -> Set[str]:
        """Ids with a name of as many syllables as the key, all the same but one that is a near
        miss ("sinhh", "hoon"); "giấy phép ở" is no typo of "giấy phép rượu"."""
        found: Set[str] = set()
        for position in range(len(key)):
            for name in self.all_but_one.get((position, key[:position] + key[position + 1:]), ()):
                if name == key or difflib.SequenceMatcher(None, key[position], name[position]).ratio() >= 0.6:
                    found |= self.names[name]
        return found

    def _continues(self, words: Sequence[str], start: int, size: int, resolution: Resolution) -> Resolution:
        """A name begun by the message must not be contradicted by the words that follow:
        "đăng ký nuôi chim yến" does not begin "đăng ký nuôi con nuôi"; "giấy phép ở đâu" may
        begin any permit (a question word ends what the name could be)."""
        if resolution.status not in ("found", "ambiguous"):
            return resolution
        window = tuple(words[start : start + size])

        def agrees(name: Tuple[str, ...]) -> bool:
            for offset in range(size, len(name)):
                position = start + offset
                if position >= len(words) or (words[position],) in self.generic or words[position] in FILLERS:
                    return True
                if words[position] != name[offset]:
                    return False
            return True

        kept = [i for i in resolution.procedures if any(
            i in ids and k[:size] == window and agrees(k) for k, ids in self.names.items())]
        if not kept:
            return Resolution("unknown", named=resolution.named)
        if len(kept) == len(resolution.procedures):
            return resolution
        return Resolution("found" if len(kept) == 1 else "ambiguous", tuple(kept), named=resolution.named)

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
            for size in range(min(8, len(words)), 1, -1):
                for start in range(0, len(words) - size + 1):
                    window = words[start : start + size]
                    # "xin giấy phép" must not begin the one alias "xin giấy phép xây nhà"; a whole
                    # name may start or end with such a word ("di chúc", "con nuôi").
                    if prefix_pass and ((window[0],) in self.generic or (window[-1],) in self.generic
                                        or not self._content_words(window)):
                        continue
                    resolution = self.resolve(" ".join(window), prefix_pass)
                    if prefix_pass:
                        resolution = self._continues(words, start, size, resolution)
                    was_ambiguous = resolution.status == "ambiguous"
                    if was_ambiguous:
                        resolution = self.narrowed(resolution, text)
                    if prefix_pass and resolution.status == "found" and resolution.procedure is not None:
                        # Only the beginning of a name: when another name explains the rest of
                        # the message better ("… đất nông nghiệp hết thời hạn … gia hạn" is not
                        # the building permit's "gia hạn"), ask.
                        own = self.coverage(resolution.procedure, content)
                        better = [i for i in self.suggestions(content) if self.coverage(i, content) > own]
                        if own < PREFIX_MIN and better:
                            return Resolution("unknown", suggestions=tuple(better), named=" ".join(content))
                    if resolution.status == "found" or was_ambiguous:
                        return resolution
                    if not prefix_pass:
                        listed = self.listed.get(tuple(window), set())
                        if len(listed) == 1:
                            return Resolution("directory", tuple(listed), named=" ".join(window))
        named = " ".join(content)
        return Resolution("unknown", suggestions=self.suggestions(content), named=named)

    def longer_listed_name(self, text: str, procedure_id: str) -> Optional[Resolution]:
        """A directory name longer than every name of `procedure_id` in the message: "cấp bản
        sao văn bằng" is not the copy certification its "bản sao" names."""
        words = list(self._key(text))
        own = max((len(k) for k, ids in self.names.items() if procedure_id in ids
                   and any(tuple(words[i : i + len(k)]) == k for i in range(len(words)))), default=0)
        for size in range(min(8, len(words)), own, -1):
            for start in range(0, len(words) - size + 1):
                listed = self.listed.get(tuple(words[start : start + size]), set())
                if len(listed) == 1:
                    return Resolution("directory", tuple(listed), named=" ".join(words[start : start + size]))
        return None

    def coverage(self, entry_id: str, content: Sequence[str]) -> float:
        """The share of the message's distinctive weight that the entry's names carry."""
        asked = self._features(list(content))
        total = sum(self.weight.get(f, self.unseen) for f in asked)
        shared = asked & self.vocabulary.get(entry_id, set())
        return sum(self.weight.get(f, 0.0) for f in shared) / total if total else 0.0

    def suggestions(self, content: Sequence[str]) -> Tuple[str, ...]:
        """At most four ids ranked by the weight of the message's distinctive words they share;
        none below SUGGEST_MIN of the message's weight, so nothing unrelated is offered."""
        asked = self._features(list(content))
        total = sum(self.weight.get(f, self.unseen) for f in asked)
        if not total:
            return ()
        scored = []
        # an id that shares no word with the message scores nothing: only the others are tried
        sharing = {entry_id for feature in asked for entry_id in self.holders.get(feature, ())}
        for entry_id in sharing:
            shared = asked & self.vocabulary[entry_id]
            if not any(" " in f and self.weight.get(f, 0.0) >= RARE for f in shared) and len(content) > 1:
                continue  # common words in common ("xe", "lần", "chủ tịch") are no reason to suggest
            score = sum(self.weight.get(f, 0.0) for f in shared) / total
            if score >= SUGGEST_MIN:
                scored.append((score, entry_id))
        scored.sort(key=lambda item: (-item[0], item[1]))
        return tuple(entry_id for _, entry_id in scored[:SUGGESTIONS])

    def narrowed(self, resolution: Resolution, text: str) -> Resolution:
        """A shared name ("giấy phép") narrowed by the other words of the message: "xây nhà …
        xin giấy phép" names the building permit when only its names share "xây". Candidates
        are ranked by the weight of the other words they share; when the message has words of
        its own that none of them shares ("bắn pháo hoa"), it names none of them."""
        if resolution.status != "ambiguous":
            return resolution
        words = list(self._key(text))
        named = set(self._key(resolution.named))
        others = [w for w in self._content_words(words) if w not in named]
        asked = self._features(others)
        scores = {}
        for procedure_id in resolution.procedures:
            # A two-letter syllable alone says little once folded ("ca": cá, cà, ca; "to": tô, tờ).
            shared = {f for f in asked & self.vocabulary.get(procedure_id, set()) if " " in f or len(f) > 2}
            scores[procedure_id] = sum(self.weight.get(f, 0.0) * (2 if " " in f else 1) for f in shared)
        best = max(scores.values(), default=0)
        winners = [i for i, score in scores.items() if score == best]
        if best > 0 and len(winners) == 1:
            return Resolution("found", (winners[0],), named=resolution.named)
        if best == 0 and len(others) >= 2:
            # "xin giấy phép bắn pháo hoa": a permit none of the candidates is. Saying so beats
            # offering unrelated ones.
            return Resolution("unknown", named=" ".join(w for w in words if w in others))
        # Ties: the plainest name first ("giấy phép xây dựng" before "gia hạn giấy phép xây dựng").
        shortest = {i: min((len(k) for k, ids in self.names.items() if i in ids), default=99) for i in scores}
        ranked = sorted(resolution.procedures, key=lambda i: (-scores[i], shortest[i], i))
        return Resolution("ambiguous", tuple(ranked), named=resolution.named)

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

    def _similar(self, key: Tuple[str, ...], ids: Set[str]) -> List[Tuple[str, float]]:
        """The ids by the similarity of their nearest name to the key, best first."""
        query = " ".join(key)
        best = {procedure_id: max(difflib.SequenceMatcher(None, query, " ".join(name)).ratio()
                                  for name in self.names_of[procedure_id]) for procedure_id in ids}
        return sorted(best.items(), key=lambda item: (-item[1], item[0]))
