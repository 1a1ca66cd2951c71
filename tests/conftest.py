"""Shared fixtures: the trained model and a running assistant (real processes)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "current.tar.gz"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def free_port_block() -> int:
    """A base port for `REPLICA_PORT_BASE`: two Rasa servers (base, +1), two action servers (+50, +51)."""
    import random

    from bot.run.supervision import port_in_use

    while True:
        base = random.randrange(20000, 30000)  # below the ephemeral ports (32768-)
        if not any(port_in_use(p) for p in (base, base + 1, base + 50, base + 51)):
            return base


def wait_for_rasa(port: int, token: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/status?token={token}", timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"the Rasa server on port {port} did not answer")


@pytest.fixture(scope="session", autouse=True)
def rasa_patched() -> None:
    """The tests run Rasa as the server and the shell do: with bot/rasa_patches installed."""
    from bot import rasa_patches

    rasa_patches.install(off=())


@pytest.fixture(autouse=True)
def fresh_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Settings are read once per process; a test that sets the environment gets them anew."""
    from bot.config import load_settings

    real_setenv, real_delenv = monkeypatch.setenv, monkeypatch.delenv

    def setenv(*args: Any, **kwargs: Any) -> None:
        real_setenv(*args, **kwargs)
        load_settings.cache_clear()

    def delenv(*args: Any, **kwargs: Any) -> None:
        real_delenv(*args, **kwargs)
        load_settings.cache_clear()

    monkeypatch.setenv, monkeypatch.delenv = setenv, delenv  # type: ignore[method-assign]
    load_settings.cache_clear()
    yield
    monkeypatch.undo()  # the environment back before the settings are read again
    load_settings.cache_clear()


def trained_model() -> Path:
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: `make test` trains it before pytest")
    return MODEL


@pytest.fixture(scope="session")
def agent():
    import logging

    from rasa.core.agent import Agent

    logging.getLogger("rasa").setLevel(logging.WARNING)
    return Agent.load(str(trained_model()))


class Assistant:
    """`python -m bot.run serve` on free ports, talked to over HTTP like a client would."""

    def __init__(self, extra_env: Dict[str, str] | None = None) -> None:
        import tempfile

        self.rasa_port = free_port()
        self.actions_port = free_port()
        self.sandbox_port = free_port()
        self.notifier_port = free_port()
        self.web_port = free_port()
        self.staff_port = free_port()
        self.token = "test-token"
        self.var = Path(tempfile.mkdtemp(prefix="assistant-var-"))
        (ROOT / "results").mkdir(exist_ok=True)
        self.log = open(ROOT / "results" / f"test-assistant-{self.rasa_port}.log", "w")  # noqa: SIM115
        env = {**os.environ, "RASA_PORT": str(self.rasa_port), "ACTIONS_PORT": str(self.actions_port),
               "ONESTOP_SANDBOX_PORT": str(self.sandbox_port), "NOTIFIER_PORT": str(self.notifier_port),
               "WEB_PORT": str(self.web_port), "STAFF_PORT": str(self.staff_port),
               "VAR_DIR": str(self.var), "RASA_TOKEN": self.token, "PYTHONPATH": str(ROOT),
               # one Rasa server unless a test asks for more: the suite starts many assistants, and
               # tests/run/test_every_core.py tests the embedded default's several servers
               "RASA_SERVERS": "1", **(extra_env or {})}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot.run", "serve", "--model", str(trained_model())],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    def wait_ready(self, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"bot.run exited with {self.process.returncode}; see {self.log.name}")
            try:
                with urllib.request.urlopen(f"{self.url}/status?token={self.token}", timeout=2):
                    with urllib.request.urlopen(f"http://127.0.0.1:{self.notifier_port}/health", timeout=2):
                        return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError("the assistant did not answer in time")

    def post(self, body: bytes, content_type: str = "application/json") -> tuple[int, Any]:
        request = urllib.request.Request(
            f"{self.url}/webhooks/rest/webhook", data=body, headers={"Content-Type": content_type}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                return reply.status, json.loads(reply.read())
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                return error.code, json.loads(raw or b"null")
            except ValueError:
                return error.code, raw.decode("utf-8", "replace")

    def say(self, sender: str, message: Any) -> List[Dict[str, Any]]:
        status, answer = self.post(json.dumps({"sender": sender, "message": message}).encode())
        assert status == 200, answer
        return answer

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        import shutil

        shutil.rmtree(self.var, ignore_errors=True)
        return self.process.returncode


@pytest.fixture(scope="session")
def assistant() -> Iterator[Assistant]:
    running = Assistant()
    try:
        running.wait_ready()
        yield running
    finally:
        running.stop()


POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
RABBITMQ_URL = os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")


@contextlib.contextmanager
def temporary_postgres_database() -> Iterator[str]:
    """A new, empty database on the real PostgreSQL server; dropped afterwards."""
    import uuid

    from sqlalchemy import create_engine, text

    name = f"assistant_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, future=True, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def postgres_database() -> Iterator[str]:
    with temporary_postgres_database() as url:
        yield url


def delete_rabbitmq_queue(name: str) -> None:
    """Test queues are durable and bound to Rasa's fanout exchange: never leave one behind."""
    import asyncio

    import aio_pika

    async def delete() -> None:
        connection = await aio_pika.connect(RABBITMQ_URL)
        async with connection:
            channel = await connection.channel()
            await channel.queue_delete(name)

    asyncio.run(delete())


def assert_turns_whole(stored: list, messages: List[str]) -> None:
    """Every message of the conversation stored, and each one's turn (user … action_listen)
    whole: another message never arrived inside it (the conversation lock)."""
    kinds = [r.type_name for r in stored]
    assert sorted(json.loads(r.data)["text"] for r in stored if r.type_name == "user") == sorted(messages)
    turns, in_turn = 0, False
    for row in stored:
        data = json.loads(row.data)
        if row.type_name == "user":
            assert not in_turn, f"a message arrived inside another's turn: {kinds}"
            in_turn, turns = True, turns + 1
        elif row.type_name == "action" and data.get("name") == "action_listen" and in_turn:
            in_turn = False
    assert turns == len(messages) and not in_turn


def tracker_rows(url: str, sender: str) -> list:
    """Rasa's events table: one conversation's rows in the order they were stored."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url, future=True)
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT id, type_name, timestamp, data FROM events "
                                           "WHERE sender_id = :s ORDER BY id").bindparams(s=sender)).all()
    finally:
        engine.dispose()


def assert_analytics_has_every_event(tracker_url: str, app_url: str, sender: str, timeout: float = 90) -> None:
    """Every event of the conversation's tracker store reached the analytics' broker copies,
    exactly once (through RabbitMQ, or copied by the consumer's reconciliation)."""
    from sqlalchemy import create_engine, select

    from bot.analytics.models import broker_events

    events = sorted((r.type_name, r.timestamp) for r in tracker_rows(tracker_url, sender))
    engine = create_engine(app_url, future=True)
    deadline = time.monotonic() + timeout
    try:
        while True:
            with engine.connect() as connection:
                copies = sorted(connection.execute(select(broker_events.c.type_name, broker_events.c.timestamp)
                                                   .where(broker_events.c.sender_id == sender)).all())
            if len(copies) >= len(events) or time.monotonic() > deadline:
                break
            time.sleep(1)
    finally:
        engine.dispose()
    assert [tuple(c) for c in copies] == events, sender
