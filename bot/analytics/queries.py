"""What citizens say and how the assistant answers, for a date range and a channel: traffic,
intents and procedures asked, what was not understood, reply latency, the conversations.

A "conversation" in a daily count is one citizen (sender id) on one local day; "citizens" are
distinct sender ids in the range. The filters and their SQL conditions are in filters.py; the
funnel, offline reasons and weekly report in online.py; lookups, handoffs, unmet procedures
and ratings in service.py.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections import defaultdict
from typing import Any, Dict, List, Optional, Sequence

from sqlalchemy import and_, case, distinct, func, select
from sqlalchemy.engine import Engine

from bot.analytics.filters import Filters, as_date, by_day, days_of
from bot.analytics.models import conversations, messages
from bot.analytics.names import names


def share(part: float, whole: float) -> Optional[float]:
    """part ÷ whole to 4 places; None when there is no whole."""
    return round(part / whole, 4) if whole else None


# -- overview -------------------------------------------------------------------------------

def channels(engine: Engine) -> List[str]:
    with engine.connect() as connection:
        return [c for c in connection.execute(
            select(distinct(conversations.c.channel)).where(conversations.c.channel.isnot(None))
            .order_by(conversations.c.channel)).scalars()]


def overview(engine: Engine, f: Filters) -> Dict[str, Any]:
    user = [messages.c.actor == "user", *by_day(messages, f)]
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
        row["day"] = as_date(row["day"])
        row["channel"] = row["channel"] or ""
    for row in per_channel:
        row["channel"] = row["channel"] or ""
    return {
        "per_day": per_day,
        "per_channel": per_channel,
        "days": days_of(f),
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
            .where(and_(messages.c.actor == "user", *by_day(messages, f)))
            .group_by(messages.c.intent).order_by(func.count().desc(), messages.c.intent)
            .limit(limit)).mappings()]
    total = sum(row["messages"] for row in rows)
    for row in rows:
        row["intent"] = row["intent"] or ""
        row["share"] = share(row["messages"], total)
        row["confidence"] = round(float(row["confidence"]), 3) if row["confidence"] is not None else None
    return rows


def top_procedures(engine: Engine, f: Filters, limit: int = 100) -> List[Dict[str, Any]]:
    with engine.connect() as connection:
        rows = [dict(row) for row in connection.execute(
            select(messages.c.procedure, func.count().label("messages"),
                   func.count(distinct(messages.c.sender_id)).label("citizens"))
            .where(and_(messages.c.actor == "user", messages.c.procedure.isnot(None), *by_day(messages, f)))
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
            as_date(row["day"]): row for row in connection.execute(
                select(messages.c.day, func.count().label("messages"),
                       func.sum(case((messages.c.fallback.is_(True), 1), else_=0)).label("not_understood"))
                .where(and_(messages.c.actor == "user", *by_day(messages, f)))
                .group_by(messages.c.day)).mappings()
        }
    rows = []
    for day in days_of(f):
        row = found.get(day)
        total, missed = (int(row["messages"]), int(row["not_understood"] or 0)) if row else (0, 0)
        rows.append({"day": day, "messages": total, "not_understood": missed, "rate": share(missed, total)})
    return rows


def not_understood(engine: Engine, f: Filters, limit: int = 1000) -> List[Dict[str, Any]]:
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(
            select(messages.c.at, messages.c.day, messages.c.channel, messages.c.text, messages.c.intent,
                   messages.c.confidence, messages.c.guesses, messages.c.conversation_id)
            .where(and_(messages.c.actor == "user", messages.c.fallback.is_(True),
                        # A pressed button was understood: never listed here.
                        func.coalesce(messages.c.text, "").notlike("/%"),
                        func.coalesce(messages.c.pressed, False).is_(False), *by_day(messages, f)))
            .order_by(messages.c.at.desc(), messages.c.id.desc()).limit(limit)).mappings()]


# -- latency --------------------------------------------------------------------------------

def _percentile(ordered: Sequence[float], fraction: float) -> Optional[float]:
    """Nearest-rank percentile of sorted values."""
    if not ordered:
        return None
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def _round(value: Optional[float]) -> Optional[float]:
    return round(value, 1) if value is not None else None


def latency_per_day(engine: Engine, f: Filters) -> Dict[str, Any]:
    """p50 and p95 of the response latency (ms) per day, and over the whole range."""
    by_date: Dict[dt.date, List[float]] = defaultdict(list)
    with engine.connect() as connection:
        for day, latency in connection.execute(
                select(messages.c.day, messages.c.latency_ms)
                .where(and_(messages.c.actor == "user", messages.c.latency_ms.isnot(None), *by_day(messages, f)))):
            by_date[as_date(day)].append(float(latency))
    rows = []
    everything: List[float] = []
    for day in days_of(f):
        values = sorted(by_date.get(day, []))
        everything += values
        rows.append({"day": day, "replies": len(values),
                     "p50_ms": _round(_percentile(values, 0.5)), "p95_ms": _round(_percentile(values, 0.95))})
    everything.sort()
    return {"per_day": rows, "overall": {"replies": len(everything),
                                         "p50_ms": _round(_percentile(everything, 0.5)),
                                         "p95_ms": _round(_percentile(everything, 0.95))}}


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
