"""Answers about procedures from the catalogue: overview, documents, fee, time, place, online."""

from __future__ import annotations

import datetime as dt
import json
import re
from functools import lru_cache
from urllib.parse import urlencode
from typing import Any, Dict, FrozenSet, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot import knowledge
from bot.actions.context import in_application, last_question
from bot.actions.dossiers import in_context
from bot.actions.places import best_place, heard_places, place_markers
from bot.actions.steering import Phrase, steering
from bot.actions.texts import contact_values, response_text
from bot.config import load_settings
from bot.localities import PlaceResolution
from bot.datafiles import read_yaml
from bot.nlu.text import fold
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


def named_procedures(tracker: Tracker) -> List[str]:
    """The procedures a message names, in order, without those named as a purpose ("xin giấy
    xác nhận tình trạng hôn nhân để kết hôn lại") when another is named too."""
    message = tracker.latest_message or {}
    text = message.get("text") or ""
    entities = [e for e in message.get("entities") or [] if e.get("entity") == "procedure"]
    entities.sort(key=lambda e: int(e.get("start") or 0))
    purpose = set(question_words()["purpose"])
    kept = [e for e in entities
            if not set(fold(text[: int(e.get("start") or 0)]).split()[-1:]) & purpose]
    return list(dict.fromkeys(str(e["value"]) for e in (kept or entities)))


@lru_cache(maxsize=1)
def outside_words() -> FrozenSet[Phrase]:
    document = read_yaml(load_settings().data_dir / "lexicon" / "outside_catalogue.yml")
    return steering().phrases(document["words"])


def outside_catalogue(resolution: Resolution, text: str) -> Resolution:
    """A match that shares only a verb with the question ("sang tên xe máy" → not the land
    transfer): unknown, so the honest answer is given instead of another procedure's facts."""
    if resolution.status != "found" or resolution.procedure is None or not text:
        return resolution
    entry = knowledge.catalogue().procedures[resolution.procedure]  # a procedure found is in the catalogue
    own = steering().said(" ".join([entry["name"], *entry["aliases"]]))
    said = steering().said(text)
    names = set(own.folded)
    foreign = [p for p in outside_words() if said.has(p) and not own.has(p) and not set(p.folded) <= names]
    return Resolution("unknown", named=resolution.named) if foreign else resolution


def resolve_procedure(tracker: Tracker) -> Resolution:
    """The procedure of this message, never one that shares only a word with it: a longer
    name of the directory wins over the catalogue name inside it."""
    text = tracker.latest_message.get("text") or ""
    typed = "" if text.startswith("/") else text
    resolution = outside_catalogue(_resolve_procedure(tracker), typed)
    if resolution.status == "found" and resolution.procedure is not None and typed:
        return knowledge.resolver().longer_listed_name(typed, resolution.procedure) or resolution
    return resolution


def new_topic(text: str, entry: Optional[dict]) -> bool:
    """A message that asks for a procedure ("giấy phép", "thủ tục", "đăng ký" …) about something
    the procedure in context never mentions: a new question, not a follow-up."""
    if not text or entry is None:
        return False
    said = steering().said(text)
    markers = question_words()["new_topic"]
    if not said.has_any(markers):
        return False
    marker_words = {w for phrase in markers for w in phrase.folded}
    known = {w for surface in [entry["name"], *entry["aliases"]] for w in steering().phrase(surface).folded}
    if "documents" in entry:
        known |= {w for line in entry_lines(entry) for w in steering().said(line).folded}
    return len({w for w in own_words(text, entry) if w not in known and w not in marker_words}) >= SITUATION_WORDS


def acting_on_a_paper(tracker: Tracker, found: List[Resolution]) -> Optional[Resolution]:
    """A certification named right before another procedure's paper ("chứng thực giấy khai
    sinh", "photo công chứng cccd"): the certification is what is asked. Anywhere else in the
    message ("đã công chứng hợp đồng rồi, giờ sang tên sổ đỏ") it only sets the scene."""
    text = tracker.latest_message.get("text") or ""
    entities = sorted((e for e in tracker.latest_message.get("entities") or [] if e.get("entity") == "procedure"),
                      key=lambda e: int(e.get("start") or 0))
    catalogue = knowledge.catalogue()
    for first, second in zip(entities, entities[1:]):
        entry = catalogue.get(str(first["value"]))
        gap = text[int(first.get("end") or 0): int(second.get("start") or 0)].split()
        if entry and catalogue.fields[entry["field"]].acts_on_papers and len(gap) <= 1:
            return next((r for r in found if r.procedure == entry["id"]), None)
    return None


def _resolve_procedure(tracker: Tracker) -> Resolution:
    """The procedure of this message: a named one replaces the one in context. A button's
    payload names its procedure as an entity; its text is never searched."""
    resolver = knowledge.resolver()
    # Several named: the last one is asked about; the first ones set the scene ("chưa đăng ký
    # kết hôn, giờ làm khai sinh cho con…").
    text = tracker.latest_message.get("text") or ""
    in_context = tracker.get_slot("procedure")
    known = bool(in_context and knowledge.catalogue().get(in_context))
    named = named_procedures(tracker)
    typed = "" if text.startswith("/") else text
    if not named and resolver.is_listed(in_context):
        found = resolver.find_in_text(typed)
        if found.status in ("found", "directory") or new_topic(typed, knowledge.directory().get(in_context)):
            return found
        # A follow-up about a procedure of the directory: still that one, never the one before it.
        return Resolution("directory", (in_context,))
    if named:
        typed = "" if text.startswith("/") else text
        resolutions = [resolver.narrowed(resolver.resolve(n), typed) for n in named]
        matched = [r for r in resolutions if r.status in ("found", "directory")]
        on_papers = acting_on_a_paper(tracker, matched)
        if on_papers is not None:
            return on_papers  # "photo công chứng cccd": the copy is asked, not the card
        if matched:
            return matched[-1]  # a whole name before a shared word ("thành lập công ty … giấy phép")
        if known and resolutions[-1].status == "ambiguous":
            return Resolution("found", (in_context,), named=in_context)  # "… có giấy phép": the topic
        return resolutions[-1]
    found = resolver.find_in_text(typed, prefixes=not known)
    if found.status in ("found", "directory") or (found.status == "ambiguous" and not known):
        return found
    if known and new_topic(typed, knowledge.catalogue().get(in_context)):
        # "còn xin giấy phép nuôi chim yến thì sao": another procedure, not the topic's facts.
        fresh = resolver.find_in_text(typed)
        return fresh if fresh.status != "none" else Resolution("unknown", named=typed)
    if known:
        # A follow-up; a shared word ("giấy phép", "đăng ký") does not replace the topic.
        return Resolution("found", (in_context,), named=in_context)
    return found


UNMATCHED = "?"  # the unmet_procedure slot's value when nothing matched the citizen's words


BUTTON_CHARS = 60  # a button a phone shows on one or two lines


def title_of(procedure_id: str) -> str:
    """A procedure's name for a button, cut at a word when it is long (official names can
    run to two hundred characters)."""
    # The ids offered (candidates, suggestions, a field's procedures) are in one or the other.
    entry = knowledge.catalogue().get(procedure_id) or knowledge.directory().entries[procedure_id]
    name = entry["name"]
    if len(name) <= BUTTON_CHARS:
        return name
    return name[: BUTTON_CHARS - 1].rsplit(" ", 1)[0].rstrip(",;:(") + "…"


def search_url(words: str) -> str:
    """The national portal's procedure search for the citizen's own words (or a code)."""
    search = knowledge.province()["procedure_search"]
    return f"{search['url']}?{urlencode({search['query_parameter']: words.strip()[:80]})}"


