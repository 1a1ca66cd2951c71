"""Answers about procedures from the catalogue: overview, documents, fee, time, place, online."""

from __future__ import annotations

import datetime as dt
import json
from functools import lru_cache
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot import knowledge
from bot.actions.dossiers import in_context
from bot.actions.places import best_place
from bot.actions.steering import steering
from bot.actions.texts import contact_values, response_text
from bot.config import load_settings
from bot.localities import PlaceResolution
from bot.nlu.lexicon import read_yaml
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
    """The procedure of this message: a named one replaces the one in context. A button's
    payload names its procedure as an entity; its text is never searched."""
    resolver = knowledge.resolver()
    named = next(tracker.get_latest_entity_values("procedure"), None)
    if named:
        return resolver.resolve(str(named))
    text = tracker.latest_message.get("text") or ""
    found = resolver.find_in_text("" if text.startswith("/") else text)
    in_context = tracker.get_slot("procedure")
    if found.status in ("found", "ambiguous"):
        return found
    if in_context and knowledge.catalogue().get(in_context):
        return Resolution("found", (in_context,), named=in_context)  # a follow-up
    return found


def resolve_place(tracker: Tracker) -> Optional[PlaceResolution]:
    return best_place(tracker)


def field_buttons() -> List[Dict[str, str]]:
    return [
        {"title": field.name, "payload": payload("browse_procedures", field=field.id)}
        for field in knowledge.catalogue().fields.values()
    ]


MAX_CHARS = 600  # an answer a phone shows at once; the rest behind the details button


@lru_cache(maxsize=1)
def question_words() -> Dict[str, Any]:
    lexicon = steering()
    document = read_yaml(load_settings().data_dir / "lexicon" / "questions.yml")
    return {
        "aspects": {a: lexicon.phrases(ps) for a, ps in document["aspects"].items()},
        "cases": {c: lexicon.phrases(ps) for c, ps in document["cases"].items()},
        "groups": [(str(g), lexicon.phrase(str(g))) for g in document["groups"]],
        "yes_no": lexicon.phrases(document["yes_no"]),
        "fillers": {w for item in [*document["fillers"], *read_yaml(
            load_settings().data_dir / "lexicon" / "generic_words.yml")["words"]] for w in lexicon.phrase(str(item)).folded},
    }


def aspects_asked(text: str) -> List[str]:
    """Every aspect a message asks about, in the catalogue's order ("lệ phí bao nhiêu, mất mấy ngày")."""
    said = steering().said(text)
    return [a for a, phrases in question_words()["aspects"].items() if said.has_any(phrases)]


SITUATION_WORDS = 2  # words of its own that make a yes/no question a case of the citizen's


def case_asked(text: str, named: Optional[dict] = None) -> Optional[str]:
    """The kind of case a question asks about; "other" for a yes/no question about the citizen's
    own situation that no kind names; None for a plain question about the procedure."""
    said = steering().said(text)
    found = next((c for c, phrases in question_words()["cases"].items() if said.has_any(phrases)), None)
    if found or not said.has_any(question_words()["yes_no"]):
        return found
    ignored = set(question_words()["fillers"])
    if named is not None:
        for surface in [named["name"], *named["aliases"]]:
            ignored |= set(steering().phrase(surface).folded)
    for phrases in question_words()["aspects"].values():
        for phrase in phrases:
            ignored |= set(phrase.folded)
    own = [w for w in said.folded if w not in ignored and not w.isdigit()]
    return "other" if len(own) >= SITUATION_WORDS else None


def shorten(text: str, limit: int = MAX_CHARS) -> str:
    """At most `limit` characters, cut at a line; the cut is said."""
    if len(text) <= limit:
        return text
    marker = knowledge.procedure_texts()["truncated"]
    kept: List[str] = []
    for line in text.split("\n"):
        if len("\n".join(kept + [line])) + len(marker) + 1 > limit:
            break
        kept.append(line)
    return "\n".join(kept + [marker]) if kept else text[: limit - len(marker) - 1] + " " + marker


