"""What the province's leaders asked: why citizens stay offline; and whether answers help.

Both questions are asked with buttons, and an answer counts only right after its question
(bot/actions/context.py): an old button pressed later is told it no longer applies. A reason
typed in words right after the question, whatever intent its words resemble, is mapped to
its category by the NLU pipeline (bot/nlu/reasons.py) and kept, masked, for the staff.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot import knowledge, services
from bot.actions.context import asked_with
from bot.privacy import mask_text
from bot.actions.texts import contact_values
from bot.store import db

logger = logging.getLogger(__name__)
ASPECT_INTENTS = {"documents": "ask_documents", "fee": "ask_fee", "time": "ask_processing_time",
                  "agency": "ask_agency", "online": "ask_online_service", "overview": "ask_procedure"}


def _context(tracker: Tracker) -> Dict[str, Any]:
    procedure = tracker.get_slot("application_procedure") or tracker.get_slot("procedure")
    entry = knowledge.catalogue().get(procedure)
    return {"procedure_id": entry["id"] if entry else None,
            "field": entry["field"] if entry else None,
            "channel": tracker.get_latest_input_channel(),
            "locality": knowledge.localities().place_key(tracker.get_slot("locality"))}


def reason_of(nlu: Optional[Dict[str, Any]]) -> str:
    """The category of a reason typed in words, as the NLU pipeline read it
    (bot/nlu/reasons.py); "other" when it gave none."""
    name = (nlu or {}).get("name")
    return str(name) if name in db.OFFLINE_REASONS else "other"


class ActionAskOfflineReason(Action):
    """The citizen declined the online path: say nothing was sent, and ask why (once per
    conversation: a second decline is not asked again)."""

    def name(self) -> Text:
        return "action_ask_offline_reason"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        dispatcher.utter_message(response="utter_application_cancelled")
        if tracker.get_slot("reason_asked"):
            return []
        reasons = knowledge.feedback_texts()["offline_reasons"]
        dispatcher.utter_message(response="utter_ask_offline_reason", buttons=[
            {"title": title, "payload": f'/offline_reason{{"offline_reason": "{key}"}}'}
            for key, title in reasons.items()
        ])
        return [SlotSet("reason_asked", True)]


class ActionRecordOfflineReason(Action):
    def name(self) -> Text:
        return "action_record_offline_reason"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        if not asked_with(tracker, "/offline_reason"):
            dispatcher.utter_message(response="utter_choice_expired")
            return []
        reason: Optional[str] = next(tracker.get_latest_entity_values("offline_reason"), None)
        words = None
        if reason not in db.OFFLINE_REASONS:  # typed in words: kept (masked) for the staff
            text = tracker.latest_message.get("text") or ""
            reason = reason_of(tracker.latest_message.get("offline_reason"))
            words = mask_text(text)[:1000] or None
        try:
            db.record_offline_reason(services.app_db(), tracker.sender_id, reason, text=words, **_context(tracker))
        except Exception:  # noqa: BLE001 - analytics never break a conversation
            logger.exception("offline reason not recorded")
        dispatcher.utter_message(response=f"utter_offline_reason_{reason}", **_contact())
        return []


def record_rating(dispatcher: CollectingDispatcher, tracker: Tracker, rating: str) -> None:
    context = _context(tracker)
    intent = ASPECT_INTENTS.get(tracker.get_slot("procedure_aspect") or "", None)
    typed = not (tracker.latest_message.get("text") or "").startswith("/")  # "ừ hữu ích lắm", not a button
    try:
        db.record_rating(services.app_db(), tracker.sender_id, rating, intent,
                         context["procedure_id"], context["channel"], typed=typed)
    except Exception:  # noqa: BLE001 - analytics never break a conversation
        logger.exception("rating not recorded")
    response = "utter_rating_thanks" if rating == "useful" else "utter_rating_sorry"
    dispatcher.utter_message(response=response, **_contact())


class ActionRecordRating(Action):
    def name(self) -> Text:
        return "action_record_rating"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        rating = next(tracker.get_latest_entity_values("rating"), None)
        if rating not in db.RATINGS or not asked_with(tracker, "/rate_answer"):
            dispatcher.utter_message(response="utter_choice_expired")
            return []
        record_rating(dispatcher, tracker, rating)
        return []


def _contact() -> Dict[str, Any]:
    return contact_values(knowledge.province())
