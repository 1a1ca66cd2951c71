"""Telling a value from a way out inside a form: stop words, skips, "I don't have the code",
questions, and what the citizen wants to correct (data/lexicon/steering.yml).

A form's extraction uses these before taking a message as a value, so "thôi khỏi" never becomes
the applicant's name and "hủy" is never rejected as a bad phone number: a message that is not
a value fills nothing, the form rejects it, and the rules of data/rules/ answer it (stop, a
person, another question).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable, Dict, FrozenSet, Iterable, Optional, Tuple, TypeVar

from bot.config import load_settings
from bot.datafiles import read_yaml
from bot.nlu.lexicon import teencode_table
from bot.nlu.text import fold, normalise

_WORD = re.compile(r"\w+", re.UNICODE)
T = TypeVar("T")
READ_CACHE_SIZE = 20_000  # messages and phrases read, kept per process (cleared when full)
_LETTERS = re.compile(r"^[^\W\d_]+(?:['\-][^\W\d_]+)*$", re.UNICODE)
# Intents that are a request of their own, not a value typed into a form.
QUESTION_INTENTS = frozenset({
    "ask_procedure", "ask_documents", "ask_fee", "ask_processing_time", "ask_agency", "ask_online_service",
    "start_online_service", "check_dossier_status", "ask_account", "ask_payment", "complain", "human_handoff",
    "bot_challenge", "out_of_scope", "greet", "goodbye", "thank", "subscribe_dossier", "unsubscribe_dossier"})
Words = Tuple[str, ...]
# Words that end a sentence, not a name; as spelt, so that "Hà" and "Đô" stay names.
_PARTICLES = {"nha", "nhé", "ạ", "à", "a", "nhen", "nè", "hả", "đó", "đấy", "ad", "nhe"}
_PARTICLES_FOLDED = {fold(p) for p in _PARTICLES}
_LEAD_INS = {"la", "ten", "toi", "minh", "em"}  # words before a name ("tên tôi là …"), folded


def _particle(word: str) -> bool:
    lowered = word.lower()
    return lowered in _PARTICLES or (fold(word) == lowered and lowered in _PARTICLES_FOLDED)


def contains(haystack: Words, needle: Words) -> bool:
    size = len(needle)
    return size > 0 and any(haystack[i:i + size] == needle for i in range(len(haystack) - size + 1))


@dataclass(frozen=True)
class Phrase:
    """A lexicon phrase as spelt and without accents."""
    spelt: Words
    folded: Words


@dataclass(frozen=True)
class Said:
    """A message's words as spelt and folded. Accents count when the citizen typed them:
    in a message with diacritics "muốn" (want) is not "muộn" (late); in one without, both
    are "muon" and the folded words are compared."""
    spelt: Words
    folded: Words
    accented: bool

    def has(self, phrase: Phrase) -> bool:
        return contains(self.spelt, phrase.spelt) if self.accented else contains(self.folded, phrase.folded)

    def has_any(self, phrases: Iterable[Phrase]) -> bool:
        return any(self.has(p) for p in phrases)

    def without(self, phrases: Iterable[Phrase]) -> "Said":
        """The same words with every occurrence of these phrases taken out."""
        spelt, folded = list(self.spelt), list(self.folded)
        words = spelt if self.accented else folded
        for phrase in phrases:
            needle = list(phrase.spelt if self.accented else phrase.folded)
            size, i = len(needle), 0
            while size and i <= len(words) - size:
                if words[i:i + size] == needle:
                    del spelt[i:i + size], folded[i:i + size]
                else:
                    i += 1
        return Said(tuple(spelt), tuple(folded), self.accented)

    def __len__(self) -> int:
        return len(self.folded)


@dataclass(frozen=True)
class Steering:
    teencode: Dict[str, str]
    stop: FrozenSet[Phrase]
    skip: FrozenSet[Phrase]
    no_code: FrozenSet[Phrase]
    question: FrozenSet[Phrase]
    wrong: FrozenSet[Phrase]
    complaint: FrozenSet[Phrase]
    dossier_words: FrozenSet[Phrase]
    switch: FrozenSet[Phrase]
    fields: Dict[str, FrozenSet[Phrase]]
    surnames: FrozenSet[str]         # family names, lower case, accented
    surnames_folded: FrozenSet[str]  # the same without accents
    # A message is read many times per action (stop? skip? a question? which aspect?), and the
    # names of the catalogue on every one: normalising them again was a third of the action
    # server's CPU (py-spy, 2026-12-04). Said and Phrase are immutable: shared from here.
    _read: Dict[Tuple[str, str], object] = field(default_factory=dict, compare=False, repr=False)

    def _remembered(self, kind: str, text: str, read: "Callable[[str], T]") -> "T":
        key = (kind, text)
        found = self._read.get(key)
        if found is None:
            if len(self._read) >= READ_CACHE_SIZE:
                self._read.clear()
            found = self._read[key] = read(text)
        return found  # type: ignore[return-value]

    def said(self, text: str) -> Said:
        return self._remembered("said", text or "", self._said)

    def _said(self, raw: str) -> Said:
        spelt = normalise(raw, self.teencode).text.lower()
        return Said(tuple(_WORD.findall(spelt)), tuple(_WORD.findall(fold(spelt))),
                    accented=fold(raw) != raw.lower().replace("đ", "d"))

    def phrase(self, text: str) -> Phrase:
        return self._remembered("phrase", str(text), self._phrase)

    def _phrase(self, text: str) -> Phrase:
        spelt = normalise(text, self.teencode).text.lower()
        return Phrase(tuple(_WORD.findall(spelt)), tuple(_WORD.findall(fold(spelt))))

    def phrases(self, items: Iterable[str]) -> FrozenSet[Phrase]:
        return frozenset(p for p in (self.phrase(str(i)) for i in items) if p.folded)

    def is_stop(self, text: str) -> bool:
        """A short message that says "stop" ("thôi", "thôi khỏi nha", "hủy đi em")."""
        said = self.said(text)
        if not 0 < len(said) <= 8 or self.is_question(text):
            return False
        words = said.spelt if said.accented else said.folded
        # a stop leads the message ("để sau nha, giờ đang bận"); a one-word stop ("thôi", "hủy")
        # only there ("Lê Quang Huy" is a name); a longer one anywhere in a short message
        return any((p.spelt if said.accented else p.folded) == words[:len(p.folded)] or
                   (len(p.folded) > 1 and len(said) <= 5 and said.has(p)) for p in self.stop)

    def is_skip(self, text: str) -> bool:
        said = self.said(text)
        whole = any((said.spelt if said.accented else said.folded) == (p.spelt if said.accented else p.folded)
                    for p in self.skip)
        return 0 < len(said) <= 6 and (whole or said.has_any(p for p in self.skip if len(p.folded) > 1))

    def has_no_code(self, text: str) -> bool:
        return self.said(text).has_any(self.no_code)

    def is_question(self, text: str, intent: Optional[str] = None, confidence: float = 0.0) -> bool:
        said = self.said(text)
        if "?" in (text or "") or said.has_any(self.question):
            return True
        return intent in QUESTION_INTENTS and confidence >= 0.6 and len(said) >= 3

    def field_named(self, text: str) -> Optional[str]:
        said = self.said(text)
        found = [(max(len(p.folded) for p in phrases if said.has(p)), field)
                 for field, phrases in self.fields.items() if said.has_any(phrases)]
        return max(found)[1] if found else None

    def says_wrong(self, text: str) -> bool:
        return self.said(text).has_any(self.wrong)

    def name_in(self, text: str) -> Optional[str]:
        """The personal name a message gives ("Nguyễn Văn An", "tên tôi là nguyen van an",
        "sai tên rồi, tên đúng là Lê Bình"): 2 to 6 words of letters beginning with a family name
        (data/lexicon/surnames.yml), after any lead-in; None when there is none."""
        pieces = [" ".join(re.split(r"[:,;.!?]", text or "")[-1].split())]
        pieces.append(" ".join((text or "").replace(",", " ").split()))
        for piece in pieces:
            parts = piece.split()
            while len(parts) > 2 and _particle(parts[-1]):
                parts = parts[:-1]
            for start in range(len(parts)):
                name = parts[start:]
                if len(name) > 2 and name[0].islower() and fold(name[0]) in _LEAD_INS and self._surname(name[1]):
                    continue  # "ten dung la Nguyen Thi Lanh": "la" is "là", not the family name La
                if (2 <= len(name) <= 6 and self._surname(name[0])
                        and all(_LETTERS.match(p) and len(p) <= 8 for p in name)):
                    return " ".join(p[:1].upper() + p[1:].lower() for p in name)
        return None

    def _surname(self, word: str) -> bool:
        """Accents count when typed: "là" is not La, "tờ" is not Tô; "le" may be Lê."""
        if fold(word) == word.lower():
            return word.lower() in self.surnames_folded
        return normalise(word).text.lower() in self.surnames


@lru_cache(maxsize=1)
def steering() -> Steering:
    data = load_settings().data_dir
    teencode = teencode_table(str(data / "lexicon" / "teencode.yml"))
    document = read_yaml(data / "lexicon" / "steering.yml")
    surnames = read_yaml(data / "lexicon" / "surnames.yml")["surnames"]
    empty = frozenset()  # type: FrozenSet[Phrase]
    base = Steering(teencode, empty, empty, empty, empty, empty, empty, empty, empty, {}, frozenset(), frozenset())
    return Steering(
        teencode=teencode,
        stop=base.phrases(document["stop"]),
        skip=base.phrases(document["skip"]),
        no_code=base.phrases(document["no_code"]),
        question=base.phrases(document["question"]),
        wrong=base.phrases(document["wrong"]),
        complaint=base.phrases(document["complaint"]),
        dossier_words=base.phrases(document["dossier"]),
        switch=base.phrases(document["switch"]),
        fields={field: base.phrases(items) for field, items in document["fields"].items()},
        surnames=frozenset(normalise(str(name)).text.lower() for name in surnames),
        surnames_folded=frozenset(fold(str(name)) for name in surnames),
    )
