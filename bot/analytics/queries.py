"""Every aggregate the staff app shows, for a date range and a channel.

Filters are bound parameters, never text in the SQL. A "conversation" in a daily count is
one citizen (sender id) on one local day; "citizens" are distinct sender ids in the range.
Tables of the analytics carry their local day; the app's own tables (funnel, offline
reasons, ratings) are filtered on their UTC timestamps between the range's local midnights.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from sqlalchemy import and_, case, delete, distinct, func, insert, select, update
from sqlalchemy.engine import Engine

from bot.analytics.ingest import LOOKUP_OUTCOMES
from bot.clock import LOCAL_TZ, now
from bot.privacy import MASK
from bot.analytics.models import TARGET_SCOPES, conversations, handoffs, lookups, messages, targets, unmet
from bot.nlu.text import fold
from bot.store.models import FUNNEL_STAGES, OFFLINE_REASONS, RATINGS, answer_ratings, funnel_events, lookup_locks, offline_reasons

DEFAULT_DAYS = 30
MAX_RANGE_DAYS = 3 * 366
_CHANNEL = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
GROUPINGS = ("procedure", "field", "locality")
UNKNOWN_PLACE = "Không rõ địa bàn"
FORMER_PLACE = "{name} (cũ)"
UNKNOWN_FIELD = "Không rõ lĩnh vực"
UNKNOWN_PROCEDURE = "Không rõ thủ tục"


# -- filters --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Filters:
    start: dt.date
    end: dt.date
    channel: Optional[str] = None

    @property
    def start_utc(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time(), LOCAL_TZ).astimezone(dt.timezone.utc)

    @property
    def end_utc(self) -> dt.datetime:
        """Exclusive: the local midnight after the last day."""
        return dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(), LOCAL_TZ).astimezone(dt.timezone.utc)

    def as_query(self) -> Dict[str, str]:
        query = {"start": self.start.isoformat(), "end": self.end.isoformat()}
        if self.channel:
            query["channel"] = self.channel
        return query


def today() -> dt.date:
    return dt.datetime.now(LOCAL_TZ).date()


def parse_filters(start: Optional[str], end: Optional[str], channel: Optional[str],
                  on: Optional[dt.date] = None) -> Tuple[Filters, List[str]]:
    """Filters from a query string; what cannot be read is replaced by the default and named."""
    problems: List[str] = []
    last = on or today()

    def day(raw: Optional[str], name: str) -> Optional[dt.date]:
        if not raw:
            return None
        try:
            return dt.date.fromisoformat(raw.strip())
        except ValueError:
            problems.append(name)
            return None

    end_day = day(end, "end") or last
    start_day = day(start, "start") or end_day - dt.timedelta(days=DEFAULT_DAYS - 1)
    if start_day > end_day:
        start_day, end_day = end_day, start_day
        problems.append("order")
    if (end_day - start_day).days > MAX_RANGE_DAYS:
        start_day = end_day - dt.timedelta(days=MAX_RANGE_DAYS)
        problems.append("range")
    chosen = (channel or "").strip() or None
    if chosen and not _CHANNEL.match(chosen):
        problems.append("channel")
        chosen = None
    return Filters(start_day, end_day, chosen), problems


def _by_day(table, f: Filters) -> list:
    conditions = [table.c.day >= f.start, table.c.day <= f.end]
    if f.channel:
        conditions.append(table.c.channel == f.channel)
    return conditions


def _by_time(table, f: Filters) -> list:
    conditions = [table.c.at >= f.start_utc, table.c.at < f.end_utc]
    if f.channel:
        conditions.append(table.c.channel == f.channel)
    return conditions


def _days(f: Filters) -> List[dt.date]:
    return [f.start + dt.timedelta(days=n) for n in range((f.end - f.start).days + 1)]


def _as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def _share(part: float, whole: float) -> Optional[float]:
    return round(part / whole, 4) if whole else None


# -- names of procedures, fields and places -------------------------------------------------

class Names:
    """Display names from the catalogue and the localities; raw ids when unknown."""

    def __init__(self) -> None:
        from bot import knowledge

        try:
            self.catalogue = knowledge.catalogue()
        except Exception:  # noqa: BLE001 - names are a nicety; ids still tell the story
            self.catalogue = None
        try:
            self.places = knowledge.localities()
        except Exception:  # noqa: BLE001
            self.places = None
        try:
            self.directory = knowledge.directory()
        except Exception:  # noqa: BLE001
            self.directory = None

    def entry(self, procedure_id: Optional[str]) -> Optional[Dict[str, Any]]:
        entry = self.catalogue.get(procedure_id) if self.catalogue else None
        if entry is None and self.directory is not None:
            entry = self.directory.get(procedure_id)
        return entry

    def procedure(self, procedure_id: Optional[str]) -> str:
        entry = self.entry(procedure_id)
        return entry["name"] if entry else (procedure_id or "")

    def listed(self, procedure_id: Optional[str]) -> Optional[Dict[str, Any]]:
        return self.directory.get(procedure_id) if self.directory is not None else None

    def field_of(self, procedure_id: Optional[str]) -> Optional[str]:
        entry = self.catalogue.get(procedure_id) if self.catalogue else None
        return entry["field"] if entry else None

    def field(self, field_id: Optional[str]) -> str:
        if self.catalogue and field_id in self.catalogue.fields:
            return self.catalogue.fields[field_id].name
        return field_id or ""

    def fields(self) -> List[str]:
        return list(self.catalogue.fields) if self.catalogue else []

    def locality(self, value: Optional[str]) -> Tuple[str, str]:
        """(key, name) of a stored place: today's unit, "… (cũ)" for a former district or
        commune the citizen named, UNKNOWN_PLACE when none (older rows hold the words typed)."""
        key = self.places.place_key(value) if self.places is not None and value else None
        if key is None:
            return "", UNKNOWN_PLACE
        record = self.places.records[key]
        return key, (FORMER_PLACE.format(name=record["name"]) if self.places.is_former(key) else record["name"])

    def units(self) -> List[Tuple[str, str]]:
        """Today's units (key, name), in the order of the data file."""
        if self.places is None:
            return []
        return [(k, r["name"]) for k, r in self.places.records.items() if r["kind"] == "unit"]


