"""Turning a catalogue entry into the values of an answer template.

Pure functions: the entry, the texts of data/texts/procedures.yml and today's date in,
template values out. Every answer carries its source line; an unverified fact carries
the warning; time-limited facts are said only while they are in force.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, List, Optional

from bot.localities import Localities, PlaceResolution
from bot.procedures.catalogue import current_temporary_facts


def _date(iso: str) -> str:
    return dt.date.fromisoformat(iso).strftime("%d/%m/%Y")


def common(entry: Dict[str, Any], texts: Dict[str, Any], field_name: str) -> Dict[str, str]:
    code = texts["code"].format(code=entry["code"]) if entry.get("code") else ""
    return {
        "name": entry["name"],
        "code_part": code,
        "field_name": field_name,
        "portal_url": entry["portal_url"],
        "source": source_line(entry, texts),
    }


def source_line(entry: Dict[str, Any], texts: Dict[str, Any]) -> str:
    """One line: the first legal basis, how many more, the date of the facts."""
    basis = entry["legal_basis"]
    more = texts["more_basis"].format(count=len(basis) - 1) if len(basis) > 1 else ""
    return texts["source"].format(first=basis[0], more=more, as_of=_date(entry["as_of"]))


def legal_basis(entry: Dict[str, Any], texts: Dict[str, Any]) -> str:
    lines = [texts["basis_line"].format(item=item) for item in entry["legal_basis"]]
    return texts["basis_full"].format(name=entry["name"], items="\n".join(lines), as_of=_date(entry["as_of"]),
                                      portal_url=entry["portal_url"])


def caveat(verified: bool, entry: Dict[str, Any], texts: Dict[str, Any]) -> str:
    return "" if verified else texts["unverified"].format(portal_url=entry["portal_url"]) + "\n"


def in_force(fact: Dict[str, Any], today: dt.date) -> bool:
    start, end = fact.get("valid_from"), fact.get("valid_until")
    return (not start or dt.date.fromisoformat(start) <= today) and (not end or today <= dt.date.fromisoformat(end))


def caveat_lines(entry: Dict[str, Any], aspect: str, texts: Dict[str, Any], today: dt.date) -> str:
    """What a citizen must know beside this aspect's answer, while in force; one line each."""
    lines = [texts["caveat_line" if item["verified"] else "caveat_line_unverified"].format(text=item["text"])
             for item in entry.get("caveats") or [] if item["aspect"] == aspect and in_force(item, today)]
    return "".join(line + "\n" for line in lines)


def documents(entry: Dict[str, Any], texts: Dict[str, Any], detailed: bool = False) -> Dict[str, Any]:
    """The papers, one line each; their notes (special cases) only in the detailed answer."""
    lines = []
    for item in entry["documents"]:
        count = texts["document_count"].format(count=item["count"]) if item.get("count") else ""
        lines.append(
            texts["document_line"].format(
                name=item["name"],
                form=texts["document_forms"][item["form"]],
                count=f", {count}" if count else "",
                note=f": {item['note']}" if detailed and item.get("note") else "",
            )
        )
    listed = "\n".join(lines) or texts["no_documents"].format(portal_url=entry["portal_url"])
    return {"documents": listed, "caveat": caveat(entry["documents_verified"], entry, texts),
            "has_details": any(bool(item.get("note")) for item in entry["documents"])}


def fee(entry: Dict[str, Any], texts: Dict[str, Any], today: dt.date) -> Dict[str, str]:
    facts = entry["fee"]
    parts = [facts["text"]]
    temporary = current_temporary_facts(facts, today)
    parts += [fact["text"] for fact in temporary]
    if facts.get("exemptions"):
        parts.append(texts["exemptions"].format(items="; ".join(facts["exemptions"])))
    verified = facts["verified"] and all(fact["verified"] for fact in temporary)
    return {"fee": "\n".join(parts), "caveat": caveat(verified, entry, texts)}


def processing_time(entry: Dict[str, Any], texts: Dict[str, Any]) -> Dict[str, str]:
    facts = entry["processing_time"]
    return {"time": facts["text"], "caveat": caveat(facts["verified"], entry, texts)}


def online(entry: Dict[str, Any], texts: Dict[str, Any]) -> Dict[str, str]:
    facts = entry["online"]
    label = texts["online_levels"][facts["level"]]
    if facts.get("old_level") in (3, 4):
        label += f" ({texts['old_levels'][facts['old_level']]})"
    return {"online_label": label, "how": facts["how"], "caveat": caveat(facts["verified"], entry, texts)}


def can_start_online(entry: Dict[str, Any]) -> bool:
    return entry["online"]["level"] in ("toan_trinh", "mot_phan", "co_truc_tuyen")


def agency(
    entry: Dict[str, Any],
    texts: Dict[str, Any],
    place: Optional[PlaceResolution] = None,
    localities: Optional[Localities] = None,
    detailed: bool = False,
) -> Dict[str, str]:
    handled = entry["handled_by"]
    lines: List[str] = [texts["any_desk"] if handled["any_desk"] else texts["own_desk"]]
    if detailed:
        if handled.get("note"):
            lines.append(handled["note"])
        lines += [
            texts["channels"][s["channel"]] + (f": {s['note']}" if s.get("note") else "")
            for s in entry["submit"]
        ]
    if place is not None and place.status == "one" and localities is not None:
        unit = localities.unit(place.units[0])
        for record in place.records:
            if record["kind"] != "unit":
                lines.append(texts["former_place"].format(former=record["name"], unit=unit["name"]))
        template = texts["unit_desk"].get(handled["level"], texts["unit_desk"]["other"])
        lines.append(template.format(unit=unit["name"], agency=handled["agency"]))
    return {
        "agency": handled["agency"],
        "details": "\n".join(lines),
        "caveat": caveat(handled["verified"], entry, texts),
    }


def place_line(entry: Dict[str, Any], place: PlaceResolution, localities: Localities,
               texts: Dict[str, Any]) -> str:
    """For a citizen who named their place: what it is now and that unit's office."""
    unit = localities.unit(place.units[0])
    lines = [texts["former_place"].format(former=r["name"], unit=unit["name"]) for r in place.records
             if r["kind"] != "unit"]
    template = texts["unit_desk"].get(entry["handled_by"]["level"], texts["unit_desk"]["other"])
    lines.append(template.format(unit=unit["name"], agency=entry["handled_by"]["agency"]))
    return "\n".join(lines)


def former_district_note(place: PlaceResolution, localities: Localities, texts: Dict[str, Any]) -> str:
    """'Cấp huyện không còn…' when a former district was named."""
    notes = []
    for record in place.records:
        if record["kind"] == "former_district":
            units = ", ".join(localities.unit(u)["name"] for u in record.get("new_units") or [])
            notes.append(texts["former_district"].format(former=record["name"], units=units))
    return "\n".join(notes)
