"""The production profile against the real PostgreSQL, Redis and RabbitMQ of this machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, select, text

from bot.analytics.models import broker_events, messages
from bot.config import load_settings
from bot.production import rasa_endpoints, secret_environment
from tests.conftest import ROOT, Assistant, delete_rabbitmq_queue, free_port, temporary_postgres_database


def settings_with(monkeypatch, **env):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return load_settings()


def test_the_endpoints_file_names_the_secrets_but_holds_none(monkeypatch):
    settings = settings_with(monkeypatch, ASSISTANT_PROFILE="production",
                             TRACKER_DB_URL="postgresql://rasa:pg-S3cret@db.internal:5433/conversations",
                             REDIS_URL="redis://:redis-S3cret@cache.internal:6380/2",
                             RABBITMQ_URL="amqp://rasa:mq-S3cret@mq.internal:5673/%2F",
                             ACTION_ENDPOINT_URL="http://actions.internal/webhook")
    endpoints = rasa_endpoints(settings)
    written = yaml.safe_dump(endpoints)
    assert "S3cret" not in written
    assert endpoints["tracker_store"] == {"type": "bot.rasa_plugins.tracker_store.PostgresTrackerStore",
                                          "dialect": "postgresql", "url": "db.internal", "port": 5433,
                                          "db": "conversations", "username": "rasa",
                                          "password": "${ASSISTANT_TRACKER_DB_PASSWORD}"}
    assert endpoints["lock_store"]["url"] == "cache.internal" and endpoints["lock_store"]["db"] == 2
    assert endpoints["event_broker"]["password"] == "${ASSISTANT_RABBITMQ_PASSWORD}"
    assert endpoints["action_endpoint"]["url"] == "http://actions.internal/webhook"
    assert secret_environment(settings) == {"ASSISTANT_TRACKER_DB_PASSWORD": "pg-S3cret",
                                            "ASSISTANT_REDIS_PASSWORD": "redis-S3cret",
                                            "ASSISTANT_RABBITMQ_PASSWORD": "mq-S3cret"}


@pytest.mark.parametrize("env, says", [
    ({"TRACKER_DB_URL": "sqlite:///x.db"}, "keeps conversations in PostgreSQL"),
    ({"REDIS_URL": "http://cache"}, "REDIS_URL must start with redis://"),
    ({"REDIS_URL": "redis://127.0.0.1:1/0"}, "Redis (REDIS_URL) at redis://127.0.0.1:1/0 does not answer"),
    ({"RABBITMQ_URL": "amqp://guest:guest@127.0.0.1:1/"}, "RabbitMQ (RABBITMQ_URL) at amqp://127.0.0.1:1/ does not"),
    ({"ASSISTANT_PROFILE": "prod"}, "ASSISTANT_PROFILE='prod' must be one of: embedded, production"),
    # a real one-stop system with the sandbox's public token or webhook secret: refused
    ({"ONESTOP_URL": "https://motcua.example.vn/api"}, "ONESTOP_TOKEN is required when ONESTOP_URL"),
    ({"ONESTOP_URL": "https://motcua.example.vn/api", "ONESTOP_TOKEN": "t0ken-of-the-province"},
     "ONESTOP_WEBHOOK_SECRET is required when ONESTOP_URL"),
])
def test_an_unusable_service_stops_the_start_with_a_clear_message(tmp_path, env, says):
    base = {"ASSISTANT_PROFILE": "production", "VAR_DIR": str(tmp_path), "PYTHONPATH": str(ROOT),
            "TRACKER_DB_URL": "postgresql://postgres@127.0.0.1:5432/test",
            "APP_DB_URL": "postgresql://postgres@127.0.0.1:5432/test"}
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "bot.run", "serve"], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, **base, **env}, timeout=120)
    assert result.returncode != 0
    assert says in result.stderr, result.stderr[-2000:]
    assert "starting" not in result.stdout and time.monotonic() - started < 60
    assert "guest:guest" not in result.stderr  # no credentials in what the operator sees


@pytest.fixture(scope="module")
def production():
    queue = f"test_production_{uuid.uuid4().hex[:10]}"
    with temporary_postgres_database() as tracker_url, temporary_postgres_database() as app_url:
        running = Assistant({"ASSISTANT_PROFILE": "production", "TRACKER_DB_URL": tracker_url,
                             "APP_DB_URL": app_url, "REDIS_URL": "redis://127.0.0.1:6379/5",
                             "RABBITMQ_QUEUE": queue, "ANALYTICS_CONSUMER_PORT": str(free_port())})
        try:
            running.wait_ready()
            yield running, tracker_url, app_url
        finally:
            running.stop()
            delete_rabbitmq_queue(queue)


def rows(url: str, statement):
    engine = create_engine(url, future=True)
    try:
        with engine.connect() as connection:
            return connection.execute(statement).all()
    finally:
        engine.dispose()


def test_a_conversation_lands_in_postgresql_and_reaches_the_analytics_through_rabbitmq(production):
    assistant, tracker_url, app_url = production
    sender = f"prod-{uuid.uuid4().hex[:8]}"
    first = assistant.say(sender, "đk kết hôn cần j")
    second = assistant.say(sender, "lệ phí bao nhiêu")
    assert "kết hôn" in first[0]["text"].lower() and "lệ phí" in second[0]["text"].lower()

    tracker = rows(tracker_url, text("SELECT type_name, timestamp, data FROM events WHERE sender_id = :s ORDER BY id")
                   .bindparams(s=sender))
    assert [json.loads(r.data).get("text") for r in tracker if r.type_name == "user"] == [
        "đk kết hôn cần j", "lệ phí bao nhiêu"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        copies = rows(app_url, select(broker_events.c.type_name, broker_events.c.timestamp)
                      .where(broker_events.c.sender_id == sender).order_by(broker_events.c.id))
        analysed = rows(app_url, select(messages.c.intent).where(messages.c.sender_id == sender,
                                                                 messages.c.actor == "user"))
        if len(copies) >= len(tracker) and len(analysed) == 2:
            break
        time.sleep(0.5)
    # every event of the tracker store arrived through RabbitMQ, once, in order
    assert [(r.type_name, r.timestamp) for r in copies] == [(r.type_name, r.timestamp) for r in tracker]
    assert sorted(r.intent for r in analysed) == ["ask_documents", "ask_fee"]


def test_the_assistants_database_was_migrated_by_alembic(production):
    _, _, app_url = production
    from bot.migrations import schema as migrate

    assert migrate.current(app_url) == migrate.head()


def test_the_endpoints_file_on_disk_holds_no_password(production):
    assistant, _, _ = production
    written = yaml.safe_load((Path(assistant.var) / "endpoints.production.yml").read_text())
    assert written["event_broker"]["password"] == "${ASSISTANT_RABBITMQ_PASSWORD}"
    assert written["event_broker"]["type"] == "bot.rasa_plugins.event_broker.BatchingPikaEventBroker"
    assert written["tracker_store"]["type"] == "bot.rasa_plugins.tracker_store.PostgresTrackerStore"
    assert written["lock_store"]["type"] == "bot.rasa_plugins.lock_store.FifoRedisLockStore"
