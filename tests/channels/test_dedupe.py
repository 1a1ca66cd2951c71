"""The log of handled events: shared by every Rasa server in production, today's stores in the embedded default."""

from __future__ import annotations

import time
import uuid
from functools import lru_cache
from pathlib import Path
from typing import Iterator, Tuple

import pytest
import redis
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.channels.dedupe import (
    SEEN_TTL_S,
    MemorySeenEvents,
    RedisSeenEvents,
    SeenEvents,
    SqliteSeenEvents,
    seen_events,
    stored_key,
)
from tests.conftest import free_port

REDIS_URL = "redis://127.0.0.1:6379/11"
RUN = uuid.uuid4().hex[:10]
ANY_KEY = st.text(alphabet=st.characters(blacklist_categories=()), max_size=300)  # lone surrogates too


@pytest.fixture(scope="module", autouse=True)
def redis_keys_of_this_run() -> Iterator[None]:
    yield
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(match=f"assistant:seen:*{RUN}*", count=1000):
        client.delete(key)
    client.close()


def settings_of(monkeypatch, var: Path, profile: str, redis_url: str = REDIS_URL):
    from bot.config import load_settings

    monkeypatch.setenv("ASSISTANT_PROFILE", profile)
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setattr("bot.config.VAR", var)  # VAR_DIR: each server its own disk
    return load_settings()


def test_two_servers_on_their_own_disks_see_an_event_once_in_production(monkeypatch, tmp_path):
    channel = f"zalo-{RUN}"
    first = seen_events(settings_of(monkeypatch, tmp_path / "a", "production"), channel, local_file="events.sqlite3")
    second = seen_events(settings_of(monkeypatch, tmp_path / "b", "production"), channel, local_file="events.sqlite3")
    assert [first.first_time("msg:1"), second.first_time("msg:1"), first.first_time("msg:1")] == [True, False, False]
    assert second.first_time("msg:2") and not first.first_time("msg:2")
    assert not list(tmp_path.rglob("*.sqlite3")), "production keeps nothing on the server's disk"


def test_a_key_lives_a_day_in_redis(monkeypatch, tmp_path):
    store = seen_events(settings_of(monkeypatch, tmp_path, "production"), f"telegram-{RUN}")
    assert isinstance(store, RedisSeenEvents) and store.first_time("123:42")
    ttl = redis.Redis.from_url(REDIS_URL).ttl(store.name("123:42"))
    assert SEEN_TTL_S - 60 < ttl <= SEEN_TTL_S == 24 * 3600


def test_the_embedded_profile_keeps_its_stores_and_never_asks_redis(monkeypatch, tmp_path):
    unreachable = f"redis://127.0.0.1:{free_port()}/11"
    monkeypatch.setenv("RASA_SERVERS", "1")
    settings = settings_of(monkeypatch, tmp_path, "embedded", redis_url=unreachable)
    telegram = seen_events(settings, "telegram")
    assert isinstance(telegram, MemorySeenEvents)
    assert telegram.first_time("123:1") and not telegram.first_time("123:1")
    assert seen_events(settings, "telegram").first_time("123:1")  # one server: memory, per process
    zalo = seen_events(settings, "zalo", local_file="zalo-events.sqlite3")
    assert isinstance(zalo, SqliteSeenEvents) and zalo.first_time("msg:1")
    restarted = seen_events(settings, "zalo", local_file="zalo-events.sqlite3")
    assert not restarted.first_time("msg:1")  # the file survives a restart, as before
    assert (tmp_path / "zalo-events.sqlite3").exists()


def test_several_embedded_rasa_servers_share_what_they_have_seen_through_a_file(monkeypatch, tmp_path):
    monkeypatch.setenv("RASA_SERVERS", "2")
    settings = settings_of(monkeypatch, tmp_path, "embedded", redis_url=f"redis://127.0.0.1:{free_port()}/11")
    first, second = seen_events(settings, "telegram"), seen_events(settings, "telegram")
    assert isinstance(first, SqliteSeenEvents)
    assert first.first_time("123:7") and not second.first_time("123:7")  # an update handled once


def test_an_unreachable_redis_is_logged_and_the_event_handled(caplog):
    store = RedisSeenEvents(f"redis://127.0.0.1:{free_port()}/11", "zalo")
    started = time.monotonic()
    assert store.first_time("msg:1") and store.first_time("msg:1")  # answered, twice rather than never
    assert time.monotonic() - started < 2.0  # inside Zalo's 2-second budget
    assert any(r.levelname == "ERROR" and "handled without dedupe" in r.getMessage() for r in caplog.records)


@lru_cache(maxsize=1)
def every_store(directory: Path) -> Tuple[SeenEvents, ...]:
    return MemorySeenEvents(), SqliteSeenEvents(directory / "seen.sqlite3"), RedisSeenEvents(REDIS_URL, f"any-{RUN}")


@settings(max_examples=60, deadline=None)
@given(key=ANY_KEY)
def test_any_key_from_a_request_body_is_stored_and_recognised(tmp_path_factory, key):
    stored = stored_key(key)
    assert stored.isascii() and stored.isprintable() and len(stored) <= 200
    unique = f"{uuid.uuid4().hex}:{key}"  # the examples must not see each other's keys
    for store in every_store(tmp_path_factory.getbasetemp()):
        assert store.first_time(unique) and not store.first_time(unique), type(store).__name__
