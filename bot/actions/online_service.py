"""Starting an online service: confirm the procedure, collect the applicant, create a draft."""

from __future__ import annotations

import asyncio
import re
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot import knowledge, services
from bot.actions.dossiers import dossier_texts, failed, utter_unavailable
from bot.actions.context import answers_reason_question, reinterpreted
from bot.actions.procedures import (aspects_asked, directory_answer, field_buttons, question_words, resolve_procedure,
                                    title_of)
from bot.actions.steering import steering
from bot.actions.texts import contact_values
from bot.funnel import record
from bot.nlu.text import fold
from bot.nlu.values import id_number, mobile_number
from bot.onestop.client import DraftCreated, OneStopUnavailable
from bot.procedures import answers

APPLICATION_SLOTS = ("applicant_name", "applicant_phone", "applicant_id")
NO_ID = "-"
_NAME = re.compile(r"^[^\W\d_]+(?:[ '\-][^\W\d_]+)+$", re.UNICODE)


class ActionStartOnlineService(Action):
    def name(self) -> Text:
        return "action_start_online_service"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        not_ready = [SlotSet("application_ready", False), SlotSet("application_procedure", None)]
        resolution = resolve_procedure(tracker)
        catalogue = knowledge.catalogue()
        if resolution.status == "ambiguous":
            dispatcher.utter_message(response="utter_procedure_ambiguous", buttons=[
                {"title": title_of(i), "payload": f'/start_online_service{{"procedure": "{i}"}}'}
                for i in resolution.procedures[:4]
            ])
            return not_ready
        if resolution.status == "directory" and resolution.procedure is not None:
            # No guidance here to start it with: who handles it and the official page instead.
            directory_answer(dispatcher, resolution.procedure)
            return not_ready + [SlotSet("procedure", resolution.procedure),
                                SlotSet("unmet_procedure", resolution.procedure)]
        if resolution.status != "found" or resolution.procedure is None:
            dispatcher.utter_message(response="utter_ask_which_procedure_online", buttons=field_buttons())
            return not_ready
        entry = catalogue.procedures[resolution.procedure]  # a procedure found is in the catalogue
        texts = knowledge.procedure_texts()
        values = {**answers.common(entry, texts, catalogue.fields[entry["field"]].name),
                  **answers.online(entry, texts)}
        if not answers.can_start_online(entry):
            dispatcher.utter_message(response="utter_not_online", agency=entry["handled_by"]["agency"], **values)
            return not_ready + [SlotSet("procedure", entry["id"])]
        record(tracker, "online_guidance", entry["id"])
        dispatcher.utter_message(response="utter_confirm_start_online", **values, buttons=[
            {"title": texts["yes_button"], "payload": "/affirm"},
            {"title": texts["no_button"], "payload": "/deny"},
        ])
        return [SlotSet("procedure", entry["id"]), SlotSet("application_procedure", entry["id"]),
                SlotSet("application_ready", True)]


def switched_procedure(tracker: Tracker) -> Optional[str]:
    """Another procedure the citizen now wants, in the middle of an application ("à không, tôi
    muốn làm lý lịch tư pháp", "thôi đổi qua đăng ký hộ kinh doanh"): one that can start online."""
    text = tracker.latest_message.get("text") or ""
    current = tracker.get_slot("application_procedure")
    if not current or text.startswith("/") or not steering().said(text).has_any(steering().switch):
        return None
    catalogue = knowledge.catalogue()
    named = [i for i in knowledge.resolver().find_all_in_text(text) if i != current]
    return next((i for i in named if answers.can_start_online(catalogue.procedures[i])), None)


def _introduces(text: str, name: str) -> bool:
    """Whether a folded message starts with the folded name, or says it after "tên"/"là"
    ("thôi, tên tôi là Nguyễn Văn An")."""
    before = text[:text.rfind(name)].split() if name in text else None
    return before is not None and (not before or bool({"ten", "la"} & set(before)))


