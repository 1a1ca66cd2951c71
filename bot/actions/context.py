"""What the assistant just asked: a choice (a rating, a reason, yes or no) counts only as the
answer to the question right before it; an old button pressed later is not acted on."""

from __future__ import annotations

import time
from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.events import ActionExecuted, UserUttered, UserUtteranceReverted

from bot import knowledge
from bot.actions.steering import steering
from bot.nlu.values import dossier_code


def last_question(tracker: Tracker) -> Dict[str, Any]:
    """The assistant's last message before the citizen's latest one (its text and buttons)."""
    seen_latest_user = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            if seen_latest_user:
                return {}
            seen_latest_user = True
        elif seen_latest_user and event.get("event") == "bot":
            return {"text": event.get("text") or "", "buttons": (event.get("data") or {}).get("buttons") or [],
                    "response": (event.get("metadata") or {}).get("utter_action")}
    return {}


# Actions after which no application waits at its summary.
_SUMMARY_ENDS = {"action_create_draft", "action_ask_offline_reason", "online_application_form",
                 "action_start_online_service", "action_restart", "action_session_start"}


def awaiting_confirmation(tracker: Tracker) -> bool:
    """Whether an application's summary was shown and neither sent, corrected nor cancelled
    since (a question asked at the summary does not end it)."""
    for event in reversed(tracker.events):
        if event.get("event") == "action":
            if event.get("name") == "action_confirm_application":
                return True
            if event.get("name") in _SUMMARY_ENDS:
                return False
    return False


def in_application(tracker: Tracker) -> bool:
    """An application form asking, or its summary waiting: no rating question then."""
    return (tracker.active_loop or {}).get("name") == "online_application_form" or awaiting_confirmation(tracker)


def asked_with(tracker: Tracker, payload_prefix: str) -> bool:
    """Whether the assistant's last message offered buttons with this payload: a choice
    (a rating, a reason, yes/no) counts only as the answer to the question just asked."""
    return any(str(b.get("payload") or "").startswith(payload_prefix) for b in last_question(tracker).get("buttons", []))


NOT_A_REASON = {"deny", "affirm", "thank", "greet", "goodbye"}  # "thôi", "ok", "cảm ơn" alone
SHORT_REPLY_WORDS = 2


def answers_reason_question(tracker: Tracker) -> bool:
    """Whether the citizen typed their reason for staying offline, right after being asked
    (whatever intent the words resemble: "chưa có vneid" is not a question about VNeID here).
    A question, a request the NLU recognises ("tra cứu hồ sơ"), or a bare "thôi" / "ok" is
    not a reason."""
    text = (tracker.latest_message or {}).get("text") or ""
    if text.startswith("/") or not text.strip() or not asked_with(tracker, "/offline_reason"):
        return False
    intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
    if intent in NOT_A_REASON and len(text.split()) <= SHORT_REPLY_WORDS:
        return False
    if ((tracker.latest_message or {}).get("offline_reason") or {}).get("name") == "none":
        return False  # "tra cứu hồ sơ": the NLU reads a request
    return not steering().is_question(text)


def reinterpreted(tracker: Tracker, exclude: set, force: Optional[str] = None) -> List[Dict[str, Any]]:
    """Events that read the citizen's message again as its likeliest other intent, or as
    `force` (the way Rasa's own two-stage fallback re-reads a message); [] when there is none,
    or when the message was already read again (once is enough: no loop of re-readings)."""
    message = tracker.latest_message or {}
    if message.get("reread"):
        return []
    if force:
        intent = {"name": force, "confidence": 1.0}
    else:
        ranking = [r for r in message.get("intent_ranking") or []
                   if r.get("name") not in exclude and float(r.get("confidence") or 0) >= 0.1]
        if not ranking:
            return []
        intent = {"name": ranking[0]["name"], "confidence": float(ranking[0]["confidence"])}
    parse = dict(message)
    parse["intent"] = intent
    parse["reread"] = True
    return [UserUtteranceReverted(), ActionExecuted("action_listen"),
            UserUttered(message.get("text"), parse, timestamp=time.time(),
                        input_channel=tracker.get_latest_input_channel())]


def procedure_question(tracker: Tracker) -> bool:
    """A question about a procedure of the catalogue that the NLU read as something else (a
    complaint, a lookup, not understood): it names the procedure, asks, and neither carries a
    dossier code nor complains."""
    text = tracker.latest_message.get("text") or ""
    if text.startswith("/") or dossier_code(text):
        return False
    named = next(tracker.get_latest_entity_values("procedure"), None)
    if not named and knowledge.resolver().find_in_text(text).status not in ("found", "directory"):
        return False
    lexicon = steering()
    said = lexicon.said(text)
    return lexicon.is_question(text) and not said.has_any(lexicon.complaint) and not said.has_any(lexicon.dossier_words)
