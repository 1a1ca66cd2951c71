"""Ingestion of a tracker store written by Rasa's own SQLTrackerStore."""

from __future__ import annotations

import pytest
from sqlalchemy import event, func, select

from bot.analytics import ingest as ingestion
from bot.privacy import MASK
from bot.analytics.models import conversations, handoffs, lookups, messages, tracker_events
from tests.analytics import seed


def count(engine, table, *where) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def tracker_count(stores) -> int:
    with stores.tracker.connect() as connection:
        return connection.execute(select(func.count()).select_from(tracker_events)).scalar_one()


def user_messages(stores, sender):
    with stores.app.connect() as connection:
        return [dict(r) for r in connection.execute(
            select(messages).where(messages.c.sender_id == sender, messages.c.actor == "user")
            .order_by(messages.c.event_id)).mappings()]


def table_snapshot(engine):
    with engine.connect() as connection:
        return {table.name: [tuple(r) for r in connection.execute(select(table).order_by(table.c.id))]
                for table in (messages, conversations, handoffs, lookups)}


async def write(stores, *parts):
    writer = seed.TrackerWriter(stores.tracker_url)
    try:
        for part in parts:
            await writer.save(part)
    finally:
        writer.dispose()


async def test_first_ingestion_turns_events_into_masked_facts(stores):
    await write(stores, seed.conversations_part_one())
    result = ingestion.ingest(stores.app, stores.tracker)

    assert result.events == tracker_count(stores) == ingestion.read_checkpoint(stores.app)
    assert count(stores.app, conversations) == 3
    assert count(stores.app, messages, messages.c.actor == "user") == 11
    assert count(stores.app, messages, messages.c.actor == "bot") == 11

    form = user_messages(stores, "tg-1001")
    assert [m["latency_ms"] for m in form] == [1000.0, 2000.0, 500.0, 1000.0, 3000.0, 4000.0]
    assert [m["procedure"] for m in form] == [None] + ["khai_sinh"] * 5
    assert [m["text"] for m in form[3:]] == [MASK, MASK, MASK]  # name, phone, ID answers
    assert not any(m["fallback"] for m in form)  # the name answer is a form answer, not a failure
    assert {m["channel"] for m in form} == {"telegram"}

    rest = user_messages(stores, "rest-2002")
    assert [m["fallback"] for m in rest] == [True, True, False]  # nlu_fallback, clarify, handoff
    assert rest[1]["text"] == f"tên tôi là {MASK}, số điện thoại {MASK}, hỏi về đất"
    assert rest[2]["locality"] == "phuong-tam-ky"  # stored as today's unit

    zalo = user_messages(stores, "zalo-3003")
    assert zalo[1]["text"] == MASK  # the verification value

    with stores.app.connect() as connection:
        everything = " ".join(t or "" for t in connection.execute(select(messages.c.text)).scalars())
        assert [tuple(r) for r in connection.execute(select(handoffs.c.sender_id, handoffs.c.kind))] == [
            ("rest-2002", "human_handoff")]
        assert [tuple(r) for r in connection.execute(select(lookups.c.sender_id, lookups.c.outcome))] == [
            ("zalo-3003", "found")]
        head = connection.execute(select(conversations).where(conversations.c.sender_id == "tg-1001")).mappings().one()
    for secret in ("0905123456", "049123456789", "Trần Thị Bích", "Lê Văn Tám", "0912 345 678", "5678"):
        assert secret not in everything
    assert head["message_count"] == 6 and head["channel"] == "telegram"


async def test_second_ingestion_reads_only_new_events_and_a_rerun_adds_nothing(stores):
    await write(stores, seed.conversations_part_one())
    first = ingestion.ingest(stores.app, stores.tracker)
    writer = seed.TrackerWriter(stores.tracker_url)
    try:
        await writer.save(seed.conversations_part_one())  # same trackers: nothing new is stored
        assert tracker_count(stores) == first.events
    finally:
        writer.dispose()

    # Every statement sent to the tracker store asks for ids above the checkpoint.
    bounds = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if "FROM events" in statement and "events.id >" in statement:
            bounds.append(parameters[0] if isinstance(parameters, (list, tuple)) else parameters)

    await write(stores, seed.conversations_part_one(), seed.conversations_part_two())
    added = tracker_count(stores) - first.events
    assert added > 0
    event.listen(stores.tracker, "before_cursor_execute", capture)
    try:
        second = ingestion.ingest(stores.app, stores.tracker)
    finally:
        event.remove(stores.tracker, "before_cursor_execute", capture)
    assert second.events == added
    assert bounds and bounds[0] == first.last_event_id

    # The complaint of the known citizen continues its conversation; one new citizen.
    assert count(stores.app, conversations) == 4
    zalo = user_messages(stores, "zalo-3003")
    assert [m["intent"] for m in zalo] == ["check_dossier_status", "inform", "complain", "check_dossier_status"]
    assert [m["latency_ms"] for m in zalo] == [1000.0, 2000.0, 3000.0, 5000.0]
    assert count(stores.app, lookups) == 2 and count(stores.app, handoffs) == 2

    before = table_snapshot(stores.app)
    again = ingestion.ingest(stores.app, stores.tracker)
    assert again.events == 0 and again.last_event_id == second.last_event_id
    assert table_snapshot(stores.app) == before