class ValidateOnlineApplicationForm(FormValidationAction):
    """Name, phone and (optional) ID number. A message that is not a value — a stop word, a
    question, a request for a person — fills nothing: the form rejects it and the rules of
    data/rules/online_services.yml answer it. A value that fails its check twice offers a way out."""

    def name(self) -> Text:
        return "validate_online_application_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[Dict[Text, Any]]:
        switched = switched_procedure(tracker)
        if switched:  # the values given so far are kept; the form asks on
            entry = knowledge.catalogue().procedures[switched]
            record(tracker, "online_guidance", entry["id"])
            dispatcher.utter_message(response="utter_application_switched", name=entry["name"])
            return [SlotSet("application_procedure", switched), SlotSet("procedure", switched)]
        return await super().run(dispatcher, tracker, domain)

    @staticmethod
    def _requested(tracker: Tracker, slot: str) -> Optional[str]:
        """The latest text, when the form asks for `slot` and the text is not a way out."""
        if tracker.get_slot("requested_slot") != slot:
            return None
        text = tracker.latest_message.get("text") or ""
        if text.startswith("/"):  # a button of another question
            return None
        intent = tracker.latest_message.get("intent") or {}
        lexicon = steering()
        stop = lexicon.is_stop(text)
        name = lexicon.name_in(text) if slot == "applicant_name" else None
        if name and not (stop and not _introduces(fold(text), fold(name))):
            return text  # a name, unless a stop comes first: "thôi để mai tính" is not Mai Tính
        if stop:
            return None
        if slot == "applicant_id" and lexicon.is_skip(text):
            return text  # "ko có cccd": no number, go on
        if lexicon.field_named(text) and not any(ch.isdigit() for ch in text):
            return None  # "sửa số điện thoại": which value, not the value
        if switched_procedure(tracker):
            return None  # "thôi đổi qua đăng ký hộ kinh doanh"
        if any(ch.isdigit() for ch in text):
            return text
        if lexicon.is_question(text, intent.get("name"), float(intent.get("confidence") or 0)):
            return None
        if intent.get("name") in ("deny", "affirm", "goodbye") and float(intent.get("confidence") or 0) >= 0.5:
            return None
        return text

    async def extract_applicant_name(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                     domain: DomainDict) -> Dict[Text, Any]:
        text = self._requested(tracker, "applicant_name")
        return {} if text is None else {"applicant_name": text}

    async def extract_applicant_phone(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                      domain: DomainDict) -> Dict[Text, Any]:
        text = self._requested(tracker, "applicant_phone")
        return {} if text is None else {"applicant_phone": text}

    async def extract_applicant_id(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                   domain: DomainDict) -> Dict[Text, Any]:
        text = self._requested(tracker, "applicant_id")
        return {} if text is None else {"applicant_id": text}

    def validate_applicant_name(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                domain: DomainDict) -> Dict[Text, Any]:
        text = " ".join(str(value or "").split())
        name = steering().name_in(text)
        if name is None and 2 <= len(text) <= 100 and _NAME.match(text) and len(text.split()) <= 6:
            name = " ".join(w[:1].upper() + w[1:].lower() for w in text.split())
        if name is None:
            return failed(dispatcher, tracker, "applicant_name", "utter_invalid_applicant_name")
        return {"applicant_name": name, "retry_count": 0}

    def validate_applicant_phone(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                 domain: DomainDict) -> Dict[Text, Any]:
        phone = mobile_number(str(value or ""))
        if phone is None:
            return failed(dispatcher, tracker, "applicant_phone", "utter_invalid_phone")
        return {"applicant_phone": phone, "retry_count": 0}

    def validate_applicant_id(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                              domain: DomainDict) -> Dict[Text, Any]:
        text = str(value or "")
        if text == NO_ID:  # "bỏ qua" given earlier, validated again when the form comes back
            return {"applicant_id": NO_ID}
        number = id_number(text)
        if number is not None:
            return {"applicant_id": number, "retry_count": 0}
        if steering().is_skip(text):
            return {"applicant_id": NO_ID, "retry_count": 0}
        return failed(dispatcher, tracker, "applicant_id", "utter_invalid_id_number")


class ActionConfirmApplication(Action):
    def name(self) -> Text:
        return "action_confirm_application"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        entry = knowledge.catalogue().get(tracker.get_slot("application_procedure"))
        if entry is None:
            dispatcher.utter_message(response="utter_ask_which_procedure_online", buttons=field_buttons())
            return []
        texts = knowledge.procedure_texts()
        applicant_id = tracker.get_slot("applicant_id")
        dispatcher.utter_message(
            response="utter_confirm_application",
            name=entry["name"],
            applicant_name=tracker.get_slot("applicant_name"),
            applicant_phone=tracker.get_slot("applicant_phone"),
            applicant_id=texts["not_given"] if applicant_id in (None, NO_ID) else applicant_id,
            locality=_locality_name(tracker) or texts["not_given"],
            buttons=[{"title": texts["send_button"], "payload": "/affirm"},
                     {"title": texts["correct_button"], "payload": "/correct_application"},
                     {"title": texts["cancel_button"], "payload": "/deny"}],
        )
        return [SlotSet("retry_count", 0)]