_names: Optional[Names] = None


def names() -> Names:
    global _names
    if _names is None:
        _names = Names()
    return _names


# -- overview -------------------------------------------------------------------------------

def channels(engine: Engine) -> List[str]:
    with engine.connect() as connection:
        return [c for c in connection.execute(
            select(distinct(conversations.c.channel)).where(conversations.c.channel.isnot(None))
            .order_by(conversations.c.channel)).scalars()]


def overview(engine: Engine, f: Filters) -> Dict[str, Any]:
    user = [messages.c.actor == "user", *_by_day(messages, f)]
    with engine.connect() as connection:
        per_day = [dict(row) for row in connection.execute(
            select(messages.c.day, messages.c.channel,
                   func.count(distinct(messages.c.conversation_id)).label("conversations"),
                   func.count().label("messages"))
            .where(and_(*user)).group_by(messages.c.day, messages.c.channel)
            .order_by(messages.c.day, messages.c.channel)).mappings()]
        citizens = connection.execute(
            select(func.count(distinct(messages.c.sender_id))).where(and_(*user))).scalar_one()
        per_channel = [dict(row) for row in connection.execute(
            select(messages.c.channel, func.count(distinct(messages.c.sender_id)).label("citizens"),
                   func.count().label("messages"))
            .where(and_(*user)).group_by(messages.c.channel).order_by(messages.c.channel)).mappings()]
    for row in per_day:
        row["day"] = _as_date(row["day"])
        row["channel"] = row["channel"] or ""
    for row in per_channel:
        row["channel"] = row["channel"] or ""
    return {
        "per_day": per_day,
        "per_channel": per_channel,
        "days": _days(f),
        "totals": {"conversations": sum(r["conversations"] for r in per_day),
                   "messages": sum(r["messages"] for r in per_day),
                   "citizens": citizens},
    }


