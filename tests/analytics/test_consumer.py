"""The RabbitMQ consumer against the real broker: stored once, acknowledged after, garbage refused."""

from __future__ import annotations

import asyncio
import json
import uuid

import aio_pika
import pytest
from sqlalchemy import func, select

from bot.analytics.broker_rows import rows_of
from bot.analytics.consumer import RASA_EXCHANGE, Consumer
from bot.analytics.engines import app_engine
from bot.analytics.models import broker_events
from tests.conftest import RABBITMQ_URL, delete_rabbitmq_queue

USER_EVENT = {"sender_id": "citizen-1", "event": "user", "timestamp": 1764201600.25, "text": "lệ phí khai sinh",
              "parse_data": {"intent": {"name": "ask_fee", "confidence": 0.97}}, "input_channel": "rest"}


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'"text"', json.dumps({"event": "user"}).encode(),
                                  json.dumps({"sender_id": "", "event": "user"}).encode(),
                                  json.dumps({"sender_id": "x" * 300, "event": "user"}).encode(),
                                  json.dumps({"sender_id": "s", "event": "user", "timestamp": "yesterday"}).encode(),
                                  json.dumps({"sender_id": 5, "event": "user"}).encode(), b"\xff\xfe"])
def test_what_is_not_a_rasa_event_has_no_row(body):
    assert rows_of(body) is None
    assert rows_of(json.dumps([USER_EVENT, json.loads(body) if body[:1] in b"{[" and body != b"[1, 2]"
                               else "x"]).encode()) is None  # one bad event spoils its batch


def test_a_batch_is_rows_in_order_and_one_event_is_one_row():
    second = {**USER_EVENT, "event": "bot", "text": "Chào bạn", "timestamp": USER_EVENT["timestamp"] + 1}
    rows = rows_of(json.dumps([USER_EVENT, second]).encode())
    assert [r["type_name"] for r in rows] == ["user", "bot"]
    assert rows_of(json.dumps(USER_EVENT).encode())[0]["digest"] == rows[0]["digest"]  # same event, same digest


def test_a_rasa_event_becomes_a_row_like_rasas_own_table():
    row = rows_of(json.dumps(USER_EVENT).encode())[0]
    assert (row["sender_id"], row["type_name"], row["intent_name"], row["timestamp"]) == (
        "citizen-1", "user", "ask_fee", 1764201600.25)
    assert "sender_id" not in json.loads(row["data"]) and json.loads(row["data"])["text"] == "lệ phí khai sinh"


async def publish(queue_name: str, bodies) -> None:
    connection = await aio_pika.connect(RABBITMQ_URL)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(RASA_EXCHANGE, type=aio_pika.ExchangeType.FANOUT)
        queue = await channel.declare_queue(queue_name, durable=True)
        await queue.bind(exchange, "")
        for body in bodies:
            await channel.default_exchange.publish(
                aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT), routing_key=queue_name)


async def waiting(queue_name: str) -> int:
    connection = await aio_pika.connect(RABBITMQ_URL)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(queue_name, durable=True, passive=True)
        return queue.declaration_result.message_count


def stored(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(broker_events)).scalar_one()


@pytest.fixture(params=["sqlite", "postgresql"])
def app_db(request, tmp_path):
    if request.param == "sqlite":
        return app_engine(f"sqlite:///{tmp_path / 'app.db'}")
    return app_engine(request.getfixturevalue("postgres_database"))


def test_events_waiting_in_the_queue_are_stored_once_and_acknowledged(app_db):
    queue_name = f"test_consumer_{uuid.uuid4().hex[:10]}"
    events = [{**USER_EVENT, "timestamp": USER_EVENT["timestamp"] + i, "text": f"tin {i}"} for i in range(5)]
    bodies = [json.dumps(e).encode() for e in events]
    try:
        # published while no consumer runs (the durable queue keeps them), one twice, one garbage
        asyncio.run(publish(queue_name, bodies + [bodies[2], b"{broken"]))
        consumer = Consumer(app_db, RABBITMQ_URL, queue_name)

        async def consume_in_waves() -> None:
            task = asyncio.ensure_future(consumer.run())

            async def until(total: int) -> None:
                for _ in range(100):
                    await asyncio.sleep(0.1)
                    counters = consumer.counters
                    if counters.stored + counters.duplicates + counters.rejected >= total:
                        return

            await until(7)
            for wave in range(3):  # events trickle in, as a conversation's do, with idle waits between
                await publish(queue_name, [json.dumps({**USER_EVENT, "timestamp": 1.0 + wave, "text": f"sau {wave}"})
                                           .encode()])
                await until(8 + wave)
                await asyncio.sleep(0.5)
            assert not task.done(), task.exception() if task.done() else None  # still consuming
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

        asyncio.run(consume_in_waves())
        assert (consumer.counters.stored, consumer.counters.duplicates, consumer.counters.rejected) == (8, 1, 1)
        assert stored(app_db) == 8
        assert asyncio.run(waiting(queue_name)) == 0  # all acknowledged (the garbage rejected)
        with app_db.connect() as connection:
            texts = [json.loads(d)["text"] for d in connection.execute(
                select(broker_events.c.data).order_by(broker_events.c.id)).scalars()]
        assert texts == [f"tin {i}" for i in range(5)] + [f"sau {i}" for i in range(3)]  # in publishing order
    finally:
        delete_rabbitmq_queue(queue_name)