class ActionReviewApplication(Action):
    """At the summary: a correction ("sai tên rồi, tên đúng là …", "sửa số điện thoại", a new
    phone number) changes that value and shows the summary again, or asks for it; "sai rồi"
    without saying what asks which one; a plain no cancels."""

    def name(self) -> Text:
        return "action_review_application"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        if knowledge.catalogue().get(tracker.get_slot("application_procedure")) is None:
            dispatcher.utter_message(response="utter_ask_which_procedure_online", buttons=field_buttons())
            return []
        lexicon = steering()
        text = tracker.latest_message.get("text") or ""
        typed = "" if text.startswith("/") else text
        field = next(tracker.get_latest_entity_values("application_field"), None)
        if field not in APPLICATION_SLOTS:
            field = lexicon.field_named(typed) if typed else None
        value = self._value(field, typed)
        if field is None and typed:
            for candidate in APPLICATION_SLOTS:  # a new value typed on its own
                value = self._value(candidate, typed)
                if value is not None and (candidate != "applicant_name" or not lexicon.is_stop(typed)):
                    field = candidate
                    break
        if field is not None and value is not None:
            return [SlotSet(field, value), SlotSet("application_field", None),
                    FollowupAction("action_confirm_application")]
        if field is not None:
            # Only that value is asked again; the form then comes back to the summary.
            return [SlotSet(field, None), SlotSet("application_field", None), SlotSet("requested_slot", field),
                    FollowupAction("online_application_form")]
        if text.startswith("/correct_application") or (typed and lexicon.says_wrong(typed)
                                                      and not lexicon.is_stop(typed)):
            dispatcher.utter_message(response="utter_ask_which_field")
            return []
        return [FollowupAction("action_ask_offline_reason")]

    @staticmethod
    def _value(field: Optional[str], text: str) -> Optional[str]:
        if not text or field is None:
            return None
        if field == "applicant_phone":
            return mobile_number(text)
        if field == "applicant_id":
            return id_number(text)
        return steering().name_in(text)


def _locality_name(tracker: Tracker) -> Optional[str]:
    named = tracker.get_slot("locality")
    if not named:
        return None
    place = knowledge.localities().resolve(str(named))
    if place.status == "one":
        return knowledge.localities().unit(place.units[0])["name"]
    return None


class ActionCreateDraft(Action):
    def name(self) -> Text:
        return "action_create_draft"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        clear = [SlotSet(slot, None) for slot in APPLICATION_SLOTS] + [SlotSet("application_ready", False)]
        entry = knowledge.catalogue().get(tracker.get_slot("application_procedure"))
        if entry is None:
            dispatcher.utter_message(response="utter_ask_which_procedure_online", buttons=field_buttons())
            return clear
        applicant_id = tracker.get_slot("applicant_id")
        try:
            outcome = await asyncio.to_thread(
                services.onestop().create_draft,
                entry["id"], entry["name"], tracker.get_slot("applicant_name"),
                tracker.get_slot("applicant_phone"), tracker.get_latest_input_channel() or "rest",
                None if applicant_id in (None, NO_ID) else applicant_id, _locality_name(tracker),
            )
        except OneStopUnavailable as error:
            utter_unavailable(dispatcher, error)
            return clear
        if not isinstance(outcome, DraftCreated):
            dispatcher.utter_message(response="utter_draft_rejected", **contact_values(knowledge.province()))
            return clear
        record(tracker, "draft_created", entry["id"], dossier_code=outcome.code)
        texts = knowledge.procedure_texts()
        dispatcher.utter_message(response="utter_draft_created", code=outcome.code,
                                 continue_url=outcome.continue_url, name=entry["name"])
        dispatcher.utter_message(response="utter_draft_checklist", **answers.documents(entry, texts))
        profile = contact_values(knowledge.province())
        dispatcher.utter_message(response="utter_vneid_help", **profile)
        if entry["fee"].get("free") is not True:
            dispatcher.utter_message(response="utter_payment_help", **profile)
        dossier = dossier_texts()
        dispatcher.utter_message(response="utter_offer_follow", code=outcome.code, buttons=[
            {"title": dossier["subscribe_button"], "payload": "/subscribe_dossier"},
            {"title": dossier["no_thanks_button"], "payload": "/deny"},
        ])
        context = {"code": outcome.code, "procedure_id": entry["id"], "procedure_name": entry["name"],
                   "status": 0, "status_label": dossier["draft_label"], "received": "", "due": "", "late_days": 0,
                   "missing": [], "reason": "", "continue_url": outcome.continue_url, "agency": ""}
        return clear + [SlotSet("followable_code", outcome.code), SlotSet("dossier_context", context),
                        SlotSet("has_dossier", True)]


class ActionOnlineHelp(Action):
    """Portal account / VNeID login and online payment help, from the domain's texts."""

    def name(self) -> Text:
        return "action_online_help"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        text = tracker.latest_message.get("text") or ""
        if answers_reason_question(tracker):  # "chưa có tài khoản vneid": why not online
            return [FollowupAction("action_record_offline_reason")]
        if (not text.startswith("/") and knowledge.resolver().find_in_text(text).status in ("found", "directory")
                and not steering().said(text).has_any(question_words()["online_help"])):
            # "… hỏi cho mình là lệ phí lý lịch tư pháp" / "khai tử mới đúng": about the procedure
            events = reinterpreted(tracker, set(), force="ask_fee" if "fee" in aspects_asked(text) else "ask_procedure")
            if events:
                return events
        response = "utter_payment_help" if intent == "ask_payment" else "utter_vneid_help"
        dispatcher.utter_message(response=response, **contact_values(knowledge.province()))
        return []
