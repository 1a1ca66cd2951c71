"""The embedded tracker store keeps Rasa's rows and semantics while answering from memory."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.rasa_plugins.tracker_store import EmbeddedTrackerStore

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(ROOT / "domain.yml"))


def run(coroutine):
    return asyncio.run(coroutine)


def turn(store, domain, sender: str, text: str, slot_value: str = None) -> None:
    tracker = run(store.retrieve(sender)) or DialogueStateTracker(sender, domain.slots)
    tracker.update(UserUttered(text, {"name": "hoi_thu_tuc", "confidence": 0.9}))
    if slot_value:
        tracker.update(SlotSet("procedure", slot_value))
    tracker.update(ActionExecuted("action_listen"))
    run(store.save(tracker))


def new_session(tracker, text: str) -> None:
    """What Rasa adds when a conversation starts a new session with this message."""
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update(SessionStarted())
    tracker.update(ActionExecuted("action_listen"))
    tracker.update(UserUttered(text, {"name": "hoi_thu_tuc", "confidence": 0.9}))


def texts(tracker) -> list:
    return [event.text for event in tracker.events if isinstance(event, UserUttered)]


def test_rows_are_rasas_own(tmp_path, domain):
    db = str(tmp_path / "tracker.db")
    ours = EmbeddedTrackerStore(domain=domain, dialect="sqlite", db=db)
    for text in ("khai sinh", "cần giấy tờ gì", "lệ phí"):
        turn(ours, domain, "citizen-1", text, slot_value="khai sinh")
    stock = SQLTrackerStore(domain=domain, dialect="sqlite", db=db)
    read_back = run(stock.retrieve("citizen-1"))
    assert texts(read_back) == ["khai sinh", "cần giấy tờ gì", "lệ phí"]
    assert read_back.get_slot("procedure") == "khai sinh"
    assert [e.as_dict() for e in read_back.events] == [e.as_dict() for e in run(ours.retrieve("citizen-1")).events]


def test_a_restarted_store_reads_what_the_previous_one_wrote(tmp_path, domain):
    db = str(tmp_path / "tracker.db")
    first = EmbeddedTrackerStore(domain=domain, dialect="sqlite", db=db)
    turn(first, domain, "citizen-2", "kết hôn")
    second = EmbeddedTrackerStore(domain=domain, dialect="sqlite", db=db)
    turn(second, domain, "citizen-2", "mất bao lâu")
    assert texts(run(second.retrieve("citizen-2"))) == ["kết hôn", "mất bao lâu"]
    assert texts(run(SQLTrackerStore(domain=domain, dialect="sqlite", db=db).retrieve("citizen-2"))) == [
        "kết hôn", "mất bao lâu"]


def test_a_new_session_hides_the_old_one_as_rasas_store_does(tmp_path, domain):
    db = str(tmp_path / "tracker.db")
    ours = EmbeddedTrackerStore(domain=domain, dialect="sqlite", db=db)
    turn(ours, domain, "citizen-3", "hộ chiếu")
    tracker = run(ours.retrieve("citizen-3"))
    new_session(tracker, "tạm trú")
    run(ours.save(tracker))
    turn(ours, domain, "citizen-3", "ở đâu")
    stock = SQLTrackerStore(domain=domain, dialect="sqlite", db=db)
    assert texts(run(ours.retrieve("citizen-3"))) == texts(run(stock.retrieve("citizen-3"))) == ["tạm trú", "ở đâu"]
    assert texts(run(stock.retrieve_full_tracker("citizen-3"))) == ["hộ chiếu", "tạm trú", "ở đâu"]


def test_more_conversations_than_it_remembers_stay_correct(tmp_path, domain):
    ours = EmbeddedTrackerStore(domain=domain, dialect="sqlite", db=str(tmp_path / "t.db"), cached_conversations=2)
    for round_ in range(3):
        for sender in ("a", "b", "c", "d"):
            turn(ours, domain, sender, f"{sender}{round_}")
    for sender in ("a", "b", "c", "d"):
        assert texts(run(ours.retrieve(sender))) == [f"{sender}0", f"{sender}1", f"{sender}2"]
    assert len(ours._sessions) <= 2


def test_two_servers_on_one_file_each_see_what_the_other_wrote(tmp_path, domain):
    """The embedded default runs a Rasa server per core on one file: a conversation's turns land
    on either, and neither may answer from a memory the other has made stale."""
    db = str(tmp_path / "t.db")
    servers = [EmbeddedTrackerStore(domain=domain, dialect="sqlite", db=db) for _ in range(2)]
    said = []
    for number, server in enumerate([0, 0, 1, 0, 1, 1, 0]):
        said.append(f"lượt {number}")
        turn(servers[server], domain, "citizen-7", said[-1])
        for reader in servers:
            assert texts(run(reader.retrieve("citizen-7"))) == said
    stock = SQLTrackerStore(domain=domain, dialect="sqlite", db=db)
    assert texts(run(stock.retrieve("citizen-7"))) == said
    assert len(run(stock.retrieve("citizen-7")).events) == 2 * len(said)  # every event stored once


def test_a_new_session_started_by_another_server_hides_the_old_one(tmp_path, domain):
    db = str(tmp_path / "t.db")
    first, second = (EmbeddedTrackerStore(domain=domain, dialect="sqlite", db=db) for _ in range(2))
    turn(first, domain, "citizen-8", "hộ chiếu")
    tracker = run(second.retrieve("citizen-8"))
    new_session(tracker, "tạm trú")
    run(second.save(tracker))
    turn(first, domain, "citizen-8", "ở đâu")
    assert texts(run(first.retrieve("citizen-8"))) == texts(run(second.retrieve("citizen-8"))) == ["tạm trú", "ở đâu"]


def test_unknown_conversation_is_none(tmp_path, domain):
    ours = EmbeddedTrackerStore(domain=domain, dialect="sqlite", db=str(tmp_path / "t.db"))
    assert run(ours.retrieve("nobody")) is None


def test_commits_do_not_wait_for_the_disk_and_readers_do_not_block(tmp_path, domain):
    db = tmp_path / "t.db"
    ours = EmbeddedTrackerStore(domain=domain, dialect="sqlite", db=str(db))
    turn(ours, domain, "citizen-4", "xin chào")
    with sqlite3.connect(db) as reader:
        assert reader.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        reader.execute("BEGIN")
        assert reader.execute("SELECT count(*) FROM events").fetchone()[0] == 2
        turn(ours, domain, "citizen-4", "tạm biệt")  # a reader's open transaction does not block it
        reader.execute("COMMIT")
        assert reader.execute("SELECT count(*) FROM events").fetchone()[0] == 4


def test_refuses_a_server_database(domain):
    with pytest.raises(ValueError, match="SQLite only"):
        EmbeddedTrackerStore(domain=domain, dialect="postgresql", host="127.0.0.1", db="test",
                             username="postgres")


def test_an_idle_conversation_is_read_back_from_the_table(tmp_path, domain):
    """Retention may delete or anonymise an idle conversation: memory must not resurrect it."""
    db = tmp_path / "t.db"
    ours = EmbeddedTrackerStore(domain=domain, dialect="sqlite", db=str(db), max_idle_s=0.2)
    turn(ours, domain, "citizen-5", "số điện thoại 0905123456")
    with sqlite3.connect(db) as connection:
        connection.execute("DELETE FROM events WHERE sender_id = 'citizen-5'")
    time.sleep(0.3)
    assert run(ours.retrieve("citizen-5")) is None


# -- production: PostgresTrackerStore on the real PostgreSQL -----------------------------------

def postgres_store(url: str, domain):
    from sqlalchemy.engine import make_url

    from bot.rasa_plugins.tracker_store import PostgresTrackerStore

    parsed = make_url(url)
    return PostgresTrackerStore(domain=domain, dialect="postgresql", host=parsed.host, port=parsed.port,
                                db=parsed.database, username=parsed.username)


def test_two_servers_taking_turns_store_every_event_once_in_rasas_rows(postgres_database, domain):
    first, second = postgres_store(postgres_database, domain), postgres_store(postgres_database, domain)
    for i, store in enumerate([first, second, second, first, second]):  # what the balancer does
        turn(store, domain, "citizen-pg", f"câu {i}", slot_value="kết hôn")
    stock = SQLTrackerStore(domain=domain, dialect="postgresql", host="127.0.0.1",
                            db=postgres_database.rsplit("/", 1)[1], username="postgres")
    read_back = run(stock.retrieve("citizen-pg"))
    assert texts(read_back) == [f"câu {i}" for i in range(5)]
    assert len(read_back.events) == 5 * 3  # user, slot, action_listen per turn: none twice, none lost


def test_a_save_without_a_retrieve_here_counts_what_is_stored(postgres_database, domain):
    store = postgres_store(postgres_database, domain)
    turn(store, domain, "citizen-pg2", "khai sinh")
    tracker = run(postgres_store(postgres_database, domain).retrieve("citizen-pg2"))  # read by another server
    tracker.update(UserUttered("lệ phí", {"name": "ask_fee", "confidence": 0.9}))
    run(store.save(tracker))  # this process never read this version: it must count, not guess
    assert texts(run(store.retrieve("citizen-pg2"))) == ["khai sinh", "lệ phí"]