# -- what citizens ask ----------------------------------------------------------------------

def top_intents(engine: Engine, f: Filters, limit: int = 100) -> List[Dict[str, Any]]:
    with engine.connect() as connection:
        rows = [dict(row) for row in connection.execute(
            select(messages.c.intent, func.count().label("messages"),
                   func.count(distinct(messages.c.sender_id)).label("citizens"),
                   func.avg(messages.c.confidence).label("confidence"))
            .where(and_(messages.c.actor == "user", *_by_day(messages, f)))
            .group_by(messages.c.intent).order_by(func.count().desc(), messages.c.intent)
            .limit(limit)).mappings()]
    total = sum(row["messages"] for row in rows)
    for row in rows:
        row["intent"] = row["intent"] or ""
        row["share"] = _share(row["messages"], total)
        row["confidence"] = round(float(row["confidence"]), 3) if row["confidence"] is not None else None
    return rows


def top_procedures(engine: Engine, f: Filters, limit: int = 100) -> List[Dict[str, Any]]:
    with engine.connect() as connection:
        rows = [dict(row) for row in connection.execute(
            select(messages.c.procedure, func.count().label("messages"),
                   func.count(distinct(messages.c.sender_id)).label("citizens"))
            .where(and_(messages.c.actor == "user", messages.c.procedure.isnot(None), *_by_day(messages, f)))
            .group_by(messages.c.procedure).order_by(func.count().desc(), messages.c.procedure)
            .limit(limit)).mappings()]
    known = names()
    out = []
    for row in rows:
        entry = known.entry(row["procedure"])
        if entry is None:
            continue  # words an older version stored as a procedure ("giấy phép")
        out.append({**row, "name": entry["name"], "field": known.field(known.field_of(row["procedure"])),
                    "national_code": entry.get("code") or ""})
    return out


# -- what the assistant fails to understand -------------------------------------------------

def fallback_per_day(engine: Engine, f: Filters) -> List[Dict[str, Any]]:
    with engine.connect() as connection:
        found = {
            _as_date(row["day"]): row for row in connection.execute(
                select(messages.c.day, func.count().label("messages"),
                       func.sum(case((messages.c.fallback.is_(True), 1), else_=0)).label("not_understood"))
                .where(and_(messages.c.actor == "user", *_by_day(messages, f)))
                .group_by(messages.c.day)).mappings()
        }
    rows = []
    for day in _days(f):
        row = found.get(day)
        total, missed = (int(row["messages"]), int(row["not_understood"] or 0)) if row else (0, 0)
        rows.append({"day": day, "messages": total, "not_understood": missed, "rate": _share(missed, total)})
    return rows


def not_understood(engine: Engine, f: Filters, limit: int = 1000) -> List[Dict[str, Any]]:
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(
            select(messages.c.at, messages.c.day, messages.c.channel, messages.c.text, messages.c.intent,
                   messages.c.confidence, messages.c.guesses, messages.c.conversation_id)
            .where(and_(messages.c.actor == "user", messages.c.fallback.is_(True),
                        # A pressed button was understood: never listed here.
                        func.coalesce(messages.c.text, "").notlike("/%"),
                        func.coalesce(messages.c.pressed, False).is_(False), *_by_day(messages, f)))
            .order_by(messages.c.at.desc(), messages.c.id.desc()).limit(limit)).mappings()]


def nlu_yaml(texts: Iterable[Optional[str]], label: str = "TODO_LABEL") -> str:
    """Rasa NLU training data (3.1) of the not-understood messages, to label by hand."""
    seen: List[str] = []
    for text in texts:
        line = " ".join((text or "").split())
        line = "".join(ch for ch in line if ch.isprintable())
        if not line or line == MASK or line.startswith("/") or line in seen:
            continue
        seen.append(line)
    lines = ['version: "3.1"',
             "# Not-understood messages (personal data masked as ***): replace TODO_LABEL by an intent,",
             "# move each example to the intent it belongs to, and delete what should not be learned.",
             "nlu:", f"- intent: {label}", "  examples: |"]
    lines += [f"    - {line}" for line in seen]
    if not seen:
        lines[-1] = "  examples: \"\""
    return "\n".join(lines) + "\n"


