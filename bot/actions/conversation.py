"""Conversation core: two-step fallback, handoff to a person, and answers that count only
in context (a bare yes or no, a button of an earlier question)."""

from __future__ import annotations

import json
import re
from typing import Any, Dict, List, Optional, Text


from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction
from rasa_sdk.executor import CollectingDispatcher

from bot import knowledge
from bot.actions.context import answers_reason_question, asked_with, awaiting_confirmation, reinterpreted
from bot.actions.dossiers import in_context
from bot.actions.feedback import record_rating
from bot.actions.procedures import aspects_asked, case_asked
from bot.actions.steering import steering
from bot.actions.texts import contact_values, response_text

FALLBACK_INTENT = "nlu_fallback"
CLARIFY_ACTION = "action_clarify_intent"
_HAS_TEXT = re.compile(r"\w", re.UNICODE)
_CARRIED_ENTITIES = ("procedure", "locality", "dossier_code")
# Not offered as "Ý bạn là …?": a yes, a no or small talk is no reading of a question.
NOT_OFFERED = {"inform", "affirm", "deny", "greet", "goodbye", "thank", "bot_challenge"}


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


UNSURE = 0.5  # below this, a goodbye that names a procedure is read as a question about it


def names_a_procedure(text: str) -> bool:
    """A typed message that names a procedure of the catalogue or of the directory, or comes
    close enough to some to ask which one."""
    if text.startswith("/"):
        return False
    resolution = knowledge.resolver().find_in_text(text)
    return resolution.status in ("found", "directory") or bool(resolution.suggestions)


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

        events = in_context(dispatcher, tracker)  # a follow-up, a value after a failed lookup…
        if events is not None:
            return events

        text = message.get("text") or ""
        topic = knowledge.catalogue().get(tracker.get_slot("procedure"))
        if topic and not text.startswith("/") and (aspects_asked(text) or case_asked(text, topic)):
            return [FollowupAction("action_answer_procedure")]  # "sinh viên có được giảm không"
        if names_a_procedure(text):
            return [FollowupAction("action_answer_procedure")]  # worded oddly, but a procedure is named

        if _previous_bot_action(tracker) == CLARIFY_ACTION:
            contact = contact_values(knowledge.province())
            dispatcher.utter_message(response="utter_fallback_give_up", **contact)
            return []

        labels = knowledge.intent_labels()
        ranking = [
            r["name"]
            for r in message.get("intent_ranking") or []
            if r.get("name") in labels and r.get("name") not in NOT_OFFERED
        ]
        if not ranking:  # nothing likely to offer ("sdfkjh qwe"): say so, and what can be asked
            dispatcher.utter_message(response="utter_not_understood")
            dispatcher.utter_message(response="utter_capabilities")
            return []
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
        if answers_reason_question(tracker):  # "muốn gặp cán bộ cho chắc": why not online
            return [FollowupAction("action_record_offline_reason")]
        if intent == "complain":
            events = in_context(dispatcher, tracker)  # a question read as a complaint
            if events is not None:
                return events
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
        events = in_context(dispatcher, tracker)
        if events is not None:
            return events
        if awaiting_confirmation(tracker):  # "ok đúng rồi tạo đi" after a question at the summary
            return [FollowupAction("action_create_draft" if intent == "affirm" else "action_review_application")]
        bare = len(text.split()) <= BARE_WORDS or text.startswith("/")
        if asked_with(tracker, "/rate_answer") and (bare or not steering().is_question(text)):
            record_rating(dispatcher, tracker, "useful" if intent == "affirm" else "not_useful")
            return []
        if not text.startswith("/") and aspects_asked(text):
            return [FollowupAction("action_answer_procedure")]  # "giấy tờ": of which procedure?
        if len(text.split()) > BARE_WORDS and not text.startswith("/"):
            events = reinterpreted(tracker, CONTEXT_INTENTS)
            if events:
                return events
        dispatcher.utter_message(response="utter_affirm_ack" if intent == "affirm" else "utter_deny_ack")
        return []


class ActionOutOfScope(Action):
    """Out of scope, unless the conversation says otherwise: a follow-up about the dossier
    looked up ("giờ phải làm gì"), a value after a failed lookup, a procedure question."""

    def name(self) -> Text:
        return "action_out_of_scope"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        events = in_context(dispatcher, tracker)
        if events is not None:
            return events
        if names_a_procedure(tracker.latest_message.get("text") or ""):
            return [FollowupAction("action_answer_procedure")]  # "giấy phép phá dỡ nhà có cần không"
        dispatcher.utter_message(response="utter_out_of_scope")
        dispatcher.utter_message(response="utter_capabilities")
        return []


class ActionGoodbye(Action):
    """Goodbye, unless it is a question about the dossier looked up ("trễ hẹn rồi thì sao") or
    a hesitant reading of a message that names a procedure ("à thôi, hỏi kết hôn đi")."""

    def name(self) -> Text:
        return "action_goodbye"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        text = tracker.latest_message.get("text") or ""
        confidence = float((tracker.latest_message.get("intent") or {}).get("confidence") or 0.0)
        if confidence < UNSURE and next(tracker.get_latest_entity_values("procedure"), None):
            return [FollowupAction("action_answer_procedure")]
        if answers_reason_question(tracker):  # "bận quá, để khi khác": why not online
            return [FollowupAction("action_record_offline_reason")]
        if tracker.get_slot("has_dossier") and steering().is_question(text):
            events = in_context(dispatcher, tracker)
            if events is not None:
                return events
        dispatcher.utter_message(response="utter_goodbye")
        return []
