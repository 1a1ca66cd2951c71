"""The not-understood messages as Rasa NLU training data, for staff to label by hand. (The
pages' CSV exports are the staff app's: bot/staff/views.py.)"""

from __future__ import annotations

from typing import Iterable, List, Optional

from bot.privacy import MASK


def nlu_yaml(texts: Iterable[Optional[str]], label: str = "TODO_LABEL") -> str:
    """Rasa NLU training data (3.1) of the not-understood messages, to label by hand."""
    seen: List[str] = []
    for text in texts:
        line = " ".join((text or "").split())
        line = "".join(ch for ch in line if ch.isprintable())
        if not line or line == MASK or line.startswith("/") or line in seen:
            continue
        seen.append(line)
    lines = ['version: "3.1"',
             "# Not-understood messages (personal data masked as ***): replace TODO_LABEL by an intent,",
             "# move each example to the intent it belongs to, and delete what should not be learned.",
             "nlu:", f"- intent: {label}", "  examples: |"]
    lines += [f"    - {line}" for line in seen]
    if not seen:
        lines[-1] = "  examples: \"\""
    return "\n".join(lines) + "\n"