# -- the online funnel and its targets ------------------------------------------------------

def target_map(engine: Engine) -> Dict[Tuple[str, str], float]:
    with engine.connect() as connection:
        return {(row["scope"], row["key"]): float(row["target_share"])
                for row in connection.execute(select(targets)).mappings()}


def set_target(engine: Engine, scope: str, key: str, share: Optional[float], by: str) -> None:
    """Set (or with None, remove) the target share of online dossiers of a field or locality."""
    if scope not in TARGET_SCOPES:
        raise ValueError(f"unknown target scope {scope!r}")
    if not key or len(key) > 255:
        raise ValueError("target key must be 1 to 255 characters")
    if share is not None and not (0.0 <= share <= 1.0 and math.isfinite(share)):
        raise ValueError("target share must be between 0 and 1")
    where = and_(targets.c.scope == scope, targets.c.key == key)
    with engine.begin() as connection:
        if share is None:
            connection.execute(delete(targets).where(where))
            return
        changed = connection.execute(update(targets).where(where).values(
            target_share=share, updated_at=now(), updated_by=by)).rowcount
        if not changed:
            connection.execute(insert(targets).values(scope=scope, key=key, target_share=share,
                                                      updated_at=now(), updated_by=by))


def _group_column(table, by: str):
    if by not in GROUPINGS:
        raise ValueError(f"unknown grouping {by!r}")
    return table.c.procedure_id if by == "procedure" else table.c[by]


def _display(by: str, raw: Optional[str]) -> Tuple[str, str]:
    known = names()
    if by == "procedure":
        return raw or "", known.procedure(raw)
    if by == "field":
        return (raw, known.field(raw)) if raw else ("", UNKNOWN_FIELD)
    return known.locality(raw)


def funnel(engine: Engine, f: Filters, by: str = "procedure") -> List[Dict[str, Any]]:
    """Citizens at each stage per procedure / field / locality, with progress and target.

    Progress is submitted ÷ procedure viewed; a procedure's target is its field's.
    """
    column = _group_column(funnel_events, by)
    with engine.connect() as connection:
        counts = connection.execute(
            select(column.label("key"), funnel_events.c.stage,
                   func.count(distinct(funnel_events.c.sender_id)).label("citizens"))
            .where(and_(*_by_time(funnel_events, f)))
            .group_by(column, funnel_events.c.stage)).mappings().all()
    goals = target_map(engine)
    rows: Dict[str, Dict[str, Any]] = {}

    def row_for(key: str, name: str) -> Dict[str, Any]:
        return rows.setdefault(key, {"key": key, "name": name, **{stage: 0 for stage in FUNNEL_STAGES}})

    for count in counts:
        key, name = _display(by, count["key"])
        if count["stage"] in FUNNEL_STAGES:
            row_for(key, name)[count["stage"]] += int(count["citizens"])
    if by == "field":
        for field in names().fields():
            row_for(field, names().field(field))
    elif by == "locality":
        for (scope, key), _ in goals.items():
            if scope == "locality":
                row_for(*names().locality(key))
    reasons = {row["key"]: row for row in offline(engine, f, by)} if by != "procedure" else {}
    known = names()
    for row in rows.values():
        row["progress"] = _share(row["submitted"], row["procedure_viewed"])
        if by == "procedure":
            field = known.field_of(row["key"])
            row["target_scope"], row["target_key"] = "field", field
            row["field_name"] = known.field(field)
        else:
            row["target_scope"], row["target_key"] = by, row["key"]
            row["top_reason"] = (reasons.get(row["key"]) or {}).get("top_reason")
        row["target"] = goals.get((row["target_scope"], row["target_key"] or ""))
        row["attainment"] = (round(row["progress"] / row["target"], 4)
                             if row["progress"] is not None and row["target"] else None)
    # "Không rõ địa bàn" last: leaders read the places first.
    return sorted(rows.values(), key=lambda r: (r["key"] == "" and by != "procedure", -r["procedure_viewed"],
                                               -r["submitted"], r["name"]))


