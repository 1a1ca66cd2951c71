"""The embedded default runs a Rasa server per core behind nginx, on the SQLite files alone:
a conversation continues on any server, one message at a time, and limits count across them."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.config import MAX_DEFAULT_RASA_SERVERS, load_settings
from tests.conftest import Assistant, free_port_block, tracker_rows, wait_for_rasa
from tests.test_balancer import answered, assert_simultaneous_messages_taken_one_at_a_time, say


@pytest.mark.parametrize("cores, servers", [(1, 1), (2, 2), (16, MAX_DEFAULT_RASA_SERVERS)])
def test_one_rasa_server_per_core_by_default(monkeypatch, cores, servers):
    monkeypatch.delenv("RASA_SERVERS", raising=False)
    monkeypatch.delenv("ASSISTANT_PROFILE", raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: cores)
    load_settings.cache_clear()
    assert load_settings().rasa_servers == servers
    monkeypatch.setenv("ASSISTANT_PROFILE", "production")  # production: as many as the operator sets
    load_settings.cache_clear()
    assert load_settings().rasa_servers == 1


@pytest.fixture(scope="module")
def two_servers():
    base = free_port_block()
    running = Assistant({"RASA_SERVERS": "2", "REPLICA_PORT_BASE": str(base), "RATE_LIMIT_MESSAGES": "8"})
    try:
        running.wait_ready(timeout=400)
        for port in (base, base + 1):
            wait_for_rasa(port, running.token)
        yield running, f"sqlite:///{running.var / 'rasa-tracker.db'}", [base, base + 1]
    finally:
        running.stop()


def test_a_form_alternating_between_the_servers_keeps_its_answers(two_servers):
    assistant, tracker_url, (first, second) = two_servers
    sender = f"alt-{uuid.uuid4().hex[:8]}"
    turns = [(first, "đk kết hôn cần j"), (second, "lệ phí bao nhiêu"), (first, "mất bao lâu")]
    for port, message in turns:
        answer = say(port, assistant.token, sender, message)
        assert "kết hôn" in answer[0]["text"].lower(), answer  # the procedure chosen is known to both
    stored = tracker_rows(tracker_url, sender)
    assert [json.loads(r.data)["text"] for r in stored if r.type_name == "user"] == [m for _, m in turns]
    assert len({r.id for r in stored}) == len(stored)


def test_simultaneous_messages_of_one_citizen_on_both_servers_are_taken_one_at_a_time(two_servers):
    assert_simultaneous_messages_taken_one_at_a_time(*two_servers)


def test_the_rate_limit_counts_across_the_servers(two_servers):
    assistant, _, (first, second) = two_servers
    sender = f"flood-{uuid.uuid4().hex[:6]}"
    statuses = [answered(first if i % 2 else second, sender, f"xin chào {i}")[0] for i in range(10)]
    assert statuses == [200] * 8 + [429, 429]


def test_citizens_are_answered_through_the_balancer_by_both_servers(two_servers):
    assistant, tracker_url, _ = two_servers
    senders = [f"lb-{uuid.uuid4().hex[:6]}-{i}" for i in range(8)]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda s: assistant.say(s, "thủ tục đăng ký khai sinh như thế nào"), senders))
    assert all("khai sinh" in a[0]["text"].lower() for a in answers)
