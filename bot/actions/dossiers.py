"""Dossier status: a form for the code and a verification value, then the lookup.

Nothing about a dossier is said before the one-stop system has checked the verification
value; an unknown code and a wrong value get the same answer (no probing for codes), and
both count towards the lock-outs of bot/actions/lookup_lockout.py (per sender, and per code
across every sender and channel).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot import knowledge, services
from bot.actions import lookup_lockout
from bot.actions.texts import contact_values
from bot.config import load_settings
from bot.nlu.values import dossier_code, phone_number
from bot.onestop.client import (DossierFound, DossierNotFound, LookupLocked, OneStopUnavailable,
                                RequestRejected, VerificationFailed)
from bot.store import db

logger = logging.getLogger(__name__)


def dossier_texts() -> Dict[str, Any]:
    return knowledge.dossier_texts()


def verification_value(text: str) -> Optional[str]:
    """The last 4 digits of a phone, a 12-digit ID number, or a whole phone (→ last 4)."""
    digits = "".join(ch for ch in text or "" if ch.isdigit())
    if len(digits) in (4, 12):
        return digits
    phone = phone_number(text or "")
    return phone[-4:] if phone else None


def utter_refusal(dispatcher: CollectingDispatcher, refusal: lookup_lockout.Refusal, at: dt.datetime) -> None:
    """A sender's own lock, or a dossier code locked for everyone (by us or the one-stop system)."""
    response = "utter_lookup_locked" if refusal.scope == "sender" else "utter_dossier_locked"
    dispatcher.utter_message(response=response, minutes=refusal.minutes_left(at),
                             **contact_values(knowledge.province()))


def utter_unavailable(dispatcher: CollectingDispatcher, error: OneStopUnavailable) -> None:
    logger.warning("one-stop system unavailable: %s", error)
    dispatcher.utter_message(response=f"utter_onestop_{error.kind}", **contact_values(knowledge.province()))


class ValidateDossierStatusForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_dossier_status_form"

    async def extract_dossier_code(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if tracker.get_slot("requested_slot") != "dossier_code":
            return {}
        return {"dossier_code": tracker.latest_message.get("text")}

    def validate_dossier_code(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        canonical = dossier_code(str(value or ""))
        if canonical is None:
            dispatcher.utter_message(response="utter_invalid_dossier_code")
            return {"dossier_code": None}
        # A locked code or sender: said now, not after asking for a verification value in vain.
        at = db.now()
        refusal = lookup_lockout.refusal(services.app_db(), tracker.sender_id, canonical, at)
        if refusal is not None:
            utter_refusal(dispatcher, refusal, at)
            return {"dossier_code": None, "requested_slot": None, "lookup_outcome": "locked"}
        return {"dossier_code": canonical}

    def validate_verification_value(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        checked = verification_value(str(value or ""))
        if checked is None:
            dispatcher.utter_message(response="utter_invalid_verification")
        return {"verification_value": checked}


def describe(dossier: Dict[str, Any], today: dt.date) -> Dict[str, str]:
    """Template values of a dossier answer."""
    texts = dossier_texts()
    status = dossier["status"]
    due = dossier.get("due_date")
    received = dossier.get("received_at")
    overdue = ""
    if due and status["code"] not in (3, 7, 8, 9, 10):
        late = (today - dt.date.fromisoformat(due[:10])).days
        if late > 0:
            overdue = texts["overdue"].format(days=late)
    missing = "\n".join(texts["missing_line"].format(item=i) for i in dossier.get("missing_documents") or [])
    return {
        "code": dossier["code"],
        "procedure_name": dossier["procedure_name"],
        "status_label": status["label"],
        "received": _date(received) or texts["no_date"],
        "due": (_date(due) or texts["no_date"]) + overdue,
        "agency": (dossier.get("agency") or {}).get("name") or texts["no_date"],
        "next_step": texts["next_step"].get(status["code"], ""),
        "missing": missing,
    }


def _date(value: Optional[str]) -> str:
    if not value:
        return ""
    return dt.date.fromisoformat(value[:10]).strftime("%d/%m/%Y")


class ActionCheckDossierStatus(Action):
    def name(self) -> Text:
        return "action_check_dossier_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        code = tracker.get_slot("dossier_code")
        value = tracker.get_slot("verification_value")
        # The verification value is used once and never kept in the conversation.
        reset = [SlotSet("verification_value", None), SlotSet("dossier_code", None)]
        if not code or not value:  # the form ended early and said why (a locked code)
            return reset
        engine, at = services.app_db(), db.now()
        channel = tracker.get_latest_input_channel()
        refusal = lookup_lockout.refusal(engine, tracker.sender_id, code, at)
        if refusal is not None:
            utter_refusal(dispatcher, refusal, at)
            return reset + [SlotSet("lookup_outcome", "locked")]
        try:
            outcome = await asyncio.to_thread(services.onestop().lookup, code, value)
        except OneStopUnavailable as error:
            utter_unavailable(dispatcher, error)
            return reset + [SlotSet("lookup_outcome", "system_down")]
        if isinstance(outcome, LookupLocked):
            policy = lookup_lockout.Policy.of(load_settings())
            utter_refusal(dispatcher, lookup_lockout.record_onestop_lock(
                engine, policy, code, outcome.retry_after_s, channel, at), at)
            return reset + [SlotSet("lookup_outcome", "locked")]
        if isinstance(outcome, (DossierNotFound, VerificationFailed)):
            policy = lookup_lockout.Policy.of(load_settings())
            locked = lookup_lockout.record_failure(engine, policy, tracker.sender_id, code, channel, at)
            dispatcher.utter_message(response="utter_dossier_not_matched")
            if locked is not None:
                utter_refusal(dispatcher, locked, at)
            kind = "not_found" if isinstance(outcome, DossierNotFound) else "verification_failed"
            return reset + [SlotSet("lookup_outcome", kind)]
        if isinstance(outcome, RequestRejected):
            dispatcher.utter_message(response="utter_invalid_dossier_code")
            return reset + [SlotSet("lookup_outcome", "not_found")]
        assert isinstance(outcome, DossierFound)
        lookup_lockout.record_success(engine, tracker.sender_id)
        values = describe(outcome.dossier, dt.date.today())
        texts = dossier_texts()
        response = "utter_dossier_status_missing" if values["missing"] else "utter_dossier_status"
        dispatcher.utter_message(response=response, buttons=[
            {"title": texts["subscribe_button"], "payload": "/subscribe_dossier"},
            {"title": texts["no_thanks_button"], "payload": "/deny"},
        ], **values)
        return reset + [SlotSet("followable_code", outcome.dossier["code"]),
                        SlotSet("lookup_outcome", "found")]


class ActionSubscribeDossier(Action):
    """Follow the dossier last verified or created in this conversation."""

    def name(self) -> Text:
        return "action_subscribe_dossier"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        code = tracker.get_slot("followable_code")
        if not code:
            dispatcher.utter_message(response="utter_nothing_to_follow")
            return []
        channel = tracker.get_latest_input_channel() or "rest"
        db.subscribe(services.app_db(), tracker.sender_id, channel, code)
        dispatcher.utter_message(response="utter_subscribed", code=code)
        return []


class ActionUnsubscribeDossier(Action):
    def name(self) -> Text:
        return "action_unsubscribe_dossier"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        named = next(tracker.get_latest_entity_values("dossier_code"), None)
        ended = db.unsubscribe(services.app_db(), tracker.sender_id, named)
        if not ended:
            dispatcher.utter_message(response="utter_no_subscription")
        else:
            dispatcher.utter_message(response="utter_unsubscribed", codes=", ".join(ended))
        return []


class ActionNotifyStatusChange(Action):
    """Runs when the notifier triggers `dossier_status_changed` in a citizen's conversation."""

    def name(self) -> Text:
        return "action_notify_status_change"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        code = next(tracker.get_latest_entity_values("dossier_code"), None)
        label = next(tracker.get_latest_entity_values("status_label"), None)
        status = next(tracker.get_latest_entity_values("status_code"), None)
        if not code or not label:
            return []
        try:
            next_step = dossier_texts()["next_step"].get(int(status), "")
        except (TypeError, ValueError):
            next_step = ""
        dispatcher.utter_message(response="utter_dossier_status_changed", code=code,
                                 status_label=label, next_step=next_step)
        return []
