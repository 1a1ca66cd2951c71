"""What came of citizens' requests, for a date range and a channel: dossier lookups and the
lockouts they set, handoff and complaint requests, procedures asked about without detailed
guidance, and how useful citizens rated the answers."""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, List

from sqlalchemy import and_, distinct, func, select
from sqlalchemy.engine import Engine

from bot.analytics.filters import Filters, as_date, by_day, by_time, days_of
from bot.analytics.ingest import LOOKUP_OUTCOMES
from bot.analytics.models import handoffs, lookups, unmet
from bot.analytics.names import UNKNOWN_PROCEDURE, names
from bot.analytics.queries import share
from bot.clock import LOCAL_TZ, now
from bot.nlu.text import fold
from bot.store.models import RATINGS, answer_ratings, lookup_locks

EXAMPLES = 3  # questions shown per unmet procedure


# -- dossier lookups, handoffs and complaints -----------------------------------------------

def lookup_outcomes(engine: Engine, f: Filters) -> Dict[str, Any]:
    with engine.connect() as connection:
        totals = {row["outcome"]: row for row in connection.execute(
            select(lookups.c.outcome, func.count().label("lookups"),
                   func.count(distinct(lookups.c.sender_id)).label("citizens"))
            .where(and_(*by_day(lookups, f))).group_by(lookups.c.outcome)).mappings()}
        per_day = connection.execute(
            select(lookups.c.day, lookups.c.outcome, func.count().label("lookups"))
            .where(and_(*by_day(lookups, f))).group_by(lookups.c.day, lookups.c.outcome)).mappings().all()
    total = sum(int(row["lookups"]) for row in totals.values())
    rows: List[Dict[str, Any]] = [
        {"outcome": outcome,
         "lookups": int(totals[outcome]["lookups"]) if outcome in totals else 0,
         "citizens": int(totals[outcome]["citizens"]) if outcome in totals else 0}
        for outcome in LOOKUP_OUTCOMES]
    for row in rows:
        row["share"] = share(row["lookups"], total)
    days = {day: {o: 0 for o in LOOKUP_OUTCOMES} for day in days_of(f)}
    for row in per_day:
        day = as_date(row["day"])
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
            .where(and_(*by_day(handoffs, f))).group_by(handoffs.c.day, handoffs.c.kind)).mappings().all()
        recent = [dict(row) for row in connection.execute(
            select(handoffs.c.at, handoffs.c.kind, handoffs.c.channel, handoffs.c.procedure,
                   handoffs.c.text, handoffs.c.conversation_id)
            .where(and_(*by_day(handoffs, f))).order_by(handoffs.c.at.desc(), handoffs.c.id.desc())
            .limit(limit)).mappings()]
    days = {day: {k: 0 for k in kinds} for day in days_of(f)}
    for row in per_day:
        day = as_date(row["day"])
        if day in days and row["kind"] in kinds:
            days[day][row["kind"]] = int(row["requests"])
    for row in recent:
        row["procedure_name"] = names().procedure(row["procedure"]) if row["procedure"] else ""
    per_day_rows = [{"day": day, **values} for day, values in days.items()]
    return {"per_day": per_day_rows, "recent": recent,
            "totals": {k: sum(r[k] for r in per_day_rows) for k in kinds}}


# -- procedures asked about without detailed guidance -------------------------------------

def unmet_procedures(engine: Engine, f: Filters) -> List[Dict[str, Any]]:
    """What citizens asked that the catalogue does not guide: each directory procedure, and each
    question nothing matched (grouped by its words), with counts and the latest examples."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(unmet.c.procedure, unmet.c.text, unmet.c.sender_id, unmet.c.day, unmet.c.conversation_id)
            .where(and_(*by_day(unmet, f))).order_by(unmet.c.at.desc(), unmet.c.id.desc())).mappings().all()
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
                "asks": 0, "senders": set(), "examples": [], "last_day": as_date(row["day"]),
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


# -- how useful the answers were ------------------------------------------------------------

def satisfaction(engine: Engine, f: Filters, by: str = "intent") -> List[Dict[str, Any]]:
    if by not in ("intent", "procedure"):
        raise ValueError(f"unknown grouping {by!r}")
    column = answer_ratings.c.intent if by == "intent" else answer_ratings.c.procedure_id
    typed = func.coalesce(answer_ratings.c.typed, False)
    with engine.connect() as connection:
        counts = connection.execute(
            select(column.label("key"), answer_ratings.c.rating, typed.label("typed"), func.count().label("ratings"))
            .where(and_(*by_time(answer_ratings, f)))
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
        row["useful_share"] = share(row["useful"], row["total"])
    return sorted(rows.values(), key=lambda r: (-r["total"], r["name"]))
