"""Events the broker never delivered are copied from the tracker store, once."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine, func, insert, select

from bot.analytics.broker_rows import rows_of, store
from bot.analytics.engines import app_engine
from bot.analytics.models import broker_events, tracker_events, tracker_metadata
from bot.analytics.reconcile import reconcile

NOW = 1_800_000_000.0
GRACE_S = 120.0


@pytest.fixture(params=["sqlite", "postgresql"])
def databases(request, tmp_path):
    if request.param == "sqlite":
        tracker_url, app_url = f"sqlite:///{tmp_path / 'tracker.db'}", f"sqlite:///{tmp_path / 'app.db'}"
    else:
        tracker_url = request.getfixturevalue("postgres_database")
        from tests.conftest import temporary_postgres_database

        app_context = temporary_postgres_database()
        app_url = app_context.__enter__()
        request.addfinalizer(lambda: app_context.__exit__(None, None, None))
    tracker = create_engine(tracker_url, future=True)
    tracker_metadata.create_all(tracker)  # Rasa's events table, as Rasa creates it
    app = app_engine(app_url)
    yield tracker, app
    tracker.dispose()
    app.dispose()


def event(text: str, at: float) -> dict:
    return {"event": "user", "timestamp": at, "text": text,
            "parse_data": {"intent": {"name": "ask_fee", "confidence": 0.9}, "entities": []}}


def write(tracker, sender: str, *events: dict) -> None:
    """What PostgresTrackerStore writes: one row per event, Rasa's columns."""
    with tracker.begin() as connection:
        connection.execute(insert(tracker_events), [
            {"sender_id": sender, "type_name": e["event"], "timestamp": e["timestamp"], "intent_name": "ask_fee",
             "action_name": None, "data": json.dumps(e)} for e in events])


def deliver(app, sender: str, *events: dict) -> int:
    """What the consumer stores when RabbitMQ delivers the batch."""
    return store(app, rows_of(json.dumps([{"sender_id": sender, **e} for e in events]).encode()))


def copies(app) -> list:
    with app.connect() as connection:
        return [(r.sender_id, json.loads(r.data)["text"]) for r in connection.execute(
            select(broker_events.c.sender_id, broker_events.c.data).order_by(broker_events.c.id))]


def test_undelivered_events_are_copied_once_and_late_deliveries_add_nothing(databases):
    tracker, app = databases
    old = [event(f"trước {i}", NOW - 900 + i) for i in range(2)]
    write(tracker, "a", *old)
    # the first run starts after what exists: history is never copied again
    assert reconcile(tracker, app, GRACE_S, clock=lambda: NOW) == 0 and copies(app) == []

    delivered = [event("đã tới 1", NOW - 600), event("đã tới 2", NOW - 599)]
    lost = [event("mất 1", NOW - 598), event("mất 2", NOW - 597)]  # the server died before publishing
    write(tracker, "a", *delivered)
    write(tracker, "b", *lost)
    deliver(app, "a", *delivered)
    assert reconcile(tracker, app, GRACE_S, clock=lambda: NOW) == 2
    assert sorted(copies(app)) == [("a", "đã tới 1"), ("a", "đã tới 2"), ("b", "mất 1"), ("b", "mất 2")]
    assert deliver(app, "b", *lost) == 0  # RabbitMQ delivers them after all: stored once
    assert reconcile(tracker, app, GRACE_S, clock=lambda: NOW) == 0  # nothing new since


def test_recent_rows_wait_for_their_grace_and_are_not_skipped(databases):
    tracker, app = databases
    reconcile(tracker, app, GRACE_S, clock=lambda: NOW)  # checkpoint at the (empty) start
    write(tracker, "c", event("cũ", NOW - 300))
    write(tracker, "c", event("mới", NOW - 10))  # its transaction may still have neighbours in flight
    write(tracker, "d", event("cũ hơn nhưng ghi sau", NOW - 200))  # committed after a younger row
    assert reconcile(tracker, app, GRACE_S, clock=lambda: NOW) == 1  # stops at the young row
    assert copies(app) == [("c", "cũ")]
    assert reconcile(tracker, app, GRACE_S, clock=lambda: NOW + GRACE_S) == 2
    assert sorted(copies(app)) == [("c", "cũ"), ("c", "mới"), ("d", "cũ hơn nhưng ghi sau")]
    with app.connect() as connection:
        assert connection.execute(select(func.count()).select_from(broker_events)).scalar_one() == 3


def test_a_tracker_store_without_rasas_table_yet_is_nothing_to_do(tmp_path):
    tracker = create_engine(f"sqlite:///{tmp_path / 'empty.db'}", future=True)
    assert reconcile(tracker, app_engine(f"sqlite:///{tmp_path / 'app.db'}"), GRACE_S, clock=lambda: NOW) == 0
