"""Dossier lookups cannot be brute-forced: failures count per sender and per dossier code across
every sender and channel (bot/actions/lookup_lockout.py).

The policy on SQLite and PostgreSQL directly; then through a running assistant, as an attacker
would try it: a new sender id for every guess, through REST, the website widget (socket.io) and
Zalo; the lock surviving a restart; the one-stop system's own refusal honoured.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from pathlib import Path
from typing import Iterator, List

import pytest
import requests

from bot import clock
from bot.actions import lookup_lockout
from bot.store import db
from tests.conftest import Assistant, temporary_postgres_database
from tests.fakes.widget import Widget
from tests.fakes.zalo_api import FakeZaloApi, signed_event, zalo_event

POLICY = lookup_lockout.Policy(sender_failures=5, code_failures=10, minutes=15)
CODE = "000.00.14.H46-261123-0015"
T0 = dt.datetime(2026, 12, 2, 8, 0, tzinfo=dt.timezone.utc)


# -- the policy, on both databases -------------------------------------------------------------

@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path: Path):
    if request.param == "sqlite":
        yield db.engine_for(f"sqlite:///{tmp_path / 'assistant.db'}")
        return
    with temporary_postgres_database() as url:
        engine = db.engine_for(url)
        yield engine
        engine.dispose()


def fail(engine, sender: str, code: str = CODE, minute: float = 0.0):
    return lookup_lockout.record_failure(engine, POLICY, sender, code, "rest", T0 + dt.timedelta(minutes=minute))


def test_ten_failures_from_ten_senders_lock_the_code_for_everyone(engine):
    for i in range(9):
        assert fail(engine, f"guesser-{i}", minute=i) is None
    assert lookup_lockout.refusal(engine, "owner", CODE, T0 + dt.timedelta(minutes=9)) is None
    locked = fail(engine, "guesser-9", minute=9)
    assert locked is not None and locked.scope == "dossier"
    # the owner, any new sender, a minute before the end of the lock: refused
    for sender in ("owner", "guesser-0", "somebody-new"):
        refusal = lookup_lockout.refusal(engine, sender, CODE, T0 + dt.timedelta(minutes=23))
        assert refusal is not None and refusal.scope == "dossier" and refusal.minutes_left(
            T0 + dt.timedelta(minutes=23)) == 1
    # other codes are not affected; 15 minutes after the lock it is over
    assert lookup_lockout.refusal(engine, "owner", "000.00.12.H46-261117-0031", T0 + dt.timedelta(minutes=10)) is None
    assert lookup_lockout.refusal(engine, "owner", CODE, T0 + dt.timedelta(minutes=24, seconds=1)) is None


def test_failures_older_than_the_window_do_not_count(engine):
    for i in range(9):
        fail(engine, f"slow-{i}", minute=i * 2)  # minutes 0..16
    # at minute 17 the first failure (minute 0) and the second (2) fell out of the window
    assert fail(engine, "slow-9", minute=17) is None
    assert lookup_lockout.refusal(engine, "x", CODE, T0 + dt.timedelta(minutes=17)) is None


def test_five_failures_of_one_sender_lock_that_sender_only(engine):
    for i in range(4):
        assert fail(engine, "typo-prone", code=f"000.00.1{i}.H46-261123-0015", minute=i) is None
    locked = fail(engine, "typo-prone", code="000.00.19.H46-261123-0015", minute=4)
    assert locked is not None and locked.scope == "sender"
    assert lookup_lockout.refusal(engine, "typo-prone", "000.00.20.H46-261123-0015", T0 + dt.timedelta(minutes=5))
    assert lookup_lockout.refusal(engine, "neighbour", "000.00.19.H46-261123-0015", T0 + dt.timedelta(minutes=5)) is None


def test_a_verified_lookup_forgives_the_sender_but_not_the_code(engine):
    for i in range(4):
        fail(engine, "owner", minute=i)
    lookup_lockout.record_success(engine, "owner")
    for i in range(4):  # four more of their own: still no sender lock
        assert fail(engine, "owner", code=f"000.00.3{i}.H46-261123-0015", minute=5 + i) is None
    for i in range(5):  # the code's four failures still count: 4 + 6 = 10
        result = fail(engine, f"prober-{i}", minute=10)
    assert fail(engine, "prober-5", minute=10).scope == "dossier"
    assert result is None


def test_the_one_stop_systems_lock_lasts_its_retry_after(engine):
    lookup_lockout.record_onestop_lock(engine, POLICY, CODE, 90, "zalo", T0)
    assert lookup_lockout.refusal(engine, "anyone", CODE, T0 + dt.timedelta(seconds=89)).scope == "onestop"
    assert lookup_lockout.refusal(engine, "anyone", CODE, T0 + dt.timedelta(seconds=91)) is None


def test_locks_survive_a_new_engine_on_the_same_file(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'restart.db'}"
    first = db.engine_for(url)
    for i in range(10):
        fail(first, f"g-{i}")
    first.dispose()
    db.engine_for.cache_clear()
    again = db.engine_for(url)
    assert lookup_lockout.refusal(again, "owner", CODE, T0 + dt.timedelta(minutes=1)).scope == "dossier"


# -- through a running assistant ---------------------------------------------------------------

OA_SECRET = "oasecret"
LOCKED_WORDS = "tạm khóa tra cứu"


class Stack:
    def __init__(self, app_db_url: str) -> None:
        self.zalo = FakeZaloApi(app_id="app1", app_secret="appsecret", access_token="tok1",
                                refresh_token="ref1").start()
        self.app_db_url = app_db_url
        self.assistant = self.start()

    def start(self) -> Assistant:
        running = Assistant(extra_env={
            "APP_DB_URL": self.app_db_url, "ZALO_APP_ID": "app1", "ZALO_APP_SECRET": "appsecret",
            "ZALO_OA_SECRET_KEY": OA_SECRET, "ZALO_ACCESS_TOKEN": "tok1", "ZALO_REFRESH_TOKEN": "ref1",
            "ZALO_API_URL": self.zalo.url, "ZALO_OAUTH_URL": self.zalo.url})
        running.wait_ready()
        return running

    def restart(self) -> None:
        self.assistant.stop()
        self.assistant = self.start()

    def sandbox(self, path: str, body: dict) -> requests.Response:
        return requests.post(f"http://127.0.0.1:{self.assistant.sandbox_port}{path}", json=body, timeout=10,
                             headers={"Authorization": "Bearer sandbox-token"})

    def new_dossier(self) -> str:
        reply = self.sandbox("/sandbox/dossiers", {
            "procedure_id": "tam_tru", "procedure_name": "Đăng ký tạm trú", "status": 4,
            "applicant": {"name": "Lê Văn Cường", "phone": "0935777888", "id_number": "049195001234"}})
        assert reply.status_code == 201, reply.text
        return reply.json()["code"]

    # one lookup = the code, then the verification value, each channel as a citizen uses it
    def rest(self, code: str, value: str, sender: str = "") -> str:
        sender = sender or f"rest-{uuid.uuid4().hex[:8]}"
        first = self.assistant.say(sender, f"tra cứu hồ sơ {code}")
        said = " ".join(m.get("text", "") for m in first)
        if LOCKED_WORDS in said:
            return said
        return said + " " + " ".join(m.get("text", "") for m in self.assistant.say(sender, value))

    def widget(self, code: str, value: str) -> str:
        client = Widget(self.assistant.url)
        try:
            said = " ".join(client.say(f"tra cứu hồ sơ {code}"))
            if LOCKED_WORDS in said:
                return said
            return said + " " + " ".join(client.say(value))
        finally:
            client.close()

    def zalo_say(self, user: str, text: str) -> str:
        before = len(self.zalo.sent_to(user))
        raw, headers = signed_event(zalo_event("user_send_text", user, text), OA_SECRET)
        reply = requests.post(f"{self.assistant.url}/webhooks/zalo/webhook", data=raw, headers=headers, timeout=10)
        assert reply.status_code == 200, reply.text
        deadline, quiet_since, seen = time.monotonic() + 30, time.monotonic(), before
        while time.monotonic() < deadline:
            time.sleep(0.1)
            count = len(self.zalo.sent_to(user))
            if count != seen:
                seen, quiet_since = count, time.monotonic()
            elif count > before and time.monotonic() - quiet_since >= 1.0:
                break
        return " ".join(self.zalo.texts_to(user)[before:])

    def zalo_lookup(self, code: str, value: str) -> str:
        user = f"{uuid.uuid4().int % 10 ** 15}"
        said = self.zalo_say(user, f"tra cứu hồ sơ {code}")
        if LOCKED_WORDS in said:
            return said
        return said + " " + self.zalo_say(user, value)

    def stop(self) -> None:
        self.assistant.stop()
        self.zalo.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp("lockout-app-db")
    running = Stack(f"sqlite:///{folder / 'assistant.db'}")
    try:
        yield running
    finally:
        running.stop()


def shows_status(answer: str) -> bool:
    return "Tình trạng" in answer or "Đang xử lý" in answer


@pytest.mark.integration
def test_rotating_sender_ids_on_rest_cannot_guess_the_verification_value(stack):
    """The issue's sequence: twelve wrong values from twelve new senders, then the right one."""
    code = stack.new_dossier()
    answers: List[str] = [stack.rest(code, f"{1000 + i}") for i in range(12)]
    assert all(not shows_status(a) for a in answers)
    assert all("Không tìm thấy hồ sơ khớp" in a for a in answers[:10])
    assert LOCKED_WORDS in answers[9] and all(LOCKED_WORDS in a for a in answers[10:])
    right = stack.rest(code, "7888")
    assert not shows_status(right) and LOCKED_WORDS in right and "1022" in right  # refused, with the hotline
    # another dossier is looked up normally meanwhile
    other = stack.new_dossier()
    assert shows_status(stack.rest(other, "7888"))


