"""Vietnamese text normalisation that remembers where every character came from.

Citizens write the same words in NFC or NFD, with old or new tone placement, with or
without accents and in teencode. `normalise` turns all of these into one form while
keeping, for each output character, the span of the original text it came from, so
that tokens found in the normalised text can be pointed back into the message.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

TONE_MARKS = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
# Zero-width characters that carry no meaning in a chat message.
_INVISIBLE = {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"}
_WORD = re.compile(r"\w+", re.UNICODE)
_REPEATED_PUNCT = re.compile(r"([!?.,;:])\1+")


@dataclass(frozen=True)
class Normalised:
    """Normalised text and, per character, the [start, end) span in the original."""

    text: str
    spans: Tuple[Tuple[int, int], ...]

    def original_span(self, start: int, end: int) -> Tuple[int, int]:
        """Span of the original text covered by normalised characters [start, end)."""
        if not self.spans or start >= end:
            return (0, 0)
        covered = self.spans[start:end]
        return (min(s for s, _ in covered), max(e for _, e in covered))


def strip_accents(text: str) -> str:
    """'Đăng ký' -> 'Dang ky': drop every diacritic, map đ/Đ to d/D."""
    decomposed = unicodedata.normalize("NFD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return bare.replace("đ", "d").replace("Đ", "D")


def fold(text: str) -> str:
    """Accent- and case-insensitive key: the form used for matching and features."""
    return strip_accents(unicodedata.normalize("NFC", text)).lower()


def fix_tone_placement(word: str) -> str:
    """Old-style tone placement for 'oa', 'oe', 'uy' endings: 'hoà' -> 'hòa', 'thuỷ' -> 'thủy'.

    underthesea's `text_normalize` uses the same convention, so our text and its
    models agree. 'quý' keeps its tone on 'y' because 'qu' is a consonant there.
    """
    groups: List[List[str]] = []
    for char in unicodedata.normalize("NFD", word):
        if unicodedata.combining(char) and groups:
            groups[-1].append(char)
        else:
            groups.append([char])
    if len(groups) < 2:
        return word
    base = "".join(g[0] for g in groups).lower()
    last, previous = groups[-1], groups[-2]
    tone = [m for m in last if m in TONE_MARKS]
    if not tone or base[-2:] not in ("oa", "oe", "uy"):
        return word
    if len(last) != 1 + len(tone) or len(previous) != 1:
        return word  # modified vowels (ơ, ư…) never take part in this rule
    if base.endswith("uy") and base[:-2].endswith("q"):
        return word
    last.remove(tone[0])
    previous.append(tone[0])
    return unicodedata.normalize("NFC", "".join("".join(g) for g in groups))


def _clusters(text: str) -> List[Tuple[str, int, int]]:
    """Split into base character + combining marks, NFC each, drop control characters."""
    out: List[Tuple[str, int, int]] = []
    i, n = 0, len(text)
    while i < n:
        j = i + 1
        while j < n and unicodedata.combining(text[j]):
            j += 1
        cluster = text[i:j]
        head = cluster[0]
        if head in _INVISIBLE:
            pass
        elif unicodedata.category(head) in ("Cc", "Cf", "Zl", "Zp") or head.isspace():
            out.append((" ", i, j))
        else:
            for char in unicodedata.normalize("NFC", cluster):
                out.append((char, i, j))
        i = j
    return out


def _word_runs(chars: Sequence[Tuple[str, int, int]]):
    """Yield (start, end) index ranges of word runs in a char list."""
    text = "".join(c for c, _, _ in chars)
    for match in _WORD.finditer(text):
        yield match.start(), match.end()


_VOWELS = set("aăâeêioôơuưy")


def squeeze_letters(word: str) -> str:
    """A letter typed twice or more in a word with a vowel, once: no Vietnamese syllable doubles
    a letter except "oo" ("xoong") and, typed without accents, "uu" ("luu tru", "huu tri"),
    which are kept; abbreviations without vowels ("cccd") stay."""
    if not any(fold(c.lower()) in _VOWELS for c in word) or not any(c.isalpha() for c in word):
        return word
    out: List[str] = []
    run = 1
    for i, char in enumerate(word):
        if out and char.isalpha() and char.lower() == out[-1].lower():
            run += 1
            following = word[i + 1].lower() if i + 1 < len(word) else ""
            if char.lower() in "ou" and run == 2 and following != char.lower():
                out.append(char)  # "oo", "uu" exactly: real spellings
            continue
        run = 1
        out.append(char)
    return "".join(out)


# A message is normalised by the tokenizer, the gazetteer and the offline-reason classifier in
# turn, with the one teencode table they share (bot/nlu/lexicon.py): the latest results are kept
# (a result is immutable; the table is kept with it, so an id is never mistaken for another's).
_RECENT: Dict[Tuple[str, int], Tuple[Optional[Mapping[str, str]], Normalised]] = {}
_RECENT_SIZE = 256


def normalise(text: str, teencode: Optional[Mapping[str, str]] = None) -> Normalised:
    """NFC, one tone convention, teencode expanded, whitespace and punctuation tidied."""
    key = (text, id(teencode))
    recent = _RECENT.get(key)
    if recent is not None and recent[0] is teencode:
        return recent[1]
    result = _normalise(text, teencode)
    if len(_RECENT) >= _RECENT_SIZE:
        _RECENT.clear()
    _RECENT[key] = (teencode, result)
    return result


def _normalise(text: str, teencode: Optional[Mapping[str, str]]) -> Normalised:
    chars = _clusters(text or "")
    rebuilt: List[Tuple[str, int, int]] = []
    cursor = 0
    for start, end in _word_runs(chars):
        rebuilt.extend(chars[cursor:start])
        word_chars = chars[start:end]
        word = "".join(c for c, _, _ in word_chars)
        span = (word_chars[0][1], word_chars[-1][2])
        expansion = teencode.get(word.lower()) if teencode else None
        if expansion is None:
            squeezed = squeeze_letters(word)  # "bạnn ơii" -> "bạn ơi"
            if squeezed != word:
                expansion = teencode.get(squeezed.lower(), squeezed) if teencode else squeezed
        if expansion is not None:
            rebuilt.extend((c, *span) for c in expansion)
        else:
            fixed = fix_tone_placement(word)
            if len(fixed) == len(word):
                rebuilt.extend((c, s, e) for c, (_, s, e) in zip(fixed, word_chars))
            else:
                rebuilt.extend((c, *span) for c in fixed)
        cursor = end
    rebuilt.extend(chars[cursor:])

    # Collapse runs of white space and of repeated punctuation ("???" -> "?").
    tidy: List[Tuple[str, int, int]] = []
    for char, start, end in rebuilt:
        if tidy:
            last = tidy[-1][0]
            if char == " " and last == " ":
                continue
            if char == last and _REPEATED_PUNCT.match(char * 2):
                tidy[-1] = (char, tidy[-1][1], end)
                continue
        tidy.append((char, start, end))
    while tidy and tidy[0][0] == " ":
        tidy.pop(0)
    while tidy and tidy[-1][0] == " ":
        tidy.pop()
    return Normalised(
        text="".join(c for c, _, _ in tidy),
        spans=tuple((s, e) for _, s, e in tidy),
    )


def load_teencode(entries: Mapping[str, str]) -> Dict[str, str]:
    """Lower-case keys, NFC values; the accent-stripped form of each key maps too."""
    table: Dict[str, str] = {}
    for key, value in entries.items():
        key = unicodedata.normalize("NFC", str(key)).lower().strip()
        value = unicodedata.normalize("NFC", str(value)).strip()
        if key and value:
            table[key] = value
    for key, value in list(table.items()):
        table.setdefault(strip_accents(key), value)
    return table
