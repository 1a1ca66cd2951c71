"""Starting an online service: confirm the procedure, collect the applicant, create a draft."""

from __future__ import annotations

import asyncio
import re
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot import knowledge, services
from bot.actions.dossiers import dossier_texts, utter_unavailable
from bot.actions.procedures import field_buttons, resolve_procedure
from bot.actions.texts import contact_values
from bot.funnel import record
from bot.nlu.text import fold
from bot.nlu.values import id_number, phone_number
from bot.onestop.client import DraftCreated, OneStopUnavailable
from bot.procedures import answers

APPLICATION_SLOTS = ("applicant_name", "applicant_phone", "applicant_id")
NO_ID = "-"
_SKIP_WORDS = {"bo qua", "bo qua nhe", "skip", "-"}  # "không" is a deny: it stops the form
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
                {"title": catalogue.get(i)["name"],
                 "payload": f'/start_online_service{{"procedure": "{i}"}}'}
                for i in resolution.procedures
            ])
            return not_ready
        if resolution.status != "found":
            dispatcher.utter_message(response="utter_ask_which_procedure_online", buttons=field_buttons())
            return not_ready
        entry = catalogue.get(resolution.procedure)
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


class ValidateOnlineApplicationForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_online_application_form"

    async def extract_applicant_phone(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if tracker.get_slot("requested_slot") != "applicant_phone":
            return {}
        return {"applicant_phone": tracker.latest_message.get("text")}

    def validate_applicant_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        name = " ".join(str(value or "").split())
        if not (2 <= len(name) <= 100 and _NAME.match(name)):
            dispatcher.utter_message(response="utter_invalid_applicant_name")
            return {"applicant_name": None}
        return {"applicant_name": name.title()}

    def validate_applicant_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        phone = phone_number(str(value or ""))
        if phone is None:
            dispatcher.utter_message(response="utter_invalid_phone")
        return {"applicant_phone": phone}

    def validate_applicant_id(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        text = str(value or "")
        if fold(text).strip(" .!") in _SKIP_WORDS:
            return {"applicant_id": NO_ID}
        number = id_number(text)
        if number is None:
            dispatcher.utter_message(response="utter_invalid_id_number")
        return {"applicant_id": number}


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
                     {"title": texts["cancel_button"], "payload": "/deny"}],
        )
        return []


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
        return clear + [SlotSet("followable_code", outcome.code)]


class ActionOnlineHelp(Action):
    """Portal account / VNeID login and online payment help, from the domain's texts."""

    def name(self) -> Text:
        return "action_online_help"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        response = "utter_payment_help" if intent == "ask_payment" else "utter_vneid_help"
        dispatcher.utter_message(response=response, **contact_values(knowledge.province()))
        return []
