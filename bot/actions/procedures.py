"""Answers about procedures from the catalogue: overview, documents, fee, time, place, online."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot import knowledge
from bot.localities import PlaceResolution
from bot.procedures import answers
from bot.procedures.resolver import Resolution
from bot.funnel import record

ASPECT_OF_INTENT = {
    "ask_procedure": "overview",
    "ask_documents": "documents",
    "ask_fee": "fee",
    "ask_processing_time": "time",
    "ask_agency": "agency",
    "ask_online_service": "online",
}
INTENT_OF_ASPECT = {aspect: intent for intent, aspect in ASPECT_OF_INTENT.items()}
RESPONSE_OF_ASPECT = {
    "overview": "utter_procedure_overview",
    "documents": "utter_procedure_documents",
    "fee": "utter_procedure_fee",
    "time": "utter_procedure_time",
    "agency": "utter_procedure_agency",
    "online": "utter_procedure_online",
}


def payload(intent: str, **entities: str) -> str:
    return f"/{intent}{json.dumps(entities, ensure_ascii=False)}" if entities else f"/{intent}"


def today() -> dt.date:
    return dt.date.today()


def resolve_procedure(tracker: Tracker) -> Resolution:
    """The procedure of this message: a named one replaces the one in context."""
    resolver = knowledge.resolver()
    named = next(tracker.get_latest_entity_values("procedure"), None)
    if named:
        return resolver.resolve(str(named))
    found = resolver.find_in_text(tracker.latest_message.get("text") or "")
    in_context = tracker.get_slot("procedure")
    if found.status in ("found", "ambiguous"):
        return found
    if in_context and knowledge.catalogue().get(in_context):
        return Resolution("found", (in_context,), named=in_context)  # a follow-up
    return found


def resolve_place(tracker: Tracker) -> Optional[PlaceResolution]:
    named = next(tracker.get_latest_entity_values("locality"), None) or tracker.get_slot("locality")
    return knowledge.localities().resolve(str(named)) if named else None


def field_buttons() -> List[Dict[str, str]]:
    return [
        {"title": field.name, "payload": payload("browse_procedures", field=field.id)}
        for field in knowledge.catalogue().fields.values()
    ]


class ActionAnswerProcedure(Action):
    def name(self) -> Text:
        return "action_answer_procedure"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        if intent == "inform" and next(tracker.get_latest_entity_values("dossier_code"), None):
            return [FollowupAction("dossier_status_form")]  # a bare code: look it up
        aspect = ASPECT_OF_INTENT.get(intent) or tracker.get_slot("procedure_aspect") or "overview"
        events: List[Dict[Text, Any]] = [SlotSet("procedure_aspect", aspect)]
        resolution = resolve_procedure(tracker)
        catalogue = knowledge.catalogue()

        if resolution.status == "ambiguous":
            buttons = [
                {"title": catalogue.get(i)["name"], "payload": payload(INTENT_OF_ASPECT[aspect], procedure=i)}
                for i in resolution.procedures
            ]
            dispatcher.utter_message(response="utter_procedure_ambiguous", buttons=buttons)
            return events
        if resolution.status == "unknown":
            texts = knowledge.procedure_texts()
            buttons = [
                {"title": catalogue.get(i)["name"], "payload": payload(INTENT_OF_ASPECT[aspect], procedure=i)}
                for i in resolution.suggestions
            ] + [{"title": texts["browse_button"], "payload": payload("browse_procedures")}]
            dispatcher.utter_message(response="utter_procedure_not_found", buttons=buttons)
            return events
        if resolution.status != "found":
            if aspect == "online":
                dispatcher.utter_message(response="utter_online_levels")
            else:
                dispatcher.utter_message(response="utter_ask_which_procedure", buttons=field_buttons())
            return events

        entry = catalogue.get(resolution.procedure)
        events.append(SlotSet("procedure", entry["id"]))
        record(tracker, "online_guidance" if aspect == "online" else "procedure_viewed", entry["id"])
        place = resolve_place(tracker)
        if aspect == "agency" and place is not None and place.status == "choose":
            self._ask_place(dispatcher, place, entry)
            return events
        self.answer(dispatcher, entry, aspect, place)
        return events

    @staticmethod
    def _ask_place(dispatcher: CollectingDispatcher, place: PlaceResolution, entry: dict) -> None:
        localities = knowledge.localities()
        note = answers.former_district_note(place, localities, knowledge.procedure_texts())
        buttons = [
            {"title": localities.unit(u)["name"],
             "payload": payload("ask_agency", procedure=entry["id"], locality=u)}
            for u in place.units
        ]
        split = any(r.get("split") for r in place.records)
        dispatcher.utter_message(
            response="utter_locality_split" if split else "utter_locality_choose",
            named=place.named, note=note, buttons=buttons,
        )

    @staticmethod
    def answer(dispatcher: CollectingDispatcher, entry: dict, aspect: str,
               place: Optional[PlaceResolution] = None) -> None:
        texts = knowledge.procedure_texts()
        catalogue = knowledge.catalogue()
        values = answers.common(entry, texts, catalogue.fields[entry["field"]].name)
        buttons: List[Dict[str, str]] = []
        if aspect == "overview":
            values.update(answers.online(entry, texts))
            values["agency"] = entry["handled_by"]["agency"]
            values["caveat"] = answers.caveat(entry["verified"], entry, texts)
            buttons = [
                {"title": texts["aspects"][a], "payload": payload(INTENT_OF_ASPECT[a], procedure=entry["id"])}
                for a in ("documents", "fee", "time", "agency", "online")
            ]
        elif aspect == "documents":
            values.update(answers.documents(entry, texts))
        elif aspect == "fee":
            values.update(answers.fee(entry, texts, today()))
        elif aspect == "time":
            values.update(answers.processing_time(entry, texts))
        elif aspect == "agency":
            values.update(answers.agency(entry, texts, place, knowledge.localities()))
        elif aspect == "online":
            values.update(answers.online(entry, texts))
            if answers.can_start_online(entry):
                buttons = [{"title": texts["start_online_button"],
                            "payload": payload("start_online_service", procedure=entry["id"])}]
        dispatcher.utter_message(response=RESPONSE_OF_ASPECT[aspect], buttons=buttons, **values)
        if aspect != "overview":
            ratings = knowledge.feedback_texts()["ratings"]
            dispatcher.utter_message(response="utter_ask_rating", buttons=[
                {"title": title, "payload": payload("rate_answer", rating=key)}
                for key, title in ratings.items()
            ])


class ActionBrowseProcedures(Action):
    """Fields as buttons; a chosen field lists its procedures as buttons."""

    def name(self) -> Text:
        return "action_browse_procedures"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        catalogue = knowledge.catalogue()
        chosen = next(tracker.get_latest_entity_values("field"), None)
        field = catalogue.fields.get(str(chosen)) if chosen else None
        if field is None:
            dispatcher.utter_message(response="utter_browse_fields", buttons=field_buttons())
            return []
        buttons = [
            {"title": catalogue.get(i)["name"], "payload": payload("ask_procedure", procedure=i)}
            for i in field.procedure_ids
        ]
        dispatcher.utter_message(response="utter_browse_field", field_name=field.name, buttons=buttons)
        return []