@pytest.mark.integration
def test_failures_on_rest_socketio_and_zalo_add_up_to_one_lock(stack):
    code = stack.new_dossier()
    answers = [stack.rest(code, f"{2000 + i}") for i in range(4)]
    answers += [stack.widget(code, f"{3000 + i}") for i in range(3)]
    answers += [stack.zalo_lookup(code, f"{4000 + i}") for i in range(3)]
    assert all(not shows_status(a) for a in answers) and LOCKED_WORDS in answers[-1], answers[-1]
    for attempt in (stack.zalo_lookup(code, "7888"), stack.widget(code, "7888"), stack.rest(code, "049195001234")):
        assert LOCKED_WORDS in attempt and not shows_status(attempt), attempt


@pytest.mark.integration
def test_the_one_stop_systems_refusal_is_honoured(stack):
    code = stack.new_dossier()
    assert stack.sandbox(f"/sandbox/dossiers/{code}/lock", {"seconds": 600}).status_code == 200
    refused = stack.rest(code, "7888")
    assert LOCKED_WORDS in refused and not shows_status(refused)
    # remembered: the next citizen is told without the one-stop system being asked again
    assert stack.sandbox(f"/sandbox/dossiers/{code}/lock", {"seconds": 0}).status_code == 200
    assert LOCKED_WORDS in stack.rest(code, "7888")


