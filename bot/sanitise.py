"""What every channel does to a citizen's raw text before the assistant reads it."""

from __future__ import annotations

import unicodedata

_KEEP = {"\n", "\t"}


def clean_message(text: str, max_chars: int) -> str:
    """Drop control and format characters, cap the length, trim; keep the words."""
    kept = [
        " " if char in _KEEP else char
        for char in text[: max_chars * 2]
        if char in _KEEP or unicodedata.category(char) not in ("Cc", "Cs", "Co")
    ]
    return "".join(kept)[:max_chars].strip()
