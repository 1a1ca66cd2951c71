"""The FIFO lock of a conversation across servers, against the real Redis."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from rasa.core.lock_store import LockError

from bot.rasa_plugins.lock_store import FifoRedisLockStore

REDIS = {"host": "127.0.0.1", "port": 6379, "db": 8, "key_prefix": "test"}


def test_messages_of_one_conversation_never_overlap_and_keep_their_order():
    servers = [FifoRedisLockStore(**REDIS), FifoRedisLockStore(**REDIS)]  # two Rasa servers
    conversation = f"c-{uuid.uuid4().hex[:8]}"
    inside, order, overlaps = [], [], []

    async def handle(number: int) -> None:
        await asyncio.sleep(number * 0.002)  # they arrive in this order
        async with servers[number % 2].lock(conversation):
            if inside:
                overlaps.append(number)
            inside.append(number)
            await asyncio.sleep(0.01)
            order.append(number)
            inside.remove(number)

    async def everything() -> None:
        await asyncio.gather(*(handle(n) for n in range(20)))

    asyncio.run(everything())
    assert overlaps == []
    assert order == list(range(20))


def test_a_dead_server_does_not_block_the_conversation():
    server = FifoRedisLockStore(**REDIS)
    conversation = f"c-{uuid.uuid4().hex[:8]}"
    # a ticket taken by a server that died before releasing it: only its key, with a short life
    server._issue(conversation, 300)

    async def next_message() -> float:
        started = time.monotonic()
        async with server.lock(conversation, lock_lifetime=5):
            return time.monotonic() - started

    waited = asyncio.run(next_message())
    assert 0.2 < waited < 2


def test_an_unreachable_redis_is_a_lock_error():
    server = FifoRedisLockStore(host="127.0.0.1", port=1, socket_timeout=1)

    async def message() -> None:
        async with server.lock("c"):
            pass

    with pytest.raises(LockError):
        asyncio.run(message())


def test_a_conversation_leaves_no_keys_once_its_messages_are_handled():
    server = FifoRedisLockStore(**REDIS)
    conversation = f"c-{uuid.uuid4().hex[:8]}"

    async def two_messages() -> None:
        async def one() -> None:
            async with server.lock(conversation):
                await asyncio.sleep(0.02)
        await asyncio.gather(one(), one())
        async with server.lock(conversation):  # and the conversation starts again cleanly
            pass

    asyncio.run(two_messages())
    assert server.red.keys(f"{server.prefix}:{conversation}:*") == []


def test_a_holder_longer_than_a_tickets_life_keeps_the_lock_by_its_heartbeat(monkeypatch):
    import bot.rasa_plugins.lock_store as lock_store

    monkeypatch.setattr(lock_store, "ALIVE_MS", 200)
    servers = [FifoRedisLockStore(**REDIS), FifoRedisLockStore(**REDIS)]
    conversation = f"c-{uuid.uuid4().hex[:8]}"
    events = []

    async def slow() -> None:
        async with servers[0].lock(conversation):
            events.append("slow in")
            await asyncio.sleep(0.8)  # four times the ticket's life
            events.append("slow out")

    async def next_one() -> None:
        await asyncio.sleep(0.05)
        async with servers[1].lock(conversation):
            events.append("next in")

    async def both() -> None:
        await asyncio.gather(slow(), next_one())

    asyncio.run(both())
    assert events == ["slow in", "slow out", "next in"]