# -- why citizens stay offline --------------------------------------------------------------

def offline(engine: Engine, f: Filters, by: str = "procedure") -> List[Dict[str, Any]]:
    column = _group_column(offline_reasons, by)
    with engine.connect() as connection:
        counts = connection.execute(
            select(column.label("key"), offline_reasons.c.reason, func.count().label("answers"))
            .where(and_(*_by_time(offline_reasons, f)))
            .group_by(column, offline_reasons.c.reason)).mappings().all()
    rows: Dict[str, Dict[str, Any]] = {}
    for count in counts:
        key, name = _display(by, count["key"])
        row = rows.setdefault(key, {"key": key, "name": name, "total": 0, **{r: 0 for r in OFFLINE_REASONS}})
        reason = count["reason"] if count["reason"] in OFFLINE_REASONS else "other"
        row[reason] += int(count["answers"])
        row["total"] += int(count["answers"])
    for row in rows.values():
        top = max(OFFLINE_REASONS, key=lambda r: row[r])
        row["top_reason"] = top if row[top] else None
    return sorted(rows.values(), key=lambda r: (r["key"] == "" and by != "procedure", -r["total"], r["name"]))


SAMPLES = 3


def offline_words(engine: Engine, f: Filters, limit: int = 200) -> Dict[str, Any]:
    """Reasons typed in words: per category how many and the latest few, and every "other"
    answer with the citizen's words (what the categories missed)."""
    with engine.connect() as connection:
        typed = connection.execute(
            select(offline_reasons.c.at, offline_reasons.c.reason, offline_reasons.c.text,
                   offline_reasons.c.procedure_id, offline_reasons.c.locality)
            .where(and_(offline_reasons.c.text.isnot(None), *_by_time(offline_reasons, f)))
            .order_by(offline_reasons.c.at.desc(), offline_reasons.c.id.desc())).mappings().all()
    per_reason = {reason: {"reason": reason, "typed_reasons": 0, "samples": []} for reason in OFFLINE_REASONS}
    other = []
    for row in typed:
        reason = row["reason"] if row["reason"] in OFFLINE_REASONS else "other"
        group = per_reason[reason]
        group["typed_reasons"] += 1
        if row["text"] not in group["samples"] and len(group["samples"]) < SAMPLES:
            group["samples"].append(row["text"])
        if reason == "other" and len(other) < limit:
            other.append({"at": row["at"], "text": row["text"],
                          "procedure_name": names().procedure(row["procedure_id"]) if row["procedure_id"] else "",
                          "place": names().locality(row["locality"])[1]})
    return {"categories": [{**g, "samples": " · ".join(g["samples"])} for g in per_reason.values()],
            "other": other}


def offline_totals(rows: Sequence[Mapping[str, Any]]) -> Dict[str, int]:
    return {reason: sum(int(row[reason]) for row in rows) for reason in OFFLINE_REASONS}


# -- dossier lookups, handoffs and complaints -----------------------------------------------