@pytest.mark.integration
def test_a_lock_survives_a_restart(stack):
    code = stack.new_dossier()
    for i in range(10):
        stack.rest(code, f"{5000 + i}")
    stack.restart()
    code_after = "000.00.14.H46-261123-0015"  # a demo dossier of the new sandbox, never guessed
    assert shows_status(stack.rest(code_after, "0284"))
    # the sandbox starts afresh, but the lock of `code` lives in the assistant's database
    engine = db.engine_for(stack.app_db_url)
    assert lookup_lockout.refusal(engine, "anyone", code, clock.now()) is not None
    refused = stack.rest(code, "7888")
    assert LOCKED_WORDS in refused


@pytest.mark.integration
def test_the_one_stop_systems_rate_limit_is_told_and_not_retried(stack):
    """Last in this module: a 429 holds every lookup of the action server for its Retry-After."""
    code = "000.00.12.H46-261117-0031"  # a demo dossier nobody guessed
    stack.sandbox("/sandbox/faults", {"mode": "rate_limited"})
    try:
        busy = stack.rest(code, "8075")
    finally:
        stack.sandbox("/sandbox/faults", {"mode": "none"})
    assert not shows_status(busy) and LOCKED_WORDS not in busy and "1022" in busy
    # honoured: for its Retry-After the one-stop system is not asked again
    assert not shows_status(stack.rest(code, "8075"))
