"""The weekly report's numbers: a week against its targets and the week before."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert

from bot.analytics import filters, online, targets
from bot.store.models import funnel_events

MONDAY = dt.date(2026, 3, 9)
ICT = dt.timezone(dt.timedelta(hours=7))


def event(sender: str, stage: str, day: dt.date, locality, field="ho_tich", procedure="khai_sinh") -> dict:
    at = dt.datetime.combine(day, dt.time(23, 30), ICT).astimezone(dt.timezone.utc)  # late: still that local day
    return {"sender_id": sender, "channel": "zalo", "procedure_id": procedure, "field": field,
            "locality": locality, "stage": stage, "at": at}


def test_a_week_against_its_targets_and_the_week_before(stores):
    sunday_before = MONDAY - dt.timedelta(days=1)
    rows = [event("a", "procedure_viewed", sunday_before, "phuong-tam-ky"),
            event("b", "procedure_viewed", sunday_before, "phuong-tam-ky"),
            event("b", "submitted", sunday_before, "phuong-tam-ky")]  # the week before: 1 of 2
    rows += [event(s, "procedure_viewed", MONDAY + dt.timedelta(days=6), "phuong-tam-ky") for s in "cdef"]
    rows += [event(s, "submitted", MONDAY, "phuong-tam-ky") for s in "cde"]  # this week: 3 of 4
    rows += [event("g", "procedure_viewed", MONDAY, None), event("h", "procedure_viewed", MONDAY, "Duy Xuyên")]
    rows += [event("z", "procedure_viewed", MONDAY + dt.timedelta(days=7), "phuong-tam-ky")]  # the next week
    with stores.app.begin() as connection:
        connection.execute(insert(funnel_events), rows)
    targets.set_target(stores.app, "locality", "phuong-tam-ky", 0.5, "admin")

    report = online.weekly(stores.app, MONDAY)
    places = {row["name"]: row for row in report["locality"]}
    assert list(places) == ["phường Tam Kỳ", "huyện Duy Xuyên (cũ)", "Không rõ địa bàn"]
    tam_ky = places["phường Tam Kỳ"]
    assert (tam_ky["procedure_viewed"], tam_ky["submitted"], tam_ky["progress"]) == (4, 3, 0.75)
    assert (tam_ky["target"], tam_ky["attainment"]) == (0.5, 1.5)
    assert (tam_ky["viewed_before"], tam_ky["progress_before"], tam_ky["change"]) == (2, 0.5, 0.25)
    assert places["huyện Duy Xuyên (cũ)"]["change"] is None  # nothing the week before to compare
    assert report["totals"]["viewed"] == 6 and report["totals"]["submitted"] == 3


def test_weeks_are_read_as_iso_weeks_and_default_to_the_last_full_week():
    assert filters.parse_week("2026-W11") == (MONDAY, False)
    assert filters.parse_week(None, on=dt.date(2026, 3, 18)) == (MONDAY, False)
    assert filters.parse_week("tuần trước", on=dt.date(2026, 3, 18)) == (MONDAY, True)
    assert filters.parse_week("2026-W99", on=dt.date(2026, 3, 18)) == (MONDAY, True)
    assert filters.week_code(MONDAY) == "2026-W11"