def lookup_outcomes(engine: Engine, f: Filters) -> Dict[str, Any]:
    with engine.connect() as connection:
        totals = {row["outcome"]: row for row in connection.execute(
            select(lookups.c.outcome, func.count().label("lookups"),
                   func.count(distinct(lookups.c.sender_id)).label("citizens"))
            .where(and_(*_by_day(lookups, f))).group_by(lookups.c.outcome)).mappings()}
        per_day = connection.execute(
            select(lookups.c.day, lookups.c.outcome, func.count().label("lookups"))
            .where(and_(*_by_day(lookups, f))).group_by(lookups.c.day, lookups.c.outcome)).mappings().all()
    total = sum(int(row["lookups"]) for row in totals.values())
    rows = [{"outcome": outcome,
             "lookups": int(totals[outcome]["lookups"]) if outcome in totals else 0,
             "citizens": int(totals[outcome]["citizens"]) if outcome in totals else 0}
            for outcome in LOOKUP_OUTCOMES]
    for row in rows:
        row["share"] = _share(row["lookups"], total)
    days = {day: {o: 0 for o in LOOKUP_OUTCOMES} for day in _days(f)}
    for row in per_day:
        day = _as_date(row["day"])
        if day in days and row["outcome"] in LOOKUP_OUTCOMES:
            days[day][row["outcome"]] = int(row["lookups"])
    return {"rows": rows, "total": total,
            "per_day": [{"day": day, **values} for day, values in days.items()]}


def lookup_lockouts(engine: Engine, f: Filters, limit: int = 500) -> List[Dict[str, Any]]:
    """Locks set in the range, newest first: which code or sender, why, how many failures, and
    whether still in force. (The channel filter applies to the channel of the failure that set it.)"""
    conditions = [lookup_locks.c.locked_at >= f.start_utc, lookup_locks.c.locked_at < f.end_utc]
    if f.channel:
        conditions.append(lookup_locks.c.channel == f.channel)
    with engine.connect() as connection:
        rows = connection.execute(select(lookup_locks).where(and_(*conditions))
                                  .order_by(lookup_locks.c.locked_at.desc()).limit(limit)).mappings().all()
    at = now()
    out = []
    for row in rows:
        until = row["until"] if row["until"].tzinfo else row["until"].replace(tzinfo=dt.timezone.utc)
        locked_at = row["locked_at"] if row["locked_at"].tzinfo else row["locked_at"].replace(tzinfo=dt.timezone.utc)
        out.append({"scope": row["scope"], "key": row["key"], "channel": row["channel"] or "",
                    "failures": int(row["failures"]), "locked_at": locked_at.astimezone(LOCAL_TZ),
                    "until": until.astimezone(LOCAL_TZ), "active": until > at})
    return out


def handoff_requests(engine: Engine, f: Filters, limit: int = 500) -> Dict[str, Any]:
    kinds = ("human_handoff", "complain")
    with engine.connect() as connection:
        per_day = connection.execute(
            select(handoffs.c.day, handoffs.c.kind, func.count().label("requests"))
            .where(and_(*_by_day(handoffs, f))).group_by(handoffs.c.day, handoffs.c.kind)).mappings().all()
        recent = [dict(row) for row in connection.execute(
            select(handoffs.c.at, handoffs.c.kind, handoffs.c.channel, handoffs.c.procedure,
                   handoffs.c.text, handoffs.c.conversation_id)
            .where(and_(*_by_day(handoffs, f))).order_by(handoffs.c.at.desc(), handoffs.c.id.desc())
            .limit(limit)).mappings()]
    days = {day: {k: 0 for k in kinds} for day in _days(f)}
    for row in per_day:
        day = _as_date(row["day"])
        if day in days and row["kind"] in kinds:
            days[day][row["kind"]] = int(row["requests"])
    for row in recent:
        row["procedure_name"] = names().procedure(row["procedure"]) if row["procedure"] else ""
    per_day_rows = [{"day": day, **values} for day, values in days.items()]
    return {"per_day": per_day_rows, "recent": recent,
            "totals": {k: sum(r[k] for r in per_day_rows) for k in kinds}}


# -- procedures asked about without detailed guidance -------------------------------------

EXAMPLES = 3


