"""The online funnel against its targets, why citizens stay offline, and the weekly report
for leaders: per procedure, field or locality, for a date range and a channel.

Progress is submitted ÷ procedure viewed; a procedure's target is its field's (targets.py).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, List, Mapping, Sequence

from sqlalchemy import Column, Table, and_, distinct, func, select
from sqlalchemy.engine import Engine

from bot.analytics.filters import Filters, by_time
from bot.analytics.names import display, names
from bot.analytics.queries import overview, share
from bot.analytics.targets import target_map
from bot.store.models import FUNNEL_STAGES, OFFLINE_REASONS, funnel_events, offline_reasons

GROUPINGS = ("procedure", "field", "locality")
SAMPLES = 3  # typed reasons shown per category


def _group_column(table: Table, by: str) -> Column:
    if by not in GROUPINGS:
        raise ValueError(f"unknown grouping {by!r}")
    return table.c.procedure_id if by == "procedure" else table.c[by]


# -- the online funnel ----------------------------------------------------------------------

def funnel(engine: Engine, f: Filters, by: str = "procedure") -> List[Dict[str, Any]]:
    """Citizens at each stage per procedure / field / locality, with progress and target.

    Progress is submitted ÷ procedure viewed; a procedure's target is its field's.
    """
    column = _group_column(funnel_events, by)
    with engine.connect() as connection:
        counts = connection.execute(
            select(column.label("key"), funnel_events.c.stage,
                   func.count(distinct(funnel_events.c.sender_id)).label("citizens"))
            .where(and_(*by_time(funnel_events, f)))
            .group_by(column, funnel_events.c.stage)).mappings().all()
    goals = target_map(engine)
    rows: Dict[str, Dict[str, Any]] = {}

    def row_for(key: str, name: str) -> Dict[str, Any]:
        return rows.setdefault(key, {"key": key, "name": name, **{stage: 0 for stage in FUNNEL_STAGES}})

    for count in counts:
        key, name = display(by, count["key"])
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
        row["progress"] = share(row["submitted"], row["procedure_viewed"])
        if by == "procedure":
            field_id = known.field_of(row["key"])
            row["target_scope"], row["target_key"] = "field", field_id
            row["field_name"] = known.field(field_id)
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
            .where(and_(*by_time(offline_reasons, f)))
            .group_by(column, offline_reasons.c.reason)).mappings().all()
    rows: Dict[str, Dict[str, Any]] = {}
    for count in counts:
        key, name = display(by, count["key"])
        row = rows.setdefault(key, {"key": key, "name": name, "total": 0, **{r: 0 for r in OFFLINE_REASONS}})
        reason = count["reason"] if count["reason"] in OFFLINE_REASONS else "other"
        row[reason] += int(count["answers"])
        row["total"] += int(count["answers"])
    for row in rows.values():
        top = max(OFFLINE_REASONS, key=lambda r: row[r])
        row["top_reason"] = top if row[top] else None
    return sorted(rows.values(), key=lambda r: (r["key"] == "" and by != "procedure", -r["total"], r["name"]))


def offline_words(engine: Engine, f: Filters, limit: int = 200) -> Dict[str, Any]:
    """Reasons typed in words: per category how many and the latest few, and every "other"
    answer with the citizen's words (what the categories missed)."""
    with engine.connect() as connection:
        typed = connection.execute(
            select(offline_reasons.c.at, offline_reasons.c.reason, offline_reasons.c.text,
                   offline_reasons.c.procedure_id, offline_reasons.c.locality)
            .where(and_(offline_reasons.c.text.isnot(None), *by_time(offline_reasons, f)))
            .order_by(offline_reasons.c.at.desc(), offline_reasons.c.id.desc())).mappings().all()
    per_reason: Dict[str, Dict[str, Any]] = {
        reason: {"reason": reason, "typed_reasons": 0, "samples": []} for reason in OFFLINE_REASONS}
    other: List[Dict[str, Any]] = []
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


# -- the weekly report for leaders ----------------------------------------------------------

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
