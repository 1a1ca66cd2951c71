"""One channel-neutral message model: what the assistant says, before a channel formats it.

Rasa hands channels dicts like {"text": ..., "buttons": [{"title", "payload"}], "image": ...}.
`from_rasa` turns them into `Message`; each channel module renders a `Message` its own way
(Telegram inline keyboards, Zalo quick replies, the widget's buttons) and splits long text
with `split_text` under its own limit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

_URL = re.compile(r"https?://[^\s<>\"')]+")


@dataclass(frozen=True)
class Button:
    title: str
    payload: str  # sent back as the citizen's message when pressed

    @property
    def is_link(self) -> bool:
        return self.payload.startswith(("http://", "https://"))


@dataclass(frozen=True)
class Message:
    text: str = ""
    buttons: Tuple[Button, ...] = ()
    image: Optional[str] = None
    links: Tuple[str, ...] = field(default=())  # URLs found in the text, for channels that list them

    @property
    def empty(self) -> bool:
        return not (self.text or self.buttons or self.image)


def from_rasa(output: Dict[str, Any]) -> Message:
    """A Rasa output message (as collected by a channel) in the neutral model."""
    text = str(output.get("text") or "")
    buttons = tuple(
        Button(str(b.get("title") or b.get("payload") or ""), str(b.get("payload") or b.get("title") or ""))
        for b in output.get("buttons") or output.get("quick_replies") or []
        if isinstance(b, dict) and (b.get("title") or b.get("payload"))
    )
    image = output.get("image") if isinstance(output.get("image"), str) else None
    return Message(text=text, buttons=buttons, image=image, links=tuple(_URL.findall(text)))


def split_text(text: str, limit: int) -> List[str]:
    """Parts of at most `limit` characters, cut at paragraph, then line, then word boundaries."""
    if limit <= 0:
        raise ValueError("limit must be positive")
    parts: List[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[:limit]
        cut = max(window.rfind("\n\n"), 0)
        if cut < limit // 3:
            cut = max(window.rfind("\n"), cut)
        if cut < limit // 3:
            cut = max(window.rfind(" "), cut)
        if cut <= 0:
            cut = limit  # one unbroken word longer than the limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts
