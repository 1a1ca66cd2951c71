"""Where a former commune, ward or district is now, or what a new unit was made of
(Resolution 1659/NQ-UBTVQH15). Only people's names for places are said, never ids."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot import knowledge
from bot.localities import PlaceResolution
from bot.actions.context import last_question
from bot.config import load_settings
from bot.datafiles import read_yaml
from bot.nlu.text import fold


@lru_cache(maxsize=1)
def place_texts() -> Dict[str, str]:
    return dict(read_yaml(load_settings().data_dir / "texts" / "places.yml"))


def _names(unit_ids: List[str]) -> str:
    localities = knowledge.localities()
    return ", ".join(localities.unit(u)["name"] for u in unit_ids)


def describe(record: dict) -> str:
    """One record, as a sentence: a former commune, a former district or a unit of today."""
    texts = place_texts()
    units = list(knowledge.localities().units_of(record))
    district = texts["district_part"].format(district=record["district"]) if record.get("district") else ""
    if record["kind"] == "unit":
        formed = [f["name"] for f in record.get("former_units") or []]
        if len(formed) == 1 and fold(formed[0]) == fold(record["name"]):
            return texts["unit_unchanged"].format(name=record["name"])
        return (texts["unit"] if formed else texts["unit_plain"]).format(name=record["name"], formed=", ".join(formed))
    if record["kind"] == "former_district":
        return texts["former_district"].format(name=record["name"], units=_names(units))
    if len(units) == 1:
        unit = knowledge.localities().unit(units[0])
        formed = unit.get("former_units") or []
        if len(formed) == 1 and fold(formed[0]["name"]) == fold(record["name"]) == fold(unit["name"]):
            return texts["unit_unchanged"].format(name=unit["name"])  # "xã Tam Hải": kept as it was
    if record.get("split"):
        return texts["split"].format(name=record["name"], district=district, units=_names(units))
    return texts["former_commune"].format(name=record["name"], district=district, units=_names(units))


def _narrowed(records: List[dict], others: List[dict]) -> List[dict]:
    """Records of a commune narrowed by a former district named beside it ("Bình Triều, Thăng Bình")."""
    districts = {fold(r["name"]) for r in others if r["kind"] == "former_district"}
    bare = {fold(r["name"]).split(" ", 1)[-1] for r in others if r["kind"] == "former_district"}
    kept = [r for r in records if r.get("district") and (fold(r["district"]) in districts
                                                          or fold(r["district"]).split(" ", 1)[-1] in bare)]
    return kept or records


@lru_cache(maxsize=1)
def place_markers() -> Dict[str, Any]:
    document = read_yaml(load_settings().data_dir / "lexicon" / "place_markers.yml")
    return {key: {fold(str(w)) for w in document[key]} for key in ("strict", "weak", "not_here", "not_before")}


def heard_places(tracker: Tracker) -> List[str]:
    """The places a message names. A former commune's name is also a word or a person's name
    ("bình an", "bé Minh An", "Bình Dương" the province): it counts with a marker ("xã",
    "phường"…), or after "ở"/"tại" when it is not a place outside the city, or when the
    assistant has just asked for a place. Today's units and former districts count as named."""
    message = tracker.latest_message or {}
    text = message.get("text") or ""
    entities = [e for e in message.get("entities") or [] if e.get("entity") == "locality"]
    asked = any('"locality"' in str(b.get("payload") or "") for b in last_question(tracker).get("buttons", []))
    if text.startswith("/") or asked:
        return list(dict.fromkeys(str(e["value"]) for e in entities))
    markers, localities = place_markers(), knowledge.localities()
    heard: List[str] = []
    for entity in entities:
        start, end = int(entity.get("start") or 0), int(entity.get("end") or 0)
        before = re.findall(r"\w+\.?", fold(text[:start]))
        own = re.findall(r"\w+\.?", fold(text[start:end]))
        last, last_two = (before[-1] if before else ""), " ".join(before[-2:])
        # The marker may be part of the name found ("Xã Cẩm Kim", "tt prao").
        marked = bool(own) and (own[0] in markers["strict"] or " ".join(own[:2]) in markers["strict"])
        records = localities.resolve(str(entity["value"])).records
        commune = bool(records) and all(r["kind"] in ("former_commune", "former_name") for r in records)
        if commune and last in markers["not_before"]:
            continue  # "bé Minh An", "chúc ad bình an"
        if (marked or last in markers["strict"] or last_two in markers["strict"] or not commune
                or (last in markers["weak"] and fold(str(entity.get("value"))) not in markers["not_here"]
                    and fold(text[entity["start"]:entity["end"]]) not in markers["not_here"])):
            heard.append(str(entity["value"]))
    return list(dict.fromkeys(heard))


def best_place(tracker: Tracker) -> Optional[PlaceResolution]:
    """The place of this message: of several named, the most specific, narrowed by a former
    district named beside it ("xã Bình Triều, huyện Thăng Bình"); else the one in context."""
    localities = knowledge.localities()
    named = heard_places(tracker)
    resolutions = [localities.resolve(str(n)) for n in named]
    found = [r for r in resolutions if r.records]
    if not found:
        slot = tracker.get_slot("locality")
        return localities.resolve(str(slot)) if slot else None
    order = {"former_name": 0, "former_commune": 0, "unit": 1, "former_district": 2}
    main = min(found, key=lambda r: min(order.get(x["kind"], 3) for x in r.records))
    others = [x for r in found if r is not main for x in r.records]
    records = tuple(_narrowed(list(main.records), others))
    units: List[str] = []
    for record in records:
        units += [u for u in localities.units_of(record) if u not in units]
    return PlaceResolution("one" if len(units) == 1 else "choose", tuple(units), records, main.named)


class ActionAnswerLocality(Action):
    def name(self) -> Text:
        return "action_answer_locality"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        texts = place_texts()
        localities = knowledge.localities()
        named = heard_places(tracker)
        if not named:
            dispatcher.utter_message(response="utter_locality_answer", answer=texts["no_place"])
            return []
        main = best_place(tracker)
        if main is None or not main.records:
            dispatcher.utter_message(response="utter_locality_answer",
                                     answer=texts["unknown"].format(named=display(str(named[0]))))
            return []
        records = list(main.records)
        if len(records) == 1:
            lines = [describe(records[0])]
        else:
            lines = [texts["several"].format(named=display(main.named))]
            lines += [texts["several_line"].format(line=describe(r)) for r in records[:6]]
        lines.append(texts["source"])
        dispatcher.utter_message(response="utter_locality_answer", answer="\n".join(lines))
        units = {u for r in records for u in localities.units_of(r)}
        return [SlotSet("locality", next(iter(units)))] if len(units) == 1 else []


def display(named: str) -> str:
    """What the citizen named, never an id."""
    record = knowledge.localities().records.get(named)
    return record["name"] if record else named
