"""The FIFO lock of a conversation across servers: Redis (the real one on 127.0.0.1:6379) and a
SQLite file shared by several processes. "Two servers" are two store instances on the same Redis
database or the same file; the SQLite tests at the end use real OS processes."""

from __future__ import annotations

import asyncio
import multiprocessing
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import Callable, List

import pytest
from rasa.core.lock_store import LockError, LockStore
from rasa.utils.endpoints import EndpointConfig

from bot.rasa_plugins.lock_store import FifoRedisLockStore, SqliteLockStore

REDIS = {"host": "127.0.0.1", "port": 6379, "db": 8, "key_prefix": "test"}


def leftovers(server, conversation: str) -> List:
    """What the store still keeps about a conversation."""
    if isinstance(server, FifoRedisLockStore):
        return server.red.keys(f"{server.prefix}:{conversation}:*")
    connection = sqlite3.connect(server.path)
    try:
        return (connection.execute("SELECT * FROM lock_queues WHERE conversation = ?", (conversation,)).fetchall()
                + connection.execute("SELECT * FROM lock_tickets WHERE conversation = ?", (conversation,)).fetchall())
    finally:
        connection.close()


@pytest.fixture(params=["redis", "sqlite"])
def new_server(request, tmp_path) -> Callable[[], LockStore]:
    """A new Rasa server's lock store; every one shares the same Redis database or SQLite file."""
    if request.param == "redis":
        return lambda: FifoRedisLockStore(**REDIS)
    return lambda: SqliteLockStore(db=str(tmp_path / "var" / "rasa-locks.db"))


def test_messages_of_one_conversation_never_overlap_and_keep_their_order(new_server):
    servers = [new_server(), new_server()]  # two Rasa servers
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


def test_a_dead_server_does_not_block_the_conversation(new_server):
    server = new_server()
    conversation = f"c-{uuid.uuid4().hex[:8]}"
    # a ticket taken by a server that died before releasing it: alive for a short time only
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


def test_a_conversation_leaves_no_keys_once_its_messages_are_handled(new_server):
    server = new_server()
    conversation = f"c-{uuid.uuid4().hex[:8]}"

    async def two_messages() -> None:
        async def one() -> None:
            async with server.lock(conversation):
                await asyncio.sleep(0.02)
        await asyncio.gather(one(), one())
        async with server.lock(conversation):  # and the conversation starts again cleanly
            pass

    asyncio.run(two_messages())
    assert leftovers(server, conversation) == []


def test_a_holder_longer_than_a_tickets_life_keeps_the_lock_by_its_heartbeat(new_server, monkeypatch):
    import bot.rasa_plugins.lock_store as lock_store

    monkeypatch.setattr(lock_store, "ALIVE_MS", 200)
    servers = [new_server(), new_server()]
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


def test_a_conversation_after_a_dead_servers_ticket_leaves_no_keys(new_server):
    server = new_server()
    conversation = f"c-{uuid.uuid4().hex[:8]}"
    server._issue(conversation, 100)  # a server died holding the lock

    async def message() -> None:
        async with server.lock(conversation, lock_lifetime=5):
            pass

    asyncio.run(message())
    assert leftovers(server, conversation) == []


# -- SQLite only ------------------------------------------------------------------------------

def test_the_sqlite_store_is_built_from_endpoints_yml(tmp_path):
    path = tmp_path / "rasa-locks.db"
    config = EndpointConfig.from_dict({"type": "bot.rasa_plugins.lock_store.SqliteLockStore", "db": str(path)})
    store = LockStore.create(config)
    assert isinstance(store, SqliteLockStore) and store.path == str(path)

    async def message() -> None:
        async with store.lock("c"):
            pass

    asyncio.run(message())
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    connection.close()
    with pytest.raises(ValueError):
        SqliteLockStore()


def _take_turns(db: str, conversation: str, name: str, rounds: int, journal: str, start) -> None:
    """One Rasa server process: `rounds` messages of one conversation, each noted going in and out."""
    store = SqliteLockStore(db=db)

    async def messages() -> None:
        for number in range(rounds):
            async with store.lock(conversation):
                with open(journal, "a") as out:
                    out.write(f"{name} {number} in\n")
                await asyncio.sleep(0.002)
                with open(journal, "a") as out:
                    out.write(f"{name} {number} out\n")

    start.wait(30)  # both processes ready: they compete from the first message
    asyncio.run(messages())


def test_two_processes_on_one_file_exclude_each_other(tmp_path):
    db, journal, conversation, rounds = str(tmp_path / "locks.db"), tmp_path / "journal", "c-shared", 40
    context = multiprocessing.get_context("spawn")  # fresh interpreters, as two Rasa servers
    start = context.Barrier(2)
    workers = [context.Process(target=_take_turns, args=(db, conversation, name, rounds, str(journal), start))
               for name in ("A", "B")]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert [worker.exitcode for worker in workers] == [0, 0]

    lines = journal.read_text().splitlines()
    assert len(lines) == 2 * 2 * rounds
    for entered, left in zip(lines[0::2], lines[1::2]):  # every message alone between its in and out
        assert entered.endswith(" in") and left == entered[:-len(" in")] + " out"
    for name in ("A", "B"):  # every message there, in its order
        assert [line for line in lines[0::2] if line.startswith(name)] == [f"{name} {n} in" for n in range(rounds)]
    turns = [line.split()[0] for line in lines[0::2]]
    assert sum(a != b for a, b in zip(turns, turns[1:])) >= 10  # they did compete: the lock passed to and fro
    assert leftovers(SqliteLockStore(db=db), conversation) == []


def test_rows_of_dead_servers_expire(tmp_path, monkeypatch):
    import bot.rasa_plugins.lock_store as lock_store

    server = SqliteLockStore(db=str(tmp_path / "locks.db"))
    server._issue("dead", 50)  # a server died holding the lock, and nobody writes to the conversation again
    server._issue("alive", 60000)
    time.sleep(0.1)
    server.purge_expired()
    assert leftovers(server, "dead") != []  # its counters wait for a day, as Redis keeps the keys
    assert len(leftovers(server, "alive")) == 2
    monkeypatch.setattr(lock_store, "IDLE_EXPIRY_MS", 50)
    server.purge_expired()
    assert leftovers(server, "dead") == []
    assert len(leftovers(server, "alive")) == 2  # a live ticket keeps its conversation


def test_a_database_locked_for_long_is_a_lock_error(tmp_path, monkeypatch):
    import bot.rasa_plugins.lock_store as lock_store

    monkeypatch.setattr(lock_store, "OUTAGE_S", 1.0)
    path = tmp_path / "locks.db"
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # another process holding the (new) file: not even readable
    server = SqliteLockStore(db=str(path))

    async def message() -> None:
        async with server.lock("c"):
            pass

    started = time.monotonic()
    with pytest.raises(LockError):
        asyncio.run(message())
    assert 0.9 < time.monotonic() - started < 3
    blocker.execute("ROLLBACK")
    asyncio.run(message())  # and the store works once the file is free
    assert leftovers(server, "c") == []


def test_a_database_locked_for_a_moment_only_delays_the_message(tmp_path):
    path = tmp_path / "locks.db"
    server = SqliteLockStore(db=str(path))
    server.purge_expired()  # the file exists, in WAL mode
    blocker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")  # another process writing for 0.5 s
    threading.Timer(0.5, lambda: blocker.execute("COMMIT")).start()

    async def message() -> float:
        started = time.monotonic()
        async with server.lock("c"):
            return time.monotonic() - started

    assert 0.4 < asyncio.run(message()) < 2
    assert leftovers(server, "c") == []
    assert Path(path).exists()
