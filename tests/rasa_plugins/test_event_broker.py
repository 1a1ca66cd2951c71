"""The batching event broker against the real RabbitMQ: everything arrives, in order, memory bounded."""

from __future__ import annotations

import asyncio
import json
import uuid

import aio_pika

from bot.rasa_plugins.event_broker import BatchingPikaEventBroker
from tests.conftest import RABBITMQ_URL, delete_rabbitmq_queue


def test_events_published_before_and_after_connecting_all_arrive_in_order():
    queue_name = f"test_broker_{uuid.uuid4().hex[:10]}"

    async def scenario() -> list:
        broker = BatchingPikaEventBroker("127.0.0.1", "guest", "guest", queues=[queue_name],
                                         event_loop=asyncio.get_running_loop())
        for i in range(5):  # Rasa's own broker drops these: no exchange yet
            broker.publish({"sender_id": "s", "event": "user", "text": f"sớm {i}", "timestamp": float(i)})
        await broker.connect()
        for i in range(3000):
            broker.publish({"sender_id": "s", "event": "bot", "text": f"tin {i}", "timestamp": 10.0 + i})
            if i % 500 == 0:
                assert len(asyncio.all_tasks()) < 20  # one sending task, not one per event
                await asyncio.sleep(0)
        for _ in range(200):
            if broker.waiting == 0 and broker._sender.done():
                break
            await asyncio.sleep(0.05)
        await broker.close()
        received = []
        connection = await aio_pika.connect(RABBITMQ_URL)
        async with connection:
            channel = await connection.channel()
            queue = await channel.declare_queue(queue_name, durable=True)
            while True:
                message = await queue.get(no_ack=True, fail=False)
                if message is None:
                    break
                received.extend(json.loads(message.body))
        return received

    try:
        received = asyncio.run(scenario())
    finally:
        delete_rabbitmq_queue(queue_name)
    assert [e["text"] for e in received] == [f"sớm {i}" for i in range(5)] + [f"tin {i}" for i in range(3000)]