def directory_answer(dispatcher: CollectingDispatcher, entry_id: str) -> None:
    """A procedure of the directory: who handles it, the official page, the hotline."""
    entry = knowledge.directory().entries[entry_id]  # callers have checked it is listed
    texts = knowledge.procedure_texts()
    contact = contact_values(knowledge.province())
    dispatcher.utter_message(
        response="utter_procedure_in_directory", name=entry["name"],
        code_part=texts["code"].format(code=entry["code"]) if entry.get("code") else "",
        agency=entry["agency"], guide_url=entry.get("url") or search_url(entry.get("code") or entry["name"]),
        hotline=contact["hotline"], hotline_name=contact["hotline_name"])


def resolve_place(tracker: Tracker) -> Optional[PlaceResolution]:
    return best_place(tracker)


def field_buttons() -> List[Dict[str, str]]:
    return [
        {"title": field.name, "payload": payload("browse_procedures", field=field.id)}
        for field in knowledge.catalogue().fields.values()
    ]


MAX_CHARS = 600  # an answer a phone shows at once; the rest behind the details button
PART_LINE = 60   # room enough to show the beginning of a long line
_MARK = "\x00"    # where the kept tail (warning, legal basis) begins in a filled response


@lru_cache(maxsize=1)
def question_words() -> Dict[str, Any]:
    lexicon = steering()
    document = read_yaml(load_settings().data_dir / "lexicon" / "questions.yml")
    return {
        "aspects": {a: lexicon.phrases(ps) for a, ps in document["aspects"].items()},
        "cases": {c: lexicon.phrases(ps) for c, ps in document["cases"].items()},
        "groups": [(str(g), lexicon.phrase(str(g))) for g in document["groups"]],
        "yes_no": lexicon.phrases(document["yes_no"]),
        "online_help": lexicon.phrases(document["online_help"]),
        "new_topic": lexicon.phrases(document["new_topic"]),
        "purpose": {fold(str(w)) for w in document["purpose"]},
        "fillers": {w for item in [*document["fillers"], *read_yaml(
            load_settings().data_dir / "lexicon" / "generic_words.yml")["words"]] for w in lexicon.phrase(str(item)).folded},
    }


def without_names(tracker: Tracker, text: str) -> str:
    """The message without the procedure names in it: "mai táng phí" names a procedure, it does
    not ask for a fee."""
    spans = sorted(((int(e.get("start") or 0), int(e.get("end") or 0))
                    for e in tracker.latest_message.get("entities") or [] if e.get("entity") == "procedure"),
                   reverse=True)
    for start, end in spans:
        if 0 <= start < end <= len(text):
            text = text[:start] + " " + text[end:]
    return text


def aspects_asked(text: str, case: Optional[str] = None) -> List[str]:
    """Every aspect a message asks about, in the catalogue's order ("lệ phí bao nhiêu, mất mấy
    ngày"); words of a case ("có giá trị bao lâu") do not ask an aspect too."""
    said = steering().said(text)
    if case in question_words()["cases"]:
        said = said.without(sorted(question_words()["cases"][case], key=lambda p: -len(p.folded)))
    return [a for a, phrases in question_words()["aspects"].items() if said.has_any(phrases)]


SITUATION_WORDS = 2  # words of its own that make a yes/no question a case of the citizen's


def case_asked(text: str, named: Optional[dict] = None) -> Optional[str]:
    """The kind of case a question asks about; "other" for a yes/no question about the citizen's
    own situation that no kind names; None for a plain question about the procedure."""
    said = steering().said(text)
    if named is not None:  # "làm mất sổ đỏ" names the reissue: its "mất" is no case of it
        said = said.without(sorted(steering().phrases([named["name"], *named["aliases"]]), key=lambda p: -len(p.folded)))
    found = next((c for c, phrases in question_words()["cases"].items() if said.has_any(phrases)), None)
    if found or not said.has_any(question_words()["yes_no"]):
        return found
    return "other" if len(set(own_words(text, named))) >= SITUATION_WORDS else None


def shorten(text: str, limit: int = MAX_CHARS) -> str:
    """At most `limit` characters, cut at a line; the cut is said."""
    if len(text) <= limit:
        return text
    marker = knowledge.procedure_texts()["truncated"]
    kept: List[str] = []
    for line in text.split("\n"):
        room = limit - len("\n".join(kept)) - len(marker) - 2
        if len(line) + 1 > room:
            if room >= PART_LINE:  # a long line is cut at a word rather than dropped whole
                kept.append(line[:room].rsplit(" ", 1)[0].rstrip(",;:"))
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
        if (intent == "inform" and heard_places(tracker)
                and not next(tracker.get_latest_entity_values("procedure"), None)
                and not knowledge.catalogue().get(tracker.get_slot("procedure"))):
            return [FollowupAction("action_answer_locality")]  # "tôi ở Điện Bàn": where that is now
        typed = "" if text.startswith("/") else text
        asked = aspects_asked(without_names(tracker, typed))
        named_nothing = intent == "inform" and typed and not asked and not named_procedures(tracker)
        if named_nothing and heard_places(tracker):
            asked = ["agency"]  # "tôi ở xã Tam Thanh" after a question: where to go from there
        elif named_nothing:
            name = steering().name_in(typed)
            if name and last_question(tracker).get("response") == "utter_confirm_start_online":
                # The name typed instead of "yes": the application starts with it.
                return [SlotSet("applicant_name", name), FollowupAction("online_application_form")]
            dispatcher.utter_message(response="utter_affirm_ack")  # nothing asked: not the last answer again
            return []
        aspect = ASPECT_OF_INTENT.get(intent) or tracker.get_slot("procedure_aspect") or "overview"
        if asked and (intent == "inform" or intent not in ASPECT_OF_INTENT):
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
                {"title": title_of(i), "payload": payload(INTENT_OF_ASPECT[aspect], procedure=i)}
                for i in resolution.procedures[:4]
            ]
            dispatcher.utter_message(response="utter_procedure_ambiguous", buttons=buttons)
            return events
        if resolution.status == "directory" and resolution.procedure is not None:
            directory_answer(dispatcher, resolution.procedure)
            return events + [SlotSet("procedure", resolution.procedure),
                             SlotSet("unmet_procedure", resolution.procedure)]
        if resolution.status == "unknown" and not resolution.suggestions:
            dispatcher.utter_message(response="utter_procedure_not_in_catalogue",
                                     search_url=search_url(typed.strip(" ?.!")),
                                     **contact_values(knowledge.province()))
            return events + [SlotSet("unmet_procedure", UNMATCHED)]
        if resolution.status == "unknown":
            texts = knowledge.procedure_texts()
            buttons = [
                {"title": title_of(i), "payload": payload(INTENT_OF_ASPECT[aspect], procedure=i)}
                for i in resolution.suggestions
            ] + [{"title": texts["browse_button"], "payload": payload("browse_procedures")}]
            dispatcher.utter_message(response="utter_procedure_not_found", buttons=buttons)
            return events
        if resolution.status != "found" or resolution.procedure is None:
            if aspect == "online":
                dispatcher.utter_message(response="utter_online_levels")
            else:
                dispatcher.utter_message(response="utter_ask_which_procedure", buttons=field_buttons())
            return events

        entry = catalogue.procedures[resolution.procedure]  # a procedure found is in the catalogue
        if (last_question(tracker).get("response") == "utter_ask_which_procedure_online" and not asked
                and intent in ("ask_procedure", "inform")):
            return [FollowupAction("action_start_online_service")]  # "nộp online giúp tôi" … "khai sinh"
        events.append(SlotSet("procedure", entry["id"]))
        record(tracker, "online_guidance" if aspect == "online" else "procedure_viewed", entry["id"])
        place = resolve_place(tracker)
        if aspect == "agency" and place is not None and place.status == "choose":
            warned = list(tracker.get_slot("warned") or [])
            for one in [a for a in asked if a != "agency"][:2]:  # "ở đâu, mấy ngày có": the days too
                warned = self.answer(dispatcher, domain, entry, one, None, warned)
            self._ask_place(dispatcher, place, entry)
            return events + [SlotSet("warned", warned)]
        warned = list(tracker.get_slot("warned") or [])
        if case and case != "difference":
            asked = aspects_asked(typed, case)
            if case in ("late", "exemption"):
                asked = [a for a in asked if a != "fee"]  # "bị phạt bao nhiêu": the fine, not the fee
            # A case beside plain questions ("mất cccd rồi, làm lại cần gì, phí bao nhiêu"):
            # the plain questions are answered; the case too when it is asked as a question or
            # the catalogue has its answer ("người khuyết tật có mất phí không, cần mang gì").
            said = steering().said(typed)
            if not asked or said.has_any(question_words()["yes_no"]) or has_case_answer(entry, case, typed):
                case_answer(dispatcher, entry, case, typed)
                asked = [a for a in asked if not (case == "exemption" and a == "fee")]
                if not asked:
                    return events
            aspect = asked[0]
        shown = [a for a in asked if a != aspect] if len(asked) >= 2 else []
        for one in [aspect, *shown][:3]:
            warned = self.answer(dispatcher, domain, entry, one, place, warned)
        named_here = heard_places(tracker)
        if named_here and place is not None and place.status == "one" and "agency" not in [aspect, *shown]:
            dispatcher.utter_message(text=answers.place_line(entry, place, knowledge.localities(),
                                                             knowledge.procedure_texts()))
        events.append(SlotSet("warned", warned))
        rated = list(tracker.get_slot("rated") or [])
        if aspect != "overview" and entry["id"] not in rated and not in_application(tracker):
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
        # The ids find_all_in_text gives are the catalogue's.
        lines = [texts["difference_line"].format(name=catalogue.procedures[i]["name"],
                                                  summary=catalogue.procedures[i].get("summary") or
                                                  catalogue.procedures[i]["handled_by"]["agency"])
                 for i in procedure_ids]
        dispatcher.utter_message(response="utter_procedure_difference", lines=shorten("\n".join(lines)), buttons=[
            {"title": title_of(i), "payload": payload("ask_procedure", procedure=i)}
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
        # Filled here from the domain's response, so that it can be cut to fit a phone; the
        # one line of legal basis and date stays under whatever is cut.
        # The warning and the line of legal basis stay whole under whatever is cut.
        notes = answers.caveat_lines(entry, aspect, texts, today())
        kept = {"caveat": values.get("caveat") or "", "source": values.get("source") or ""}
        full = response_text(domain, RESPONSE_OF_ASPECT[aspect],
                             **{k: v for k, v in values.items() if isinstance(v, str) and k not in kept},
                             **{k: _MARK + k for k in kept})
        head, mark, rest = full.partition(_MARK)
        head = head.rstrip("\n") + ("\n" + notes if notes else "")  # caveats after the answer, cut first
        tail = (mark + rest).replace(_MARK + "caveat", kept["caveat"]).replace(_MARK + "source", kept["source"])
        limit = (4 * MAX_CHARS if detailed else MAX_CHARS) - len(tail) - 1
        dispatcher.utter_message(text=shorten(head.rstrip("\n"), limit) + "\n" + tail, buttons=buttons)
        return warned


class ActionProcedureDetails(Action):
    """The details button: the whole answer of one aspect, with every legal basis."""

    def name(self) -> Text:
        return "action_procedure_details"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        named = next(tracker.get_latest_entity_values("procedure"), None) or tracker.get_slot("procedure")
        entry = knowledge.catalogue().get(named)
        if entry is None and knowledge.resolver().is_listed(named):
            directory_answer(dispatcher, named)
            return []
        if entry is None:
            dispatcher.utter_message(response="utter_ask_which_procedure", buttons=field_buttons())
            return []
        aspect = next(tracker.get_latest_entity_values("aspect"), None)
        if aspect in RESPONSE_OF_ASPECT and aspect != "overview":
            ActionAnswerProcedure.answer(dispatcher, domain, entry, aspect, resolve_place(tracker), detailed=True)
        dispatcher.utter_message(text=answers.legal_basis(entry, knowledge.procedure_texts()))
        return [SlotSet("procedure", entry["id"])]


def own_words(text: str, entry: Optional[dict]) -> List[str]:
    """The words of a question that describe the citizen's situation: not fillers, not the
    procedure's names, not aspect words."""
    ignored = set(question_words()["fillers"])
    if entry is not None:
        for surface in [entry["name"], *entry["aliases"]]:
            ignored |= set(steering().phrase(surface).folded)
    for phrases in question_words()["aspects"].values():
        for phrase in phrases:
            ignored |= set(phrase.folded)
    return [w for w in steering().said(text).folded if w not in ignored and not w.isdigit()]


def entry_lines(entry: dict) -> List[str]:
    """Every line of an entry a citizen may be asking about: its papers and their notes, its
    fee and exemptions, its time, its citizen-facing caveats."""
    lines = [" ".join(filter(None, [d.get("name"), d.get("note")])) for d in entry.get("documents") or []]
    lines += [entry["fee"].get("text") or "", *(entry["fee"].get("exemptions") or [])]
    lines += [entry["processing_time"].get("text") or "", entry["handled_by"].get("note") or ""]
    lines += [caveat["text"] for caveat in entry.get("caveats") or []]
    lines += [sentence.strip() + ("" if sentence.strip().endswith(".") else ".")
              for sentence in re.split(r"(?<=[.;])\s+(?=[A-ZĐÀ-Ỹ])", entry.get("notes") or "")]
    return [line for line in lines if line and line != "."]


def lines_about(entry: dict, text: str) -> List[str]:
    """The entry's lines that share two consecutive words of the citizen's own with the
    question ("có cần khám sức khỏe không" → the health-certificate paper)."""
    names = {w for surface in [entry["name"], *entry["aliases"]] for w in steering().phrase(surface).folded}
    words = steering().said(text).folded
    plain = question_words()["fillers"] | names
    pairs = {(a, b) for a, b in zip(words, words[1:]) if not (a in plain and b in plain)}
    scored = []
    for line in entry_lines(entry):
        folded = steering().said(line).folded
        scored.append((len(pairs & set(zip(folded, folded[1:]))), line))
    best = max((score for score, _ in scored), default=0)
    return [line for score, line in scored if best and score == best][:3]


def has_case_answer(entry: dict, case: str, text: str) -> bool:
    return any(item["kind"] == case for item in entry.get("cases") or []) or bool(lines_about(entry, text))


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
    lines = lines_about(entry, text)
    if lines and case in ("other", "lost", "validity", "proxy"):
        dispatcher.utter_message(text=shorten(texts["case_lines"].format(
            name=entry["name"], lines="\n".join(f"• {line}" for line in lines),
            caveat=answers.caveat(entry["verified"], entry, texts))))
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
    """What the citizen named, as people say it (never an id): "xa tam thanh" → "Tam Thanh"."""
    if place.records and place.named == place.records[0]["id"]:
        return place.records[0]["name"]
    words = place.named.split()
    markers = place_markers()["strict"]
    while len(words) > 1 and (fold(words[0]).lower() in markers or fold(" ".join(words[:2])).lower() in markers):
        words = words[2:] if fold(" ".join(words[:2])).lower() in markers else words[1:]
    named = " ".join(words)
    return named.title() if named == named.lower() else named


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
            {"title": title_of(i), "payload": payload("ask_procedure", procedure=i)}
            for i in field.procedure_ids
        ]
        dispatcher.utter_message(response="utter_browse_field", field_name=field.name, buttons=buttons)
        return []