class ActionAnswerProcedure(Action):
    """Answers about a procedure of the catalogue, shaped for a phone: the answer first (at most
    600 characters), one line of legal basis and date, details behind a button; the
    unverified-facts warning once per procedure and the rating question once per procedure in
    a conversation. Several aspects asked at once get one answer each; a case question is
    answered from the entry's cases or honestly routed; a follow-up about a dossier looked up
    earlier is answered from that dossier."""

    def name(self) -> Text:
        return "action_answer_procedure"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        text = tracker.latest_message.get("text") or ""
        if intent == "inform" and next(tracker.get_latest_entity_values("dossier_code"), None):
            return [FollowupAction("dossier_status_form")]  # a bare code: look it up
        events_in_context = in_context(dispatcher, tracker, procedure_questions=False)  # answered here
        if events_in_context is not None:
            return events_in_context
        if (intent == "inform" and next(tracker.get_latest_entity_values("locality"), None)
                and not next(tracker.get_latest_entity_values("procedure"), None)
                and not knowledge.catalogue().get(tracker.get_slot("procedure"))):
            return [FollowupAction("action_answer_locality")]  # "tôi ở Điện Bàn": where that is now
        typed = "" if text.startswith("/") else text
        asked = aspects_asked(typed)
        aspect = ASPECT_OF_INTENT.get(intent) or tracker.get_slot("procedure_aspect") or "overview"
        if intent == "inform" and asked:
            aspect = asked[0]
        events: List[Dict[Text, Any]] = [SlotSet("procedure_aspect", aspect)]
        resolution = resolve_procedure(tracker)
        catalogue = knowledge.catalogue()
        case = case_asked(typed, catalogue.get(resolution.procedure) if resolution.status == "found" else None) \
            if typed else None

        if case == "difference":
            named = knowledge.resolver().find_all_in_text(typed)
            if len(named) >= 2:
                self._difference(dispatcher, named[:3])
                return events
        if resolution.status == "ambiguous":
            buttons = [
                {"title": catalogue.get(i)["name"], "payload": payload(INTENT_OF_ASPECT[aspect], procedure=i)}
                for i in resolution.procedures[:4]
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
        warned = list(tracker.get_slot("warned") or [])
        if case and case != "difference":
            case_answer(dispatcher, entry, case, typed)
            return events
        shown = [a for a in asked if a != aspect] if len(asked) >= 2 else []
        for one in [aspect, *shown][:3]:
            warned = self.answer(dispatcher, domain, entry, one, place, warned)
        named_here = next(tracker.get_latest_entity_values("locality"), None)
        if named_here and place is not None and place.status == "one" and "agency" not in [aspect, *shown]:
            dispatcher.utter_message(text=answers.place_line(entry, place, knowledge.localities(),
                                                             knowledge.procedure_texts()))
        events.append(SlotSet("warned", warned))
        rated = list(tracker.get_slot("rated") or [])
        if aspect != "overview" and entry["id"] not in rated:
            ratings = knowledge.feedback_texts()["ratings"]
            dispatcher.utter_message(response="utter_ask_rating", buttons=[
                {"title": title, "payload": payload("rate_answer", rating=key)} for key, title in ratings.items()])
            events.append(SlotSet("rated", rated + [entry["id"]]))
        return events

    @staticmethod
    def _ask_place(dispatcher: CollectingDispatcher, place: PlaceResolution, entry: dict) -> None:
        """Who handles it first; then which commune, for that commune's own office."""
        localities = knowledge.localities()
        texts = knowledge.procedure_texts()
        dispatcher.utter_message(text=texts["agency_first"].format(name=entry["name"], agency=entry["handled_by"]["agency"])
                                 + (" " + texts["any_desk"] if entry["handled_by"]["any_desk"] else ""))
        note = answers.former_district_note(place, localities, knowledge.procedure_texts())
        buttons = [
            {"title": localities.unit(u)["name"],
             "payload": payload("ask_agency", procedure=entry["id"], locality=u)}
            for u in place.units
        ]
        split = any(r.get("split") for r in place.records)
        dispatcher.utter_message(
            response="utter_locality_split" if split else "utter_locality_choose",
            named=place_name(place), note=note, buttons=buttons,
        )

    @staticmethod
    def _difference(dispatcher: CollectingDispatcher, procedure_ids: List[str]) -> None:
        catalogue, texts = knowledge.catalogue(), knowledge.procedure_texts()
        lines = [texts["difference_line"].format(name=catalogue.get(i)["name"],
                                                  summary=catalogue.get(i).get("summary") or
                                                  catalogue.get(i)["handled_by"]["agency"])
                 for i in procedure_ids]
        dispatcher.utter_message(response="utter_procedure_difference", lines=shorten("\n".join(lines)), buttons=[
            {"title": catalogue.get(i)["name"], "payload": payload("ask_procedure", procedure=i)}
            for i in procedure_ids])

    @staticmethod
    def answer(dispatcher: CollectingDispatcher, domain: Dict[Text, Any], entry: dict, aspect: str,
               place: Optional[PlaceResolution] = None, warned: Optional[List[str]] = None,
               detailed: bool = False) -> List[str]:
        """One answer; returns the procedures warned about so far (the warning is said once)."""
        texts = knowledge.procedure_texts()
        catalogue = knowledge.catalogue()
        warned = list(warned or [])
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
            values.update(answers.documents(entry, texts, detailed))
        elif aspect == "fee":
            values.update(answers.fee(entry, texts, today()))
        elif aspect == "time":
            values.update(answers.processing_time(entry, texts))
        elif aspect == "agency":
            values.update(answers.agency(entry, texts, place, knowledge.localities(), detailed))
        elif aspect == "online":
            values.update(answers.online(entry, texts))
            if answers.can_start_online(entry):
                buttons = [{"title": texts["start_online_button"],
                            "payload": payload("start_online_service", procedure=entry["id"])}]
        if values.get("caveat") and entry["id"] in warned and not detailed:
            values["caveat"] = ""
        elif values.get("caveat"):
            warned.append(entry["id"])
        if aspect != "overview" and not detailed:
            buttons.append({"title": texts["details_button"],
                            "payload": payload("ask_details", procedure=entry["id"], aspect=aspect)})
        # Filled here from the domain's response, so that it can be cut to fit a phone.
        body = response_text(domain, RESPONSE_OF_ASPECT[aspect], **{k: v for k, v in values.items()
                                                                       if isinstance(v, str)})
        dispatcher.utter_message(text=shorten(body, 4 * MAX_CHARS if detailed else MAX_CHARS), buttons=buttons)
        return warned


class ActionProcedureDetails(Action):
    """The details button: the whole answer of one aspect, with every legal basis."""

    def name(self) -> Text:
        return "action_procedure_details"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        entry = knowledge.catalogue().get(next(tracker.get_latest_entity_values("procedure"), None)
                                          or tracker.get_slot("procedure"))
        if entry is None:
            dispatcher.utter_message(response="utter_ask_which_procedure", buttons=field_buttons())
            return []
        aspect = next(tracker.get_latest_entity_values("aspect"), None)
        if aspect in RESPONSE_OF_ASPECT and aspect != "overview":
            ActionAnswerProcedure.answer(dispatcher, domain, entry, aspect, resolve_place(tracker), detailed=True)
        dispatcher.utter_message(text=answers.legal_basis(entry, knowledge.procedure_texts()))
        return [SlotSet("procedure", entry["id"])]


def case_answer(dispatcher: CollectingDispatcher, entry: dict, case: str, text: str) -> None:
    """A case of a known procedure: the entry's own answer for it, or for exemptions its
    exemption list when it names the group asked about; otherwise an honest "no information
    for this case" with the agency, the official page and the hotline — never another case."""
    texts = knowledge.procedure_texts()
    contact = contact_values(knowledge.province())
    for item in entry.get("cases") or []:
        if item["kind"] == case:
            caveat = answers.caveat(item.get("verified", False), entry, texts)
            dispatcher.utter_message(text=shorten(texts["case_answer"].format(
                name=entry["name"], answer=item["answer"], caveat=caveat, source=item["source"])))
            return
    if case == "exemption":
        said = steering().said(text)
        group = next((g for g, words in question_words()["groups"] if said.has(words)), None)
        exemptions = entry["fee"].get("exemptions") or []
        listed = [steering().said(e) for e in exemptions]
        if group and any(e.has(steering().phrase(group)) for e in listed) or (not group and exemptions):
            dispatcher.utter_message(text=shorten(texts["case_exemptions"].format(
                name=entry["name"], fee=entry["fee"]["text"], items="; ".join(exemptions),
                caveat=answers.caveat(entry["fee"]["verified"], entry, texts))))
            return
    dispatcher.utter_message(response="utter_case_unknown", name=entry["name"],
                             agency=entry["handled_by"]["agency"], portal_url=entry["portal_url"], **{
                                 k: v for k, v in contact.items() if k != "portal_url"})


def place_name(place: PlaceResolution) -> str:
    """What the citizen named, as people say it (never an id)."""
    return place.records[0]["name"] if place.records and place.named == place.records[0]["id"] else place.named


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
