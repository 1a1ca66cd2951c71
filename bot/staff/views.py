"""What each page shows: its tables (also exported as CSV) and its charts, from the queries."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import yaml
from sqlalchemy.engine import Engine

from bot.analytics import names, online, queries, service
from bot.analytics.ingest import LOOKUP_OUTCOMES, utc
from bot.clock import LOCAL_TZ
from bot.analytics.filters import Filters
from bot.store.models import FUNNEL_STAGES, OFFLINE_REASONS, RATINGS

TEMPLATES = Path(__file__).resolve().parent / "templates"


@lru_cache(maxsize=1)
def labels() -> Dict[str, Dict[str, str]]:
    data = yaml.safe_load((TEMPLATES / "labels.yml").read_text(encoding="utf-8"))
    try:
        from bot import knowledge

        data["intents"] = {**knowledge.intent_labels(), **data["intents"]}
    except Exception:  # noqa: BLE001 - the codes still read
        pass
    return data


def label(group: str, code: Optional[str]) -> str:
    code = code or ""
    return labels().get(group, {}).get(code, code)


@dataclass
class Table:
    name: str  # ?table= of its CSV export
    columns: List[Tuple[str, str]]  # (key, kind): kind is text, int, share, ms, date, datetime, number
    rows: List[Dict[str, Any]]
    editable_targets: bool = False
    codes: List[Tuple[str, str]] = field(default_factory=list)  # columns of codes: in the CSV only

    def header(self, key: str) -> str:
        return label("columns", key)


LABEL_CHARS = 40  # a chart label that fits beside its bar; the hover and the table have the full name


def short_label(name: str, limit: int = LABEL_CHARS) -> str:
    if len(name) <= limit:
        return name
    return name[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:(") + "…"


@dataclass
class Chart:
    id: str
    kind: str  # bar | line | doughnut
    labels: List[str]  # full names; the chart shows them shortened, the hover whole
    datasets: List[Dict[str, Any]]
    stacked: bool = False
    horizontal: bool = False
    percent: bool = False
    unit: str = ""

    @property
    def empty(self) -> bool:
        """Nothing to draw: the page says "Chưa có số liệu" instead of empty axes."""
        return not self.labels or not any(value for data in self.datasets for value in data["data"])

    def as_json(self) -> Dict[str, Any]:
        return {"kind": self.kind, "labels": [short_label(name) for name in self.labels], "titles": self.labels,
                "datasets": self.datasets, "stacked": self.stacked, "horizontal": self.horizontal,
                "percent": self.percent, "unit": self.unit}


@dataclass
class Page:
    tables: Dict[str, Table]
    charts: List[Chart] = field(default_factory=list)
    context: Dict[str, Any] = field(default_factory=dict)


def _day(value: dt.date) -> str:
    return value.strftime("%d/%m")


def _pct(value: Optional[float]) -> Optional[float]:
    return round(value * 100, 1) if value is not None else None


def _one_of(value: Optional[str], allowed: Sequence[str], default: str) -> str:
    """A ?by= value the page knows, else its default."""
    return value if value is not None and value in allowed else default


Args = Mapping[str, Optional[str]]  # the page's query arguments (?by=)


# -- one builder per page -------------------------------------------------------------------

def overview(engine: Engine, f: Filters, args: Args) -> Page:
    data = queries.overview(engine, f)
    present = sorted({row["channel"] for row in data["per_day"]})
    per_day = {(row["day"], row["channel"]): row for row in data["per_day"]}
    conversations = Chart("conversations-per-day", "bar", [_day(d) for d in data["days"]], [
        {"label": label("channels", channel),
         "data": [per_day.get((d, channel), {}).get("conversations", 0) for d in data["days"]]}
        for channel in present], stacked=True)
    messages = Chart("messages-per-day", "line", [_day(d) for d in data["days"]], [
        {"label": label("channels", channel),
         "data": [per_day.get((d, channel), {}).get("messages", 0) for d in data["days"]]}
        for channel in present])
    rows = [{**row, "channel_name": label("channels", row["channel"])} for row in data["per_day"]]
    channels = [{**row, "channel_name": label("channels", row["channel"])} for row in data["per_channel"]]
    return Page(
        {"days": Table("days", [("day", "date"), ("channel_name", "text"), ("conversations", "int"),
                                ("messages", "int")], rows),
         "channels": Table("channels", [("channel_name", "text"), ("citizens", "int"), ("messages", "int")],
                           channels)},
        [conversations, messages], {"totals": data["totals"]})


def intents(engine: Engine, f: Filters, args: Args) -> Page:
    rows = [{**row, "intent_name": label("intents", row["intent"])} for row in queries.top_intents(engine, f)]
    top = rows[:15]
    chart = Chart("intents", "bar", [row["intent_name"] for row in top],
                  [{"label": label("columns", "messages"), "data": [row["messages"] for row in top]}],
                  horizontal=True)
    return Page({"intents": Table("intents", [("intent_name", "text"), ("messages", "int"), ("citizens", "int"),
                                              ("share", "share"), ("confidence", "number")], rows,
                                  codes=[("intent", "text")])}, [chart])


def procedures(engine: Engine, f: Filters, args: Args) -> Page:
    rows = queries.top_procedures(engine, f)
    top = rows[:15]
    chart = Chart("procedures", "bar", [row["name"] for row in top], [
        {"label": label("columns", "citizens"), "data": [row["citizens"] for row in top]},
        {"label": label("columns", "messages"), "data": [row["messages"] for row in top]}], horizontal=True)
    return Page({"procedures": Table("procedures", [("name", "text"), ("field", "text"), ("national_code", "text"),
                                                    ("citizens", "int"), ("messages", "int")], rows,
                                     codes=[("procedure", "text")])}, [chart])


def not_understood(engine: Engine, f: Filters, args: Args) -> Page:
    days = queries.fallback_per_day(engine, f)
    listed = queries.not_understood(engine, f)
    for row in listed:
        row["channel_name"] = label("channels", row["channel"])
        ranked = json.loads(row["guesses"]) if row.get("guesses") else []
        for place, key in enumerate(("first_guess", "second_guess")):
            row[key] = (f"{label('intents', ranked[place][0])} ({display(ranked[place][1], 'number')})"
                        if place < len(ranked) else "")
    chart = Chart("fallback-rate", "line", [_day(row["day"]) for row in days],
                  [{"label": label("columns", "rate"), "data": [_pct(row["rate"]) for row in days]}], percent=True)
    return Page({"days": Table("days", [("day", "date"), ("messages", "int"), ("not_understood", "int"),
                                        ("rate", "share")], days),
                 "messages": Table("messages", [("at", "datetime"), ("channel_name", "text"), ("text", "text"),
                                                ("first_guess", "text"), ("second_guess", "text")], listed)},
                [chart], {"messages": listed})


NAME_COLUMNS = {"procedure": "procedure_name", "field": "field_name", "locality": "place"}  # the first column


def funnel(engine: Engine, f: Filters, args: Args, can_edit: bool = False) -> Page:
    by = _one_of(args.get("by"), online.GROUPINGS, "procedure")
    rows = online.funnel(engine, f, by)
    for row in rows:
        row["progress_pct"] = _pct(row["progress"])
        row["target_pct"] = _pct(row["target"])
        row["top_reason_name"] = label("reasons", row["top_reason"]) if row.get("top_reason") else ""
        row[NAME_COLUMNS[by]] = row["name"]
    shown = [row for row in rows if row["procedure_viewed"] or row["submitted"]][:15]
    chart = Chart("funnel", "bar", [row["name"] for row in shown], [
        {"label": label("stages", stage), "data": [row[stage] for row in shown]} for stage in FUNNEL_STAGES],
        horizontal=True)
    goals = [row for row in rows if row["progress"] is not None or row["target"] is not None][:15]
    progress = Chart("funnel-progress", "bar", [row["name"] for row in goals], [
        {"label": label("columns", "progress"), "data": [row["progress_pct"] for row in goals]},
        {"label": label("columns", "target"), "data": [row["target_pct"] for row in goals]}],
        horizontal=True, percent=True)
    columns = [(NAME_COLUMNS[by], "text")] + ([("field_name", "text")] if by == "procedure" else []) + [
        *[(stage, "int") for stage in FUNNEL_STAGES], ("progress", "share"), ("target", "share"),
        ("attainment", "share")] + ([("top_reason_name", "text")] if by != "procedure" else [])
    table = Table("funnel", columns, rows, editable_targets=can_edit and by != "procedure", codes=[("key", "text")])
    return Page({"funnel": table}, [chart, progress], {"by": by, "groupings": online.GROUPINGS})


def offline(engine: Engine, f: Filters, args: Args) -> Page:
    by = _one_of(args.get("by"), online.GROUPINGS, "procedure")
    rows = online.offline(engine, f, by)
    if by != "procedure":  # the tables leaders asked for: why, beside progress against the target
        progress = {row["key"]: row for row in online.funnel(engine, f, by)}
        for row in rows:
            row.update({k: (progress.get(row["key"]) or {}).get(k) for k in ("progress", "target")})
    for row in rows:
        row["top_reason_name"] = label("reasons", row["top_reason"]) if row["top_reason"] else ""
        row[NAME_COLUMNS[by]] = row["name"]
    totals = online.offline_totals(rows)
    shown = rows[:15]
    share = Chart("offline-reasons", "doughnut", [label("reasons", r) for r in OFFLINE_REASONS],
                  [{"label": label("columns", "total"), "data": [totals[r] for r in OFFLINE_REASONS]}])
    stacked = Chart("offline-by", "bar", [row["name"] for row in shown], [
        {"label": label("reasons", r), "data": [row[r] for row in shown]} for r in OFFLINE_REASONS],
        stacked=True, horizontal=True)
    columns = [(NAME_COLUMNS[by], "text"), ("total", "int"), *[(r, "int") for r in OFFLINE_REASONS],
               ("top_reason_name", "text")] + ([("progress", "share"), ("target", "share")] if by != "procedure" else [])
    words = online.offline_words(engine, f)
    for row in words["categories"]:
        row["reason_name"] = label("reasons", row["reason"])
    return Page({"offline": Table("offline", columns, rows, codes=[("key", "text")]),
                 "words": Table("words", [("reason_name", "text"), ("typed_reasons", "int"), ("samples", "text")],
                                words["categories"], codes=[("reason", "text")]),
                 "other": Table("other", [("at", "datetime"), ("text", "text"), ("procedure_name", "text"),
                                          ("place", "text")], words["other"])},
                [share, stacked],
                {"by": by, "groupings": online.GROUPINGS, "totals": totals, "total": sum(totals.values())})


def lookups(engine: Engine, f: Filters, args: Args) -> Page:
    data = service.lookup_outcomes(engine, f)
    rows = [{**row, "outcome_name": label("outcomes", row["outcome"])} for row in data["rows"]]
    share = Chart("lookup-outcomes", "doughnut", [row["outcome_name"] for row in rows],
                  [{"label": label("columns", "lookups"), "data": [row["lookups"] for row in rows]}])
    per_day = Chart("lookups-per-day", "bar", [_day(row["day"]) for row in data["per_day"]], [
        {"label": label("outcomes", o), "data": [row[o] for row in data["per_day"]]} for o in LOOKUP_OUTCOMES],
        stacked=True)
    locks = service.lookup_lockouts(engine, f)
    for row in locks:
        row["scope_name"] = label("lock_scopes", row["scope"])
        row["channel_name"] = label("channels", row["channel"]) if row["channel"] else ""
        row["state"] = label("lock_states", "active" if row["active"] else "ended")
        # A dossier code, or the anonymous code of a citizen (never the channel's id).
        row["locked"] = citizen_code(row["key"]) if row["scope"] == "sender" else row["key"]
    return Page({"outcomes": Table("outcomes", [("outcome_name", "text"), ("lookups", "int"), ("citizens", "int"),
                                                ("share", "share")], rows, codes=[("outcome", "text")]),
                 "days": Table("days", [("day", "date"), *[(o, "int") for o in LOOKUP_OUTCOMES]], data["per_day"]),
                 "locks": Table("locks", [("locked_at", "datetime"), ("until", "datetime"), ("state", "text"),
                                          ("scope_name", "text"), ("locked", "text"), ("failures", "int"),
                                          ("channel_name", "text")], locks)},
                [share, per_day], {"total": data["total"], "active_locks": sum(r["active"] for r in locks)})


def handoffs(engine: Engine, f: Filters, args: Args) -> Page:
    data = service.handoff_requests(engine, f)
    kinds = ("human_handoff", "complain")
    chart = Chart("handoffs-per-day", "bar", [_day(row["day"]) for row in data["per_day"]], [
        {"label": label("kinds", k), "data": [row[k] for row in data["per_day"]]} for k in kinds], stacked=True)
    for row in data["recent"]:
        row["kind_name"] = label("kinds", row["kind"])
        row["channel_name"] = label("channels", row["channel"])
    return Page({"days": Table("days", [("day", "date"), *[(k, "int") for k in kinds]], data["per_day"]),
                 "recent": Table("recent", [("at", "datetime"), ("kind_name", "text"), ("channel_name", "text"),
                                            ("procedure_name", "text"), ("text", "text")], data["recent"])},
                [chart], {"totals": data["totals"], "recent": data["recent"]})


def satisfaction(engine: Engine, f: Filters, args: Args) -> Page:
    by = _one_of(args.get("by"), ("intent", "procedure"), "intent")
    rows = service.satisfaction(engine, f, by)
    for row in rows:
        if by == "intent":
            row["name"] = label("intents", row["key"])
    shown = rows[:15]
    chart = Chart("satisfaction", "bar", [row["name"] for row in shown], [
        {"label": label("ratings", r), "data": [row[r] for row in shown]} for r in RATINGS],
        stacked=True, horizontal=True)
    return Page({"ratings": Table("ratings", [("name", "text"), ("useful", "int"), ("typed", "int"),
                                              ("not_useful", "int"), ("total", "int"), ("useful_share", "share")],
                                  rows, codes=[("key", "text")])}, [chart], {"by": by, "groupings": ("intent", "procedure")})


def missing_procedures(engine: Engine, f: Filters, args: Args) -> Page:
    rows = service.unmet_procedures(engine, f)
    for row in rows:
        row["tier_name"] = label("unmet_kinds", row["kind"])
    shown = rows[:15]
    chart = Chart("missing", "bar", [row["name"] for row in shown],
                  [{"label": label("columns", "asks"), "data": [row["asks"] for row in shown]}], horizontal=True)
    table = Table("missing", [("name", "text"), ("tier_name", "text"), ("asks", "int"), ("citizens", "int"),
                              ("agency", "text"), ("examples", "text"), ("last_day", "date"),
                              ("national_code", "text")], rows)
    return Page({"missing": table}, [chart], {"rows": rows, "total": sum(r["asks"] for r in rows)})


def latency(engine: Engine, f: Filters, args: Args) -> Page:
    data = queries.latency_per_day(engine, f)
    chart = Chart("latency", "line", [_day(row["day"]) for row in data["per_day"]], [
        {"label": label("columns", "p50_ms"), "data": [_seconds(row["p50_ms"]) for row in data["per_day"]]},
        {"label": label("columns", "p95_ms"), "data": [_seconds(row["p95_ms"]) for row in data["per_day"]]}],
        unit="giây")
    return Page({"days": Table("days", [("day", "date"), ("replies", "int"), ("p50_ms", "ms"), ("p95_ms", "ms")],
                               data["per_day"])}, [chart], {"overall": data["overall"]})


def report(engine: Engine, monday: dt.date) -> Page:
    """The weekly report for leaders: per field and per locality against the targets, with the
    change from the week before."""
    data = online.weekly(engine, monday)
    measures = [("procedure_viewed", "int"), ("submitted", "int"), ("progress", "share"), ("target", "share"),
                ("attainment", "share"), ("progress_before", "share"), ("change", "change"),
                ("top_reason_name", "text")]
    for by, rows in (("field", data["field"]), ("locality", data["locality"])):
        for row in rows:
            row["top_reason_name"] = label("reasons", row["top_reason"]) if row.get("top_reason") else ""
            row["field_name" if by == "field" else "place"] = row["name"]
    reasons = [{"reason_name": label("reasons", r), "total": n, "reason": r}
               for r, n in sorted(data["reasons"].items(), key=lambda item: -item[1]) if n]
    return Page({"field": Table("field", [("field_name", "text"), *measures], data["field"], codes=[("key", "text")]),
                 "locality": Table("locality", [("place", "text"), *measures], data["locality"],
                                   codes=[("key", "text")]),
                 "reasons": Table("reasons", [("reason_name", "text"), ("total", "int")], reasons,
                                  codes=[("reason", "text")])},
                context={"week": data["week"], "before": data["before"], "totals": data["totals"]})


def _seconds(ms: Optional[float]) -> Optional[float]:
    return round(ms / 1000, 2) if ms is not None else None


def citizen_code(sender_id: str) -> str:
    """A short stable code that tells citizens apart without showing their channel id."""
    return hashlib.sha256(sender_id.encode("utf-8")).hexdigest()[:8]


def conversation_list(engine: Engine, f: Filters, page: int) -> List[Dict[str, Any]]:
    rows = queries.conversation_list(engine, f, limit=50, offset=50 * page)
    for row in rows:
        row["citizen"] = citizen_code(row["sender_id"])
        row["channel_name"] = label("channels", row["channel"])
        row["procedure_name"] = names.names().procedure(row["procedure"]) if row["procedure"] else ""
    return rows


# -- formats --------------------------------------------------------------------------------

def local_time(value: Any) -> Optional[dt.datetime]:
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    moment = utc(value)
    return moment.astimezone(LOCAL_TZ) if moment is not None else None


def display(value: Any, kind: str) -> str:
    """A cell as staff read it (Vietnamese number formats)."""
    if value is None or value == "":
        return "—"
    if kind == "int":
        return f"{int(value):,}".replace(",", ".")
    if kind == "share":
        return f"{float(value) * 100:.1f} %".replace(".", ",")
    if kind == "number":
        return f"{float(value):.2f}".replace(".", ",")
    if kind == "ms":
        return f"{float(value) / 1000:.2f} giây".replace(".", ",")
    if kind == "change":  # a change of a share, in percentage points
        points = float(value) * 100
        return ("0 điểm %" if abs(points) < 0.05 else f"{points:+.1f} điểm %").replace(".", ",")
    if kind == "date":
        return value.strftime("%d/%m/%Y") if isinstance(value, dt.date) else str(value)
    if kind == "datetime":
        moment = local_time(value)
        return moment.strftime("%d/%m/%Y %H:%M") if moment else "—"
    return str(value)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any, kind: str) -> str:
    """A cell of an export: plain numbers and ISO dates; text never starts a spreadsheet formula."""
    if value is None:
        return ""
    if kind == "date":
        return value.isoformat() if isinstance(value, dt.date) else str(value)
    if kind == "datetime":
        moment = local_time(value)
        return moment.isoformat(timespec="seconds") if moment else ""
    if kind in ("int", "share", "number", "ms", "change"):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def to_csv(table: Table) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    columns = table.columns + table.codes
    writer.writerow([table.header(key) for key, _ in columns])
    for row in table.rows:
        writer.writerow([csv_cell(row.get(key), kind) for key, kind in columns])
    return "\ufeff" + buffer.getvalue()  # the BOM lets spreadsheet programs read Vietnamese


Builder = Callable[..., Page]
PAGES: Dict[str, Tuple[str, Builder]] = {
    # path → (template, builder)
    "/": ("overview.html", overview),
    "/intents": ("intents.html", intents),
    "/procedures": ("procedures.html", procedures),
    "/not-understood": ("not_understood.html", not_understood),
    "/funnel": ("funnel.html", funnel),
    "/offline": ("offline.html", offline),
    "/lookups": ("lookups.html", lookups),
    "/handoffs": ("handoffs.html", handoffs),
    "/missing-procedures": ("missing_procedures.html", missing_procedures),
    "/satisfaction": ("satisfaction.html", satisfaction),
    "/latency": ("latency.html", latency),
}
FILE_NAMES = {"/": "tong-quan", "/intents": "y-dinh", "/procedures": "thu-tuc", "/not-understood": "chua-hieu",
              "/funnel": "nop-truc-tuyen", "/offline": "ly-do-chua-nop-truc-tuyen", "/lookups": "tra-cuu-ho-so",
              "/handoffs": "gap-can-bo-phan-anh", "/missing-procedures": "thu-tuc-chua-co", "/satisfaction": "muc-do-hai-long", "/latency": "thoi-gian-phan-hoi",
              "/report": "bao-cao-tuan"}


def export_name(path: str, table: str, f: Filters, extension: str = "csv") -> str:
    return f"{FILE_NAMES.get(path, 'bang')}-{table}-{f.start.isoformat()}_{f.end.isoformat()}.{extension}"


def table_rows(page: Page, name: Optional[str]) -> Table:
    if name and name in page.tables:
        return page.tables[name]
    return next(iter(page.tables.values()))

