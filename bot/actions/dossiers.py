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
import re
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot import clock, knowledge, services
from bot.actions import lookup_lockout
from bot.actions.context import answers_reason_question, procedure_question, reinterpreted
from bot.actions.steering import steering
from bot.actions.texts import contact_values
from bot.config import load_settings
from bot.nlu.text import fold
from bot.nlu.values import dossier_code, phone_number
from bot.onestop.client import (DossierFound, DossierNotFound, LookupLocked, OneStopUnavailable,
                                RequestRejected, VerificationFailed)
from bot.store import db

logger = logging.getLogger(__name__)


def dossier_texts() -> Dict[str, Any]:
    return knowledge.dossier_texts()


def verification_value(text: str) -> Optional[str]:
    """The last 4 digits of a phone, a 12-digit ID number, or a whole phone (→ last 4), also
    inside a sentence ("thế thì 4 số cuối là 8442"); a dossier code's digits are not one."""
    text = _CODE_LIKE.sub(" ", text or "")
    digits = "".join(ch for ch in text if ch.isdigit())
    if len(digits) in (4, 12):
        return digits
    phone = phone_number(text)  # "0905 123 456": the whole phone, not its first group
    if phone:
        return phone[-4:]
    groups = re.findall(r"(?<!\d)(\d{12}|\d{4})(?!\d)", text.replace(" ", "") if len(digits) == 12 else text)
    return groups[-1] if groups else None


_CODE_LIKE = re.compile(r"\d{3}[ .]?\d{2}[ .]?\d{2}[ .]?[A-Za-z]\d{2}[ -]?\d{6}[ -]?\d{4}")


def in_context(
    dispatcher: CollectingDispatcher, tracker: Tracker, procedure_questions: bool = True
) -> Optional[List[Dict[Text, Any]]]:
    """What a message means in this conversation before its intent: the reason typed after
    "why not online?", a verification value
    typed after a failed lookup (looked up again), a follow-up about the dossier looked up,
    "tôi không nhớ mã", a question about one's own dossier, or a question about a procedure
    the NLU read as something else. None when nothing of the kind."""
    text = tracker.latest_message.get("text") or ""
    if text.startswith("/"):
        return None
    if answers_reason_question(tracker):
        return [FollowupAction("action_record_offline_reason")]
    pending = tracker.get_slot("pending_code")
    value = verification_value(text) if pending and not dossier_code(text) else None
    if value:
        return [SlotSet("dossier_code", pending), SlotSet("verification_value", value),
                FollowupAction("action_check_dossier_status")]
    if answer_followup(dispatcher, tracker):
        return []
    if steering().has_no_code(text) and steering().said(text).has(steering().phrase("mã")):
        dispatcher.utter_message(response="utter_dossier_code_help", **contact_values(knowledge.province()))
        return []
    if asks_own_dossier(text):
        return [FollowupAction("action_dossier_followup")]
    if procedure_questions and procedure_question(tracker):
        return reinterpreted(tracker, set(), force="ask_procedure") or None
    return None


def utter_refusal(dispatcher: CollectingDispatcher, refusal: lookup_lockout.Refusal, at: dt.datetime) -> None:
    """A sender's own lock, or a dossier code locked for everyone (by us or the one-stop system)."""
    response = "utter_lookup_locked" if refusal.scope == "sender" else "utter_dossier_locked"
    dispatcher.utter_message(response=response, minutes=refusal.minutes_left(at),
                             **contact_values(knowledge.province()))


def failed(dispatcher: CollectingDispatcher, tracker: Tracker, slot: str, response: str) -> Dict[Text, Any]:
    """Say what is wrong; from the second failure on, also how to leave or get a person."""
    dispatcher.utter_message(response=response)
    retries = int(tracker.get_slot("retry_count") or 0) + 1
    if retries >= 2:
        dispatcher.utter_message(response="utter_form_way_out", **contact_values(knowledge.province()))
    return {slot: None, "retry_count": retries}