def unmet_procedures(engine: Engine, f: Filters) -> List[Dict[str, Any]]:
    """What citizens asked that the catalogue does not guide: each directory procedure, and each
    question nothing matched (grouped by its words), with counts and the latest examples."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(unmet.c.procedure, unmet.c.text, unmet.c.sender_id, unmet.c.day, unmet.c.conversation_id)
            .where(and_(*_by_day(unmet, f))).order_by(unmet.c.at.desc(), unmet.c.id.desc())).mappings().all()
    groups: Dict[str, Dict[str, Any]] = {}
    for row in rows:
        procedure = row["procedure"]
        words = " ".join(fold(row["text"] or "").split())
        key = f"p:{procedure}" if procedure else f"w:{words}"
        group = groups.get(key)
        if group is None:
            listed = names().listed(procedure) if procedure else None
            group = groups[key] = {
                "kind": "directory" if procedure else "nothing",
                "name": names().procedure(procedure) if procedure else (row["text"] or ""),
                "national_code": (listed or {}).get("code") or "",
                "agency": (listed or {}).get("agency") or "",
                "asks": 0, "senders": set(), "examples": [], "last_day": _as_date(row["day"]),
                "conversation_id": row["conversation_id"]}
        group["asks"] += 1
        group["senders"].add(row["sender_id"])
        if row["text"] and row["text"] not in group["examples"] and len(group["examples"]) < EXAMPLES:
            group["examples"].append(row["text"])
    out = []
    for group in groups.values():
        senders = group.pop("senders")
        out.append({**group, "citizens": len(senders), "examples": " · ".join(group["examples"])})
    return sorted(out, key=lambda g: (-g["asks"], g["name"]))


# -- satisfaction and latency ---------------------------------------------------------------

def satisfaction(engine: Engine, f: Filters, by: str = "intent") -> List[Dict[str, Any]]:
    if by not in ("intent", "procedure"):
        raise ValueError(f"unknown grouping {by!r}")
    column = answer_ratings.c.intent if by == "intent" else answer_ratings.c.procedure_id
    typed = func.coalesce(answer_ratings.c.typed, False)
    with engine.connect() as connection:
        counts = connection.execute(
            select(column.label("key"), answer_ratings.c.rating, typed.label("typed"), func.count().label("ratings"))
            .where(and_(*_by_time(answer_ratings, f)))
            .group_by(column, answer_ratings.c.rating, typed)).mappings().all()
    rows: Dict[str, Dict[str, Any]] = {}
    for count in counts:
        key = count["key"] or ""
        name = (names().procedure(key) or UNKNOWN_PROCEDURE) if by == "procedure" else key
        row = rows.setdefault(key, {"key": key, "name": name, "typed": 0, **{r: 0 for r in RATINGS}})
        if count["rating"] in RATINGS:
            row[count["rating"]] += int(count["ratings"])
            if count["typed"]:
                row["typed"] += int(count["ratings"])
    for row in rows.values():
        row["total"] = row["useful"] + row["not_useful"]
        row["useful_share"] = _share(row["useful"], row["total"])
    return sorted(rows.values(), key=lambda r: (-r["total"], r["name"]))


def _percentile(ordered: Sequence[float], fraction: float) -> Optional[float]:
    """Nearest-rank percentile of sorted values."""
    if not ordered:
        return None
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def latency_per_day(engine: Engine, f: Filters) -> Dict[str, Any]:
    """p50 and p95 of the response latency (ms) per day, and over the whole range."""
    by_day: Dict[dt.date, List[float]] = defaultdict(list)
    with engine.connect() as connection:
        for day, latency in connection.execute(
                select(messages.c.day, messages.c.latency_ms)
                .where(and_(messages.c.actor == "user", messages.c.latency_ms.isnot(None), *_by_day(messages, f)))):
            by_day[_as_date(day)].append(float(latency))
    rows = []
    everything: List[float] = []
    for day in _days(f):
        values = sorted(by_day.get(day, []))
        everything += values
        rows.append({"day": day, "replies": len(values),
                     "p50_ms": _round(_percentile(values, 0.5)), "p95_ms": _round(_percentile(values, 0.95))})
    everything.sort()
    return {"per_day": rows, "overall": {"replies": len(everything),
                                         "p50_ms": _round(_percentile(everything, 0.5)),
                                         "p95_ms": _round(_percentile(everything, 0.95))}}


def _round(value: Optional[float]) -> Optional[float]:
    return round(value, 1) if value is not None else None


# -- conversations --------------------------------------------------------------------------

def conversation_list(engine: Engine, f: Filters, limit: int = 50, offset: int = 0) -> List[Dict[str, Any]]:
    """Conversations active in the range (latest first)."""
    conditions = [conversations.c.last_day >= f.start, conversations.c.first_day <= f.end,
                  conversations.c.message_count > 0]
    if f.channel:
        conditions.append(conversations.c.channel == f.channel)
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(
            select(conversations.c.id, conversations.c.sender_id, conversations.c.channel,
                   conversations.c.first_at, conversations.c.last_at, conversations.c.message_count,
                   conversations.c.procedure)
            .where(and_(*conditions)).order_by(conversations.c.last_at.desc(), conversations.c.id.desc())
            .limit(limit).offset(offset)).mappings()]


def conversation(engine: Engine, conversation_id: int) -> Optional[Dict[str, Any]]:
    with engine.connect() as connection:
        head = connection.execute(select(conversations).where(conversations.c.id == conversation_id)).mappings().first()
        if head is None:
            return None
        rows = [dict(row) for row in connection.execute(
            select(messages.c.event_id, messages.c.actor, messages.c.at, messages.c.channel, messages.c.text,
                   messages.c.intent, messages.c.confidence, messages.c.procedure, messages.c.fallback,
                   messages.c.latency_ms, messages.c.buttons, messages.c.pressed)
            .where(messages.c.conversation_id == conversation_id).order_by(messages.c.event_id)).mappings()]
    for row in rows:
        # What the citizen saw: the titles of the buttons offered, never their payloads.
        row["offered"] = [title for title, _ in json.loads(row.pop("buttons"))] if row["buttons"] else []
        row["payload"] = bool(row["pressed"]) and (row["text"] or "").startswith("/")  # no title was found
    return {**dict(head), "messages": rows}


# -- the weekly report for leaders ----------------------------------------------------------

def week_of(day: dt.date) -> dt.date:
    """The Monday of the week a day is in."""
    return day - dt.timedelta(days=day.weekday())


def week_code(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def parse_week(raw: Optional[str], on: Optional[dt.date] = None) -> Tuple[dt.date, bool]:
    """The Monday of ?week=2026-W48 (ISO week); by default the last full week. The flag says
    whether the value could not be read."""
    default = week_of(on or today()) - dt.timedelta(days=7)
    if not raw:
        return default, False
    try:
        year, week = raw.strip().upper().split("-W")
        return dt.date.fromisocalendar(int(year), int(week), 1), False
    except ValueError:
        return default, True


def weekly(engine: Engine, monday: dt.date) -> Dict[str, Any]:
    """Per field and per locality: the week's funnel against its target, beside the week
    before (change in percentage points of the submission rate)."""
    week = Filters(monday, monday + dt.timedelta(days=6))
    before = Filters(monday - dt.timedelta(days=7), monday - dt.timedelta(days=1))
    out: Dict[str, Any] = {"week": week, "before": before}
    for by in ("field", "locality"):
        previous = {row["key"]: row for row in funnel(engine, before, by)}
        rows = []
        for row in funnel(engine, week, by):
            last = previous.get(row["key"]) or {}
            change = (round(row["progress"] - last["progress"], 4)
                      if row["progress"] is not None and last.get("progress") is not None else None)
            if row["procedure_viewed"] or row["submitted"] or last.get("procedure_viewed") or row["target"]:
                rows.append({**row, "viewed_before": last.get("procedure_viewed", 0),
                             "submitted_before": last.get("submitted", 0),
                             "progress_before": last.get("progress"), "change": change})
        out[by] = rows
    totals = overview(engine, week)["totals"]
    out["totals"] = {**totals, "submitted": sum(r["submitted"] for r in out["field"]),
                     "viewed": sum(r["procedure_viewed"] for r in out["field"])}
    out["reasons"] = offline_totals(offline(engine, week, "field"))
    return out
