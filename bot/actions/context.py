"""What the assistant just asked: a choice (a rating, a reason, yes or no) counts only as the
answer to the question right before it; an old button pressed later is not acted on."""

from __future__ import annotations

from typing import Any, Dict

from rasa_sdk import Tracker


def last_question(tracker: Tracker) -> Dict[str, Any]:
    """The assistant's last message before the citizen's latest one (its text and buttons)."""
    seen_latest_user = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            if seen_latest_user:
                return {}
            seen_latest_user = True
        elif seen_latest_user and event.get("event") == "bot":
            return {"text": event.get("text") or "", "buttons": (event.get("data") or {}).get("buttons") or []}
    return {}


def asked_with(tracker: Tracker, payload_prefix: str) -> bool:
    """Whether the assistant's last message offered buttons with this payload: a choice
    (a rating, a reason, yes/no) counts only as the answer to the question just asked."""
    return any(str(b.get("payload") or "").startswith(payload_prefix) for b in last_question(tracker).get("buttons", []))
