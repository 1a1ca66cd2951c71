"""What a staff page shows: a date range and a channel read from its query string (or an ISO
week for the weekly report), and the SQL conditions they mean.

Filters are bound parameters, never text in the SQL. Tables of the analytics carry their local
day; the app's own tables (funnel, offline reasons, ratings) are filtered on their UTC
timestamps between the range's local midnights.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from sqlalchemy import Table

from bot.clock import LOCAL_TZ

DEFAULT_DAYS = 30
MAX_RANGE_DAYS = 3 * 366
_CHANNEL = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


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


# -- weeks of the weekly report -------------------------------------------------------------

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


# -- what a filter means in SQL -------------------------------------------------------------

def by_day(table: Table, f: Filters) -> List[Any]:
    """Conditions on a table of the analytics, which carries its local day."""
    conditions = [table.c.day >= f.start, table.c.day <= f.end]
    if f.channel:
        conditions.append(table.c.channel == f.channel)
    return conditions


def by_time(table: Table, f: Filters) -> List[Any]:
    """Conditions on an app table, on its UTC timestamp."""
    conditions = [table.c.at >= f.start_utc, table.c.at < f.end_utc]
    if f.channel:
        conditions.append(table.c.channel == f.channel)
    return conditions


def days_of(f: Filters) -> List[dt.date]:
    """Every day of the range, in order."""
    return [f.start + dt.timedelta(days=n) for n in range((f.end - f.start).days + 1)]


def as_date(value: Any) -> dt.date:
    """A day as the database gives it back (a date, or text on SQLite)."""
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])
