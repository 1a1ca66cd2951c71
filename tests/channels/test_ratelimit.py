"""Per-sender rate limits: a flood is refused before Rasa, other citizens are not touched."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import create_engine, text

from bot.channels.ratelimit import RateLimiter, Verdict
from tests.conftest import Assistant


@pytest.mark.parametrize("shared", [None, "redis", "file"])
def test_the_limit_is_per_sender_and_channel_and_tells_once(shared, tmp_path):
    limiter = RateLimiter(messages=3, window_s=60, redis_url="redis://127.0.0.1:6379/9" if shared == "redis" else None,
                          sqlite_path=tmp_path / "rate.db" if shared == "file" else None)
    sender = uuid.uuid4().hex
    verdicts = [limiter.check("rest", sender) for _ in range(6)]
    assert verdicts == [Verdict.ALLOW] * 3 + [Verdict.TELL, Verdict.DROP, Verdict.DROP]
    assert limiter.check("telegram", sender) is Verdict.ALLOW
    assert limiter.check("rest", uuid.uuid4().hex) is Verdict.ALLOW


def test_two_servers_share_the_count_through_redis():
    first, second = (RateLimiter(messages=4, window_s=60, redis_url="redis://127.0.0.1:6379/9") for _ in range(2))
    sender = uuid.uuid4().hex
    verdicts = [(first if i % 2 else second).check("rest", sender) for i in range(6)]
    assert verdicts.count(Verdict.ALLOW) == 4


def test_two_servers_on_one_machine_share_the_count_through_a_file(tmp_path):
    first, second = (RateLimiter(messages=4, window_s=60, sqlite_path=tmp_path / "rate.db") for _ in range(2))
    sender = uuid.uuid4().hex
    verdicts = [(first if i % 2 else second).check("rest", sender) for i in range(6)]
    assert verdicts == [Verdict.ALLOW] * 4 + [Verdict.TELL, Verdict.DROP]


def test_a_locked_count_file_lets_citizens_through(tmp_path):
    import sqlite3

    limiter = RateLimiter(messages=1, window_s=60, sqlite_path=tmp_path / "rate.db")
    assert limiter.check("rest", "s") is Verdict.ALLOW
    holder = sqlite3.connect(tmp_path / "rate.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        assert limiter.check("rest", "s") is Verdict.ALLOW  # waited 2 s, then let through
    finally:
        holder.execute("ROLLBACK")
    assert limiter.check("rest", "s") is Verdict.TELL  # counting again once the file is free


def test_zero_turns_it_off():
    limiter = RateLimiter(messages=0, window_s=60)
    assert {limiter.check("rest", "s") for _ in range(100)} == {Verdict.ALLOW}


@pytest.fixture(scope="module")
def strict():
    running = Assistant({"RATE_LIMIT_MESSAGES": "3", "RATE_LIMIT_WINDOW_S": "120"})
    try:
        running.wait_ready()
        yield running
    finally:
        running.stop()


def test_a_flood_on_the_rest_channel_is_refused_and_not_stored(strict):
    flooder, neighbour = f"flood-{uuid.uuid4().hex[:6]}", f"calm-{uuid.uuid4().hex[:6]}"
    replies = [strict.post(json.dumps({"sender": flooder, "message": f"xin chào {i}"}).encode()) for i in range(6)]
    assert [status for status, _ in replies] == [200, 200, 200, 429, 429, 429]
    assert "quá nhanh" in replies[3][1][0]["text"] and replies[4][1] == [] and replies[5][1] == []
    assert strict.say(neighbour, "xin chào")  # another citizen is answered as usual
    engine = create_engine(f"sqlite:///{strict.var / 'rasa-tracker.db'}", future=True)
    with engine.connect() as connection:
        texts = [json.loads(d)["text"] for d in connection.execute(text(
            "SELECT data FROM events WHERE sender_id = :s AND type_name = 'user'").bindparams(s=flooder)).scalars()]
    engine.dispose()
    assert texts == ["xin chào 0", "xin chào 1", "xin chào 2"]
