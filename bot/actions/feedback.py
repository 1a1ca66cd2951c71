"""What the province's leaders asked: why citizens stay offline; and whether answers help."""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot import knowledge, services
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
            "locality": tracker.get_slot("locality")}


class ActionAskOfflineReason(Action):
    """The citizen declined the online path: say nothing was sent, and ask why."""

    def name(self) -> Text:
        return "action_ask_offline_reason"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        dispatcher.utter_message(response="utter_application_cancelled")
        reasons = knowledge.feedback_texts()["offline_reasons"]
        dispatcher.utter_message(response="utter_ask_offline_reason", buttons=[
            {"title": title, "payload": f'/offline_reason{{"offline_reason": "{key}"}}'}
            for key, title in reasons.items()
        ])
        return []


class ActionRecordOfflineReason(Action):
    def name(self) -> Text:
        return "action_record_offline_reason"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        reason = next(tracker.get_latest_entity_values("offline_reason"), None)
        if reason not in db.OFFLINE_REASONS:
            reason = "other"  # typed in words rather than pressed
        try:
            db.record_offline_reason(services.app_db(), tracker.sender_id, reason, **_context(tracker))
        except Exception:  # noqa: BLE001 - analytics never break a conversation
            logger.exception("offline reason not recorded")
        dispatcher.utter_message(response=f"utter_offline_reason_{reason}", **_contact())
        return []


class ActionRecordRating(Action):
    def name(self) -> Text:
        return "action_record_rating"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        rating = next(tracker.get_latest_entity_values("rating"), None)
        if rating not in db.RATINGS:
            dispatcher.utter_message(response="utter_rating_thanks")
            return []
        context = _context(tracker)
        intent = ASPECT_INTENTS.get(tracker.get_slot("procedure_aspect") or "", None)
        try:
            db.record_rating(services.app_db(), tracker.sender_id, rating, intent,
                             context["procedure_id"], context["channel"])
        except Exception:  # noqa: BLE001 - analytics never break a conversation
            logger.exception("rating not recorded")
        response = "utter_rating_thanks" if rating == "useful" else "utter_rating_sorry"
        dispatcher.utter_message(response=response, **_contact())
        return []


def _contact() -> Dict[str, Any]:
    return contact_values(knowledge.province())
