"""Retention: old conversations deleted, or anonymised, in the tracker, analytics and app tables."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import func, insert, select

from bot.analytics import ingest, retention
from bot.analytics.models import conversations, handoffs, lookups, messages, tracker_events
from bot.store.models import answer_ratings, funnel_events, offline_reasons
from tests.analytics import seed

# The seeded conversations happen in March 2026; "now" is a year and a half later.
NOW = dt.datetime(2027, 9, 1, tzinfo=dt.timezone.utc)


def recent_conversation():
    t = (NOW - dt.timedelta(days=3)).timestamp()
    return {"tg-9009": [
        seed.user("số tôi 0905999888", "inform", 0.8, t, "telegram"),
        seed.bot("Cảm ơn bạn.", t + 1),
    ]}


async def build(stores):
    writer = seed.TrackerWriter(stores.tracker_url)
    try:
        await writer.save(seed.conversations_part_one())
        await writer.save(seed.conversations_part_two())
        await writer.save(recent_conversation())
    finally:
        writer.dispose()
    seed.seed_app_tables(stores.app)
    with stores.app.begin() as connection:
        connection.execute(insert(funnel_events).values(
            sender_id="tg-9009", channel="telegram", procedure_id="khai_sinh", stage="procedure_viewed",
            at=NOW - dt.timedelta(days=3)))
    ingest.ingest(stores.app, stores.tracker)


def rows(engine, table, *columns):
    with engine.connect() as connection:
        return [tuple(r) for r in connection.execute(select(*(columns or (table,))))]


def count(engine, table):
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar_one()


async def test_delete_removes_old_conversations_everywhere_and_keeps_recent_ones(stores):
    await build(stores)
    result = retention.apply(stores.app, stores.tracker, days=365, on=NOW)

    assert {s for (s,) in rows(stores.tracker, tracker_events, tracker_events.c.sender_id)} == {"tg-9009"}
    assert result.rows["events"] == 48
    for table in (messages, conversations):
        assert {s for (s,) in rows(stores.app, table, table.c.sender_id)} == {"tg-9009"}
    for table in (handoffs, lookups, offline_reasons, answer_ratings):
        assert count(stores.app, table) == 0
    assert rows(stores.app, funnel_events, funnel_events.c.sender_id) == [("tg-9009",)]
    # Ingestion carries on after the deletion: nothing is read twice.
    assert ingest.ingest(stores.app, stores.tracker).events == 0


async def test_anonymise_masks_texts_and_hashes_senders_the_same_everywhere(stores):
    await build(stores)
    retention.apply(stores.app, stores.tracker, days=365, anonymise=True, on=NOW)

    senders = {s for (s,) in rows(stores.tracker, tracker_events, tracker_events.c.sender_id)}
    assert "tg-9009" in senders and len(senders) == 5
    assert all(s.startswith("anon-") for s in senders - {"tg-9009"})
    for original in ("tg-1001", "rest-2002", "zalo-3003", "tg-4004"):
        alias = retention.pseudonym(retention._key(stores.app), original)
        assert alias in senders
        for table in (messages, conversations):
            assert (alias,) in rows(stores.app, table, table.c.sender_id)
        assert (alias,) in rows(stores.app, funnel_events, funnel_events.c.sender_id)
        assert (original,) not in rows(stores.app, offline_reasons, offline_reasons.c.sender_id)

    old_data = " ".join(d for s, d in rows(stores.tracker, tracker_events, tracker_events.c.sender_id,
                                           tracker_events.c.data) if s != "tg-9009")
    for secret in ("0905123456", "049123456789", "Trần Thị Bích", "Lê Văn Tám", "0912 345 678", '"5678"'):
        assert secret not in old_data
    recent = [json.loads(d) for s, d in rows(stores.tracker, tracker_events, tracker_events.c.sender_id,
                                             tracker_events.c.data) if s == "tg-9009"]
    assert recent[0]["text"] == "số tôi 0905999888"  # younger than the cutoff: untouched

    # The counts of the old period survive anonymisation.
    from bot.analytics import filters, queries

    assert queries.overview(stores.app, filters.Filters(seed.DAY, seed.NEXT_DAY))["totals"]["citizens"] == 4
    before = rows(stores.tracker, tracker_events)
    again = retention.apply(stores.app, stores.tracker, days=365, anonymise=True, on=NOW)
    assert again.rows["events"] == 0 and rows(stores.tracker, tracker_events) == before


async def test_the_command_line(stores, monkeypatch, capsys):
    from bot.analytics.__main__ import main

    await build(stores)
    monkeypatch.setenv("APP_DB_URL", stores.app_url)
    monkeypatch.setenv("TRACKER_DB_URL", stores.tracker_url)
    assert main(["retention", "--days", "0"]) == 2
    assert main(["retention", "--days", "100000"]) == 0  # keeps everything
    assert "events: 0" in capsys.readouterr().out
    assert count(stores.tracker, tracker_events) == 50
