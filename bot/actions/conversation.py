"""Conversation core: two-step fallback, handoff to a person, and answers that count only
in context (a bare yes or no, a button of an earlier question)."""

from __future__ import annotations

import json
import re
import time
from typing import Any, Dict, List, Optional, Text


from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, UserUttered, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from bot import knowledge
from bot.actions.context import asked_with
from bot.actions.feedback import record_rating
from bot.actions.texts import contact_values, response_text

FALLBACK_INTENT = "nlu_fallback"
CLARIFY_ACTION = "action_clarify_intent"
_HAS_TEXT = re.compile(r"\w", re.UNICODE)
_CARRIED_ENTITIES = ("procedure", "locality", "dossier_code")


def _previous_bot_action(tracker: Tracker) -> Optional[str]:
    """The last action the assistant ran before the citizen's latest message."""
    seen_latest_user = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            if seen_latest_user:
                return None
            seen_latest_user = True
        elif seen_latest_user and event.get("event") == "action":
            name = event.get("name")
            if name not in ("action_listen", None):
                return name
    return None


def _intent_payload(intent: str, entities: List[Dict[str, Any]]) -> str:
    carried = {
        e["entity"]: e["value"]
        for e in entities
        if e.get("entity") in _CARRIED_ENTITIES and isinstance(e.get("value"), str)
    }
    return f"/{intent}{json.dumps(carried, ensure_ascii=False)}" if carried else f"/{intent}"


class ActionClarifyIntent(Action):
    """Low confidence: 'Ý bạn là …?' with the two likeliest intents; second miss: a person."""

    def name(self) -> Text:
        return CLARIFY_ACTION

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        message = tracker.latest_message or {}
        if not _HAS_TEXT.search(message.get("text") or ""):
            dispatcher.utter_message(response="utter_no_text")
            return []

        if _previous_bot_action(tracker) == CLARIFY_ACTION:
            contact = contact_values(knowledge.province())
            dispatcher.utter_message(response="utter_fallback_give_up", **contact)
            return []

        labels = knowledge.intent_labels()
        ranking = [
            r["name"]
            for r in message.get("intent_ranking") or []
            if r.get("name") in labels and r.get("name") != "inform"
        ]
        buttons = [
            {"title": labels[name], "payload": _intent_payload(name, message.get("entities") or [])}
            for name in ranking[:2]
        ]
        buttons.append(
            {"title": response_text(domain, "utter_clarify_other"), "payload": "/deny"}
        )
        dispatcher.utter_message(response="utter_ask_clarify", buttons=buttons)
        return []


class ActionHandoff(Action):
    """Hotline and office hours from the province profile; complaints get where to file."""

    def name(self) -> Text:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        contact = contact_values(knowledge.province())
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if intent == "complain":
            dispatcher.utter_message(response="utter_complain_received", **contact)
            return []
        note = (
            ""
            if contact["verified"]
            else response_text(domain, "utter_unverified_contact", **contact)
        )
        dispatcher.utter_message(response="utter_handoff", unverified_note=note, **contact)
        return []


BARE_WORDS = 3              # "ok", "không ạ", "vâng được": a bare yes or no
CONTEXT_INTENTS = {"affirm", "deny", "rate_answer", "offline_reason", "nlu_fallback", "inform"}


def reinterpreted(tracker: Tracker, exclude: set) -> List[Dict[str, Any]]:
    """Events that read the citizen's message again as its likeliest other intent (the way
    Rasa's own two-stage fallback re-reads a message), or [] when there is none worth it."""
    message = tracker.latest_message or {}
    ranking = [r for r in message.get("intent_ranking") or []
               if r.get("name") not in exclude and float(r.get("confidence") or 0) >= 0.1]
    if not ranking:
        return []
    parse = dict(message)
    parse["intent"] = {"name": ranking[0]["name"], "confidence": float(ranking[0]["confidence"])}
    return [UserUtteranceReverted(), ActionExecuted("action_listen"),
            UserUttered(message.get("text"), parse, timestamp=time.time(),
                        input_channel=tracker.get_latest_input_channel())]


class ActionBareAnswer(Action):
    """A yes or no that no rule placed: the answer to a rating question is a rating; a bare
    "ok" is acknowledged; a longer message ("gọi tổng đài được không") is read again as what
    it says, since nobody asked a yes/no question."""

    def name(self) -> Text:
        return "action_bare_answer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        text = tracker.latest_message.get("text") or ""
        if asked_with(tracker, "/rate_answer"):
            record_rating(dispatcher, tracker, "useful" if intent == "affirm" else "not_useful")
            return []
        if len(text.split()) > BARE_WORDS and not text.startswith("/"):
            events = reinterpreted(tracker, CONTEXT_INTENTS)
            if events:
                return events
        dispatcher.utter_message(response="utter_affirm_ack" if intent == "affirm" else "utter_deny_ack")
        return []