def utter_unavailable(dispatcher: CollectingDispatcher, error: OneStopUnavailable) -> None:
    logger.warning("one-stop system unavailable: %s", error)
    dispatcher.utter_message(response=f"utter_onestop_{error.kind}", **contact_values(knowledge.province()))


class ValidateDossierStatusForm(FormValidationAction):
    """The dossier code, then a verification value. A way out (a stop word, a question, a
    request for a person) fills nothing, so the rules answer it; "tôi không nhớ mã" gets where
    to find the code; a value that fails twice offers a way out."""

    def name(self) -> Text:
        return "validate_dossier_status_form"

    @staticmethod
    def _requested(tracker: Tracker, slot: str) -> Optional[str]:
        text = tracker.latest_message.get("text") or ""
        if (slot == "verification_value" and tracker.get_slot("requested_slot") is None
                and dossier_code(text) and verification_value(text)):
            return verification_value(text)  # "mã 000.31.08.H46-261112-0027, 4 số cuối 7506"
        if tracker.get_slot("requested_slot") != slot:
            return None
        if text.startswith("/"):
            return None
        lexicon = steering()
        if any(ch.isdigit() for ch in text) or lexicon.has_no_code(text):
            return text
        intent = tracker.latest_message.get("intent") or {}
        if lexicon.is_stop(text) or lexicon.is_question(text, intent.get("name"), float(intent.get("confidence") or 0)):
            return None
        if intent.get("name") in ("deny", "affirm", "goodbye") and float(intent.get("confidence") or 0) >= 0.5:
            return None
        return text

    async def extract_dossier_code(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        text = self._requested(tracker, "dossier_code")
        return {} if text is None else {"dossier_code": text}

    async def extract_verification_value(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        text = self._requested(tracker, "verification_value")
        return {} if text is None else {"verification_value": text}

    def validate_dossier_code(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        text = str(value or "")
        canonical = dossier_code(text)
        if canonical is None:
            if steering().has_no_code(text):
                dispatcher.utter_message(response="utter_dossier_code_help", **contact_values(knowledge.province()))
                return {"dossier_code": None, "requested_slot": None, "retry_count": 0}
            return failed(dispatcher, tracker, "dossier_code", "utter_invalid_dossier_code")
        # A locked code or sender: said now, not after asking for a verification value in vain.
        at = clock.now()
        refusal = lookup_lockout.refusal(services.app_db(), tracker.sender_id, canonical, at)
        if refusal is not None:
            utter_refusal(dispatcher, refusal, at)
            return {"dossier_code": None, "requested_slot": None, "lookup_outcome": "locked", "retry_count": 0}
        return {"dossier_code": canonical, "retry_count": 0}

    def validate_verification_value(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        checked = verification_value(str(value or ""))
        if checked is None:
            return failed(dispatcher, tracker, "verification_value", "utter_invalid_verification")
        return {"verification_value": checked, "retry_count": 0}


def context_of(dossier: Dict[str, Any], today: dt.date) -> Dict[str, Any]:
    """What the conversation keeps of a verified dossier for follow-ups (never the
    verification value, nor the applicant)."""
    status = dossier["status"]
    due = dossier.get("due_date")
    late = 0
    if due and status["code"] not in (0, 1, 3, 7, 8, 9, 10):
        late = max(0, (today - dt.date.fromisoformat(due[:10])).days)
    notes = [h.get("note") for h in dossier.get("history") or [] if h.get("note")]
    return {"code": dossier["code"], "procedure_id": dossier.get("procedure_id"),
            "procedure_name": dossier["procedure_name"], "status": int(status["code"]),
            "status_label": status["label"], "received": _date(dossier.get("received_at")),
            "due": _date(due), "late_days": late, "missing": list(dossier.get("missing_documents") or []),
            "reason": notes[-1] if status["code"] in (3, 5, 7, 8) and notes else "",
            "continue_url": dossier.get("continue_url") or "",
            "agency": (dossier.get("agency") or {}).get("name") or ""}


def _lines(context: Dict[str, Any], *kinds: str) -> List[str]:
    """The lines of an answer about the dossier, from data/texts/dossiers.yml."""
    texts, contact = dossier_texts(), contact_values(knowledge.province())
    values = {**contact, **context, "due": context["due"] or texts["no_date"],
              "received": context["received"] or texts["no_date"]}
    out: List[str] = []
    for kind in kinds:
        if kind == "dates" and (context["received"] or context["due"]):
            out.append(texts["received_line"].format(**values))
        elif kind == "when":
            out.append((texts["due_line"] if context["due"] else texts["no_due"]).format(**values))
        elif kind == "why" and context["status"] in (3, 5, 7, 8):
            out.append(texts["reason_line"].format(reason=context["reason"]) if context["reason"]
                       else texts["no_reason"].format(**values))
        elif kind == "missing":
            if context["missing"]:
                out += [texts["missing_header"]] + [texts["missing_line"].format(item=i) for i in context["missing"]]
                out.append(texts["missing_how"].format(**values))
            elif context["status"] != 5:
                out.append(texts["no_missing"].format(**values))
        elif kind == "link":
            out.append(texts["continue_line"].format(url=context["continue_url"]) if context["continue_url"]
                       else texts["no_continue"].format(**values))
        elif kind == "late" and context["late_days"]:
            out.append(texts["overdue_line"].format(days=context["late_days"], **contact))
        elif kind == "next":
            out.append(texts["next_step"].get(context["status"], ""))
        elif kind == "where" and context["agency"]:
            out.append(texts["where_line"].format(agency=context["agency"]))
    return [line for line in out if line]


def _date(value: Optional[str]) -> str:
    if not value:
        return ""
    return dt.date.fromisoformat(value[:10]).strftime("%d/%m/%Y")


def utter_status(dispatcher: CollectingDispatcher, context: Dict[str, Any]) -> None:
    """The answer to a verified lookup: status, dates, then what matters for this status (the
    reason, the missing papers, the link to go on, the overdue days with the hotline and the
    complaint channel), the next step, and the offer to follow it."""
    texts = dossier_texts()
    details = _lines(context, "dates", "why", "link" if context["status"] == 0 else "",
                     "missing" if context["missing"] else "", "late")
    dispatcher.utter_message(
        response="utter_dossier_status", code=context["code"], procedure_name=context["procedure_name"],
        status_label=context["status_label"], details="\n".join(details),
        # The missing papers already say what to do next: not twice.
        next_step="" if context["missing"] or not texts["next_step"].get(context["status"]) else
        "\n" + texts["next_step"][context["status"]],
        buttons=[{"title": texts["subscribe_button"], "payload": "/subscribe_dossier"},
                 {"title": texts["no_thanks_button"], "payload": "/deny"}])


def followup_kinds(text: str) -> List[str]:
    said = steering().said(text)
    return [kind for kind, phrases in dossier_texts()["followup_words"].items()
            if said.has_any(steering().phrases(phrases))]


def asks_own_dossier(text: str) -> bool:
    """"hồ sơ … của tôi sao rồi": about a dossier already submitted, whatever procedure it names."""
    said = steering().said(text)
    return said.has(steering().phrase("hồ sơ")) and said.has_any(steering().phrases(dossier_texts()["own_dossier"]))


def answer_followup(dispatcher: CollectingDispatcher, tracker: Tracker, force: bool = False) -> bool:
    """A follow-up about the dossier verified or created earlier in this conversation ("khi
    nào xong vậy", "sao bị từ chối", "thiếu giấy gì", "link đâu"), answered from it. False when
    there is none, or the message is about something else (another code, a procedure)."""
    context = tracker.get_slot("dossier_context")
    text = tracker.latest_message.get("text") or ""
    if not isinstance(context, dict) or text.startswith("/") or dossier_code(text):
        return False
    if next(tracker.get_latest_entity_values("procedure"), None):
        return False
    kinds = followup_kinds(text)
    if not kinds and not force:
        return False
    if not kinds:
        lines = _lines(context, "dates", "why", "missing", "late", "next")
        lines.insert(0, f"{context['code']} — {context['procedure_name']}: {context['status_label']}")
    else:
        lines = []
        for kind in kinds[:3]:
            if kind == "late":
                lines += _lines(context, "when", "late") if context["late_days"] else _lines(context, "when", "next")
            elif kind == "when":
                lines += _lines(context, "when", "late")
            elif kind == "where":
                lines += _lines(context, "where", "next")
            else:
                lines += _lines(context, kind) or _lines(context, "next")
        lines = list(dict.fromkeys(lines))
    dispatcher.utter_message(response="utter_dossier_followup", answer="\n".join(lines))
    return True


class ActionDossierFollowup(Action):
    """"Kiểm tra hồ sơ" or a follow-up after a lookup: answered from that dossier, unless the
    citizen names another code or asks for another dossier (then the form asks)."""

    def name(self) -> Text:
        return "action_dossier_followup"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        answered = [SlotSet("lookup_wanted", False)]
        if answers_reason_question(tracker):
            return [FollowupAction("action_record_offline_reason")]
        if procedure_question(tracker) and not asks_own_dossier(tracker.latest_message.get("text") or ""):
            events = reinterpreted(tracker, set(), force="ask_procedure")  # "… có ghi tên ba được không"
            if events:
                return answered + events
        if steering().has_no_code(tracker.latest_message.get("text") or ""):
            dispatcher.utter_message(response="utter_dossier_code_help", **contact_values(knowledge.province()))
            return answered
        text = fold(tracker.latest_message.get("text") or "")
        if not tracker.get_slot("has_dossier") or "khac" in text.split() \
                or not answer_followup(dispatcher, tracker, force=True):
            # The rule starts the form; when this runs as a follow-up of another action, so does this.
            return [SlotSet("lookup_wanted", True), FollowupAction("dossier_status_form")]
        return answered


class ActionCheckDossierStatus(Action):
    def name(self) -> Text:
        return "action_check_dossier_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        code = tracker.get_slot("dossier_code")
        value = tracker.get_slot("verification_value")
        # The verification value is used once and never kept in the conversation.
        reset = [SlotSet("verification_value", None), SlotSet("dossier_code", None), SlotSet("pending_code", None)]
        if not code or not value:  # the form ended early and said why (a locked code)
            return reset
        engine, at = services.app_db(), clock.now()
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
            return reset + [SlotSet("lookup_outcome", kind), SlotSet("pending_code", None if locked else code)]
        if isinstance(outcome, RequestRejected):
            dispatcher.utter_message(response="utter_invalid_dossier_code")
            return reset + [SlotSet("lookup_outcome", "not_found")]
        assert isinstance(outcome, DossierFound)
        lookup_lockout.record_success(engine, tracker.sender_id)
        context = context_of(outcome.dossier, dt.date.today())
        utter_status(dispatcher, context)
        return reset + [SlotSet("followable_code", outcome.dossier["code"]),
                        SlotSet("lookup_outcome", "found"), SlotSet("dossier_context", context),
                        SlotSet("has_dossier", True)] + (
            [SlotSet("procedure", context["procedure_id"])] if knowledge.catalogue().get(context["procedure_id"]) else [])


class ActionSubscribeDossier(Action):
    """Follow the dossier last verified or created in this conversation."""

    def name(self) -> Text:
        return "action_subscribe_dossier"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        code = tracker.get_slot("followable_code")
        if not code:
            events = in_context(dispatcher, tracker)
            if events is not None:
                return events
            text = tracker.latest_message.get("text") or ""
            if not text.startswith("/") and knowledge.resolver().find_in_text(text).status in ("found", "directory"):
                events = reinterpreted(tracker, set(), force="ask_procedure")  # nothing to follow: a question
                if events:
                    return events
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
        next_step = ""
        if status is not None:  # no status_code entity: no next step
            try:
                next_step = dossier_texts()["next_step"].get(int(status), "")
            except (TypeError, ValueError):
                pass
        dispatcher.utter_message(response="utter_dossier_status_changed", code=code,
                                 status_label=label, next_step=next_step)
        return []