async def test_small_batches_give_the_same_tables(stores, tmp_path):
    await write(stores, seed.conversations_part_one(), seed.conversations_part_two())
    whole = ingestion.ingest(stores.app, stores.tracker)
    assert whole.batches == 1

    from bot.analytics import engines

    other = engines.app_engine(f"sqlite:///{tmp_path / 'batched.db'}")
    batched = ingestion.ingest(other, stores.tracker, batch_size=4)
    assert batched.batches > 10 and batched.events == whole.events
    assert table_snapshot(other) == table_snapshot(stores.app)


async def test_a_paced_run_lets_another_writer_in_between_its_batches(stores, tmp_path, monkeypatch):
    """The background run pauses between batches with the write lock released: the action
    server, writing to the same SQLite file, gets its turn during a long run."""
    import sqlite3
    import threading
    import time

    await write(stores, seed.conversations_part_one(), seed.conversations_part_two())
    batches_began = []
    real_run = ingestion._Batch.run

    def timed_run(self, rows):
        batches_began.append(time.monotonic())
        real_run(self, rows)

    monkeypatch.setattr(ingestion._Batch, "run", timed_run)

    def writes_between_batches(pause_s: float) -> int:
        run = threading.Thread(target=ingestion.ingest, args=(stores.app, stores.tracker),
                               kwargs={"batch_size": 4, "pause_s": pause_s})
        writer = sqlite3.connect(str(tmp_path / "assistant.db"), timeout=0, isolation_level=None)
        got_in = []
        run.start()
        while run.is_alive():
            try:
                writer.execute("BEGIN IMMEDIATE")
                writer.execute("COMMIT")
                got_in.append(time.monotonic())
            except sqlite3.OperationalError:  # "database is locked": a batch is being written
                pass
            time.sleep(0.002)
        run.join()
        writer.close()
        assert len(batches_began) > 10
        return sum(batches_began[0] < moment < batches_began[-1] for moment in got_in)

    assert writes_between_batches(0.05) >= 5


async def test_a_failed_batch_leaves_the_checkpoint_and_nothing_half_written(stores, monkeypatch):
    await write(stores, seed.conversations_part_one())
    calls = {"n": 0}
    real_write = ingestion._Batch._write

    def failing_write(self):
        calls["n"] += 1
        real_write(self)
        if calls["n"] == 2:
            raise RuntimeError("disk full")

    monkeypatch.setattr(ingestion._Batch, "_write", failing_write)
    with pytest.raises(RuntimeError):
        ingestion.ingest(stores.app, stores.tracker, batch_size=10)
    assert ingestion.read_checkpoint(stores.app) == 10
    assert count(stores.app, messages) == count(stores.tracker, tracker_events, tracker_events.c.id <= 10,
                                                tracker_events.c.type_name.in_(("user", "bot")))
    monkeypatch.setattr(ingestion._Batch, "_write", real_write)
    ingestion.ingest(stores.app, stores.tracker, batch_size=10)
    assert count(stores.app, messages) == 22  # each message exactly once


def test_no_tracker_table_yet_reads_nothing(stores):
    result = ingestion.ingest(stores.app, stores.tracker)
    assert result.events == 0 and ingestion.read_checkpoint(stores.app) == 0


def test_the_command_line_runs_one_ingestion(seeded, monkeypatch, capsys):
    from bot.analytics.__main__ import main

    monkeypatch.setenv("APP_DB_URL", seeded.app_url)
    monkeypatch.setenv("TRACKER_DB_URL", seeded.tracker_url)
    assert main(["ingest"]) == 0
    assert "0 events read from the tracker" in capsys.readouterr().out
