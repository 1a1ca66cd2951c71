"""One conversation's messages handled one at a time, in arrival order, across Rasa servers.

Rasa 3.6's RedisLockStore reads its ticket lock from Redis, changes it in Python and writes it
back: two Rasa servers issuing tickets for the same conversation at once overwrite each other,
and a message then runs beside another or its events are lost (seen: six simultaneous messages
of one citizen on two servers left two of them out of the tracker store;
tests/test_balancer.py). The two stores here keep Rasa's idea, a first-come first-served ticket
lock per conversation, with every change atomic; they share the lock itself (`_TicketLockStore`)
and differ only in where its state lives:

- `next`: the last ticket handed out (issuing a ticket increments it, atomically with creating
  the ticket's liveness record);
- `serving`: the last ticket served; a ticket holds the lock when it is `serving + 1`, and
  releasing sets `serving` to it (only the holder can);
- a ticket's liveness: it stays alive for ALIVE_MS (5 s), renewed while the ticket waits
  (every ALIVE_MS / 4) or holds the lock (a heartbeat, up to Rasa's lock lifetime). When the
  next ticket is no longer alive (its server died, or it ran out of time), a waiter skips it
  atomically: a dead server blocks a conversation for 5 s at most, not for the lock lifetime
  (60 s; measured: a message retried on the other server waited out the dead one's ticket and
  its client gave up).
The last message out deletes the conversation's state; state left by a dead server expires
(its tickets after ALIVE_MS, its counters after a day). A store that cannot do its work for
OUTAGE_S (20 s) raises LockError, which Rasa answers as a failed message.

Production, several machines: `FifoRedisLockStore`, in Redis, every change a single Redis
command or script; keys `{prefix}:{conversation}:next`, `:serving` and `:ticket:{n}` (the
ticket's liveness is the key's expiry). When Redis does not answer (a restart), a message waits
for it up to OUTAGE_S instead of failing at once (measured, Redis restarted under four citizens:
1,448 messages told to try again in 3 s; tests/test_service_restarts.py). A restart forgets
every key (Redis keeps nothing on disk here): waiting tickets skip the vanished ones, so the
queue goes on; a conversation with two messages in flight at that instant may have them
handled side by side, once.

    lock_store:
      type: bot.rasa_plugins.lock_store.FifoRedisLockStore
      url: host, port: 6379, db: 0, password: ..., key_prefix: assistant

Embedded default, several Rasa servers on one machine: `SqliteLockStore`, in a SQLite file the
servers share; tables `lock_queues` (conversation, next, serving, touched_ms) and
`lock_tickets` (conversation, ticket, alive_until_ms, wall-clock milliseconds: the file outlives
a reboot). One connection per process, WAL journal, `synchronous=NORMAL`; every change is one
short `BEGIN IMMEDIATE` transaction, run synchronously on the event loop and never held across
an await (an uncontended lock and release: two transactions and a read, measured 0.35-1.1 ms on a
busy 2-CPU machine; Redis 0.7-2 ms there). At most every PURGE_S a ticket issue also deletes the
expired rows, so the file does not grow. Another process holding the file's write lock makes a
call wait BUSY_TIMEOUT_MS inside SQLite (blocking), then the message waits without blocking the
event loop, retrying, up to OUTAGE_S before LockError ("database is locked" never escapes as a
crash).

    lock_store:
      type: bot.rasa_plugins.lock_store.SqliteLockStore
      db: ${VAR_DIR}/rasa-locks.db
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncGenerator, Callable, List, Optional, Tuple, Type, TypeVar

import redis
from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, LockStore
from rasa.utils.endpoints import EndpointConfig

T = TypeVar("T")

IDLE_EXPIRY_MS = 24 * 3600 * 1000  # a conversation's counters outlive its last change this long at most
POLL_S = 0.02
ALIVE_MS = 5000  # a ticket lives this long unless its server renews it (every ALIVE_MS / 4)
OUTAGE_S = 20.0  # how long a message waits for its store (Redis down, SQLite file locked)
UNREACHABLE = (redis.ConnectionError, redis.TimeoutError)
BUSY_TIMEOUT_MS = 50  # SQLite's own wait for another process's write lock (it blocks the event loop)
PURGE_S = 60.0  # how often a process deletes the expired rows of the SQLite store


class _TicketLockStore(LockStore):
    """The FIFO ticket lock; a backend supplies its atomic steps (the methods raising
    NotImplementedError) and says which of its errors are worth waiting out."""

    _ERRORS: Tuple[Type[BaseException], ...] = ()
    _RETRY_S = 0.25
    _NAME = "the lock store"
    _RETRY_RELEASE = False  # whether a release that met a transient error is tried again

    # -- the backend's steps, each atomic -------------------------------------------------

    def _issue(self, conversation_id: str, alive_ms: int) -> int:
        """A new ticket (the conversation's `next` + 1), alive for `alive_ms`."""
        raise NotImplementedError

    def _serving(self, conversation_id: str) -> int:
        """The last ticket served (0: none)."""
        raise NotImplementedError

    def _alive(self, conversation_id: str, ticket: int) -> bool:
        raise NotImplementedError

    def _advance(self, conversation_id: str, serving: int) -> None:
        """Skip ticket `serving + 1`, which is not alive, unless someone moved `serving` on."""
        raise NotImplementedError

    def _renew(self, conversation_id: str, ticket: int, alive_ms: int) -> None:
        raise NotImplementedError

    def _release(self, conversation_id: str, ticket: int) -> None:
        """Forget the ticket; if it holds the lock, pass the lock on, and if no later ticket
        was issued, delete the conversation's state."""
        raise NotImplementedError

    def _transient(self, error: BaseException) -> bool:
        """Whether `error` (one of _ERRORS) may go away by itself: wait for it."""
        raise NotImplementedError

    # -- the lock ----------------------------------------------------------------------------

    @asynccontextmanager
    async def lock(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME,
                   wait_time_in_seconds: float = POLL_S) -> AsyncGenerator[TicketLock, None]:
        lifetime_ms = int(lock_lifetime * 1000)
        alive_ms = min(ALIVE_MS, lifetime_ms)
        ticket = int(await self._patiently(f"a ticket for conversation '{conversation_id}'", self._issue,
                                           conversation_id, alive_ms))
        heartbeat: Optional[asyncio.Task] = None
        try:
            await self._wait_for_turn(conversation_id, ticket, alive_ms, lifetime_ms,
                                      max(min(wait_time_in_seconds, 0.1), POLL_S))
            heartbeat = asyncio.ensure_future(self._keep_alive(conversation_id, ticket, alive_ms, lifetime_ms))
            yield TicketLock(conversation_id)  # what Rasa's callers receive; they only hold it
        finally:
            if heartbeat is not None:
                heartbeat.cancel()
            await self._release_patiently(conversation_id, ticket, alive_ms)

    async def _release_patiently(self, conversation_id: str, ticket: int, alive_ms: int) -> None:
        """Release; where the store keeps its state through the error (a busy SQLite file), retry
        for as long as the ticket would stay alive: a release given up makes the conversation's
        next message wait for the ticket to die (ALIVE_MS). A store that may have forgotten
        every ticket meanwhile (a restarted Redis) is not retried: releasing an old ticket there
        would hand the turn of a new one (seen: "ticket 1 was skipped" after a Redis restart)."""
        deadline = time.monotonic() + alive_ms / 1000
        while True:
            try:
                self._release(conversation_id, ticket)
                return
            except self._ERRORS as error:
                if not (self._RETRY_RELEASE and self._transient(error)) or time.monotonic() > deadline:
                    return  # the ticket stops being alive by itself; a waiter then skips it
            try:
                await asyncio.sleep(self._RETRY_S)
            except asyncio.CancelledError:
                return

    async def _patiently(self, what: str, call: Callable[..., T], *args: Any) -> T:
        """call(*args), waiting up to OUTAGE_S while the store is unavailable."""
        deadline = time.monotonic() + OUTAGE_S
        while True:
            try:
                return call(*args)
            except self._ERRORS as error:
                if not self._transient(error):
                    raise LockError(f"{self._NAME} refused {what}: {error}") from error
                if time.monotonic() > deadline:
                    raise LockError(f"{self._NAME} was unavailable for {OUTAGE_S:.0f} s ({what}): {error}") from error
                await asyncio.sleep(self._RETRY_S)

    async def _keep_alive(self, conversation_id: str, ticket: int, alive_ms: int, lifetime_ms: int) -> None:
        """While the lock is held, up to the lock lifetime: the holder's server is alive."""
        deadline = time.monotonic() + lifetime_ms / 1000
        while time.monotonic() < deadline:
            await asyncio.sleep(alive_ms / 4000)
            try:
                self._renew(conversation_id, ticket, alive_ms)
            except self._ERRORS:
                pass  # the next beat tries again

    async def _wait_for_turn(self, conversation_id: str, ticket: int, alive_ms: int, lifetime_ms: int,
                             poll_s: float) -> None:
        deadline = time.monotonic() + lifetime_ms / 1000 * 2
        renewed = time.monotonic()  # issuing made the ticket alive
        while True:
            serving = int(await self._patiently("the turn", self._serving, conversation_id))
            head = serving + 1
            if head == ticket:
                if time.monotonic() - renewed >= alive_ms / 4000:  # holding: alive again
                    await self._patiently("a ticket", self._renew, conversation_id, ticket, alive_ms)
                return
            if head > ticket:
                raise LockError(f"ticket {ticket} was skipped: its conversation waited too long")
            if not await self._patiently("a ticket", self._alive, conversation_id, head):
                await self._patiently("a skip", self._advance, conversation_id, serving)
                continue
            if time.monotonic() > deadline:
                raise LockError(f"waited too long for the conversation's earlier messages (ticket {ticket})")
            if time.monotonic() - renewed >= alive_ms / 4000:  # still waiting
                await self._patiently("a ticket", self._renew, conversation_id, ticket, alive_ms)
                renewed = time.monotonic()
            await asyncio.sleep(poll_s)


# -- Redis ------------------------------------------------------------------------------------

# KEYS: next, ticket key prefix; ARGV: lifetime, idle expiry. The ticket exists alive at once.
_ISSUE = """
local ticket = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('SET', KEYS[2] .. ':' .. ticket, 1, 'PX', ARGV[1])
return ticket
"""
# KEYS: serving, next; ARGV: expected serving. Skip a vanished ticket only if nobody moved on.
_ADVANCE = """
local serving = tonumber(redis.call('GET', KEYS[1]) or '0')
if serving == tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], serving + 1, 'PX', ARGV[2])
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
  return 1
end
return 0
"""
# KEYS: serving, ticket key, next; ARGV: ticket. Release only by the holder; the last one out
# (no later ticket issued, which the issuing script would have made atomically) deletes the keys.
_RELEASE = """
local serving = tonumber(redis.call('GET', KEYS[1]) or '0')
if serving + 1 == tonumber(ARGV[1]) then
  if tonumber(redis.call('GET', KEYS[3]) or '0') == tonumber(ARGV[1]) then
    redis.call('DEL', KEYS[1], KEYS[3])  -- nobody waits: the conversation leaves no keys
  else
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
    redis.call('PEXPIRE', KEYS[3], ARGV[2])
  end
end
redis.call('DEL', KEYS[2])
return serving
"""


class FifoRedisLockStore(_TicketLockStore):
    _ERRORS = (redis.RedisError,)
    _NAME = "Redis"
    _RETRY_RELEASE = False  # after an outage Redis may have restarted and forgotten every ticket

    def __init__(self, endpoint_config: Optional[EndpointConfig] = None, host: str = "localhost",
                 port: int = 6379, db: int = 0, password: Optional[str] = None, use_ssl: bool = False,
                 key_prefix: str = "assistant", socket_timeout: float = 10, **_: Any) -> None:
        if endpoint_config is not None:
            options = dict(endpoint_config.kwargs)
            host = endpoint_config.url or host
            port, db = int(options.get("port", port)), int(options.get("db", db))
            password, use_ssl = options.get("password", password), bool(options.get("use_ssl", use_ssl))
            key_prefix = options.get("key_prefix", key_prefix)
        self.red = redis.StrictRedis(host=host, port=port, db=db, password=password or None, ssl=use_ssl,
                                     socket_timeout=socket_timeout)
        self.prefix = f"{key_prefix}:lock" if key_prefix else "lock"
        self._issue_script = self.red.register_script(_ISSUE)
        self._advance_script = self.red.register_script(_ADVANCE)
        self._release_script = self.red.register_script(_RELEASE)
        super().__init__()

    def _keys(self, conversation_id: str) -> tuple:
        base = f"{self.prefix}:{conversation_id}"
        return f"{base}:serving", f"{base}:next", f"{base}:ticket"

    def _issue(self, conversation_id: str, alive_ms: int) -> int:
        _, next_key, ticket_prefix = self._keys(conversation_id)
        return int(self._issue_script(keys=[next_key, ticket_prefix], args=[alive_ms, IDLE_EXPIRY_MS]))

    def _serving(self, conversation_id: str) -> int:
        return int(self.red.get(self._keys(conversation_id)[0]) or 0)

    def _alive(self, conversation_id: str, ticket: int) -> bool:
        return bool(self.red.exists(f"{self._keys(conversation_id)[2]}:{ticket}"))

    def _advance(self, conversation_id: str, serving: int) -> None:
        serving_key, next_key, _ = self._keys(conversation_id)
        self._advance_script(keys=[serving_key, next_key], args=[serving, IDLE_EXPIRY_MS])

    def _renew(self, conversation_id: str, ticket: int, alive_ms: int) -> None:
        self.red.set(f"{self._keys(conversation_id)[2]}:{ticket}", 1, px=alive_ms)

    def _release(self, conversation_id: str, ticket: int) -> None:
        serving_key, next_key, ticket_prefix = self._keys(conversation_id)
        self._release_script(keys=[serving_key, f"{ticket_prefix}:{ticket}", next_key],
                             args=[ticket, IDLE_EXPIRY_MS])

    def _transient(self, error: BaseException) -> bool:
        return isinstance(error, UNREACHABLE)


# -- SQLite -----------------------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE IF NOT EXISTS lock_queues (
  conversation TEXT PRIMARY KEY,
  next INTEGER NOT NULL,       -- the last ticket issued
  serving INTEGER NOT NULL,    -- the last ticket served
  touched_ms INTEGER NOT NULL  -- wall clock of the last issue, skip or release
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS lock_tickets (
  conversation TEXT NOT NULL,
  ticket INTEGER NOT NULL,
  alive_until_ms INTEGER NOT NULL,  -- wall clock; renewed by its server's heartbeat
  PRIMARY KEY (conversation, ticket)
) WITHOUT ROWID;
"""


def _now_ms() -> int:
    return int(time.time() * 1000)


class SqliteLockStore(_TicketLockStore):
    _ERRORS = (sqlite3.Error,)
    _RETRY_RELEASE = True  # a busy file keeps its tickets
    _RETRY_S = 0.05
    _NAME = "the lock database"

    def __init__(self, endpoint_config: Optional[EndpointConfig] = None, db: Optional[str] = None,
                 **_: Any) -> None:
        if endpoint_config is not None:
            db = endpoint_config.kwargs.get("db") or endpoint_config.url or db
        if not db:
            raise ValueError("SqliteLockStore needs `db`: the path of the SQLite file the Rasa servers share")
        self.path = str(db)
        self._connection: Optional[sqlite3.Connection] = None
        self._pid = 0
        self._inherited: List[sqlite3.Connection] = []
        self._purged_at = 0.0
        super().__init__()

    def _connect(self) -> sqlite3.Connection:
        """This process's connection, opened (and the tables made) on first use."""
        if self._connection is not None and self._pid == os.getpid():
            return self._connection
        if self._connection is not None:  # a forked child: never use, nor close, the parent's connection
            self._inherited.append(self._connection)
            self._connection = None
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                     check_same_thread=False)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.executescript(_SCHEMA)
        except sqlite3.Error:
            connection.close()
            raise
        self._connection, self._pid = connection, os.getpid()
        return connection

    def _write(self, work: Callable[[sqlite3.Connection, int], T]) -> T:
        """work(connection, now_ms) in one write transaction."""
        connection = self._connect()
        connection.execute("BEGIN IMMEDIATE")
        try:
            result = work(connection, _now_ms())
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        return result

    def _issue(self, conversation_id: str, alive_ms: int) -> int:
        def issue(connection: sqlite3.Connection, now: int) -> int:
            ticket = connection.execute(
                "INSERT INTO lock_queues (conversation, next, serving, touched_ms) VALUES (?, 1, 0, ?) "
                "ON CONFLICT (conversation) DO UPDATE SET next = next + 1, touched_ms = excluded.touched_ms "
                "RETURNING next", (conversation_id, now)).fetchall()[0][0]
            connection.execute("INSERT OR REPLACE INTO lock_tickets (conversation, ticket, alive_until_ms) "
                               "VALUES (?, ?, ?)", (conversation_id, ticket, now + alive_ms))
            if time.monotonic() - self._purged_at > PURGE_S:
                self._purge(connection, now)
            return int(ticket)
        return self._write(issue)

    def _purge(self, connection: sqlite3.Connection, now: int) -> None:
        """Rows of dead servers: tickets no longer alive (a waiter would skip them anyway) and
        conversations untouched for IDLE_EXPIRY_MS without a live ticket."""
        connection.execute("DELETE FROM lock_tickets WHERE alive_until_ms <= ?", (now,))
        connection.execute("DELETE FROM lock_queues WHERE touched_ms < ? AND NOT EXISTS (SELECT 1 FROM lock_tickets "
                           "WHERE lock_tickets.conversation = lock_queues.conversation)", (now - IDLE_EXPIRY_MS,))
        self._purged_at = time.monotonic()

    def purge_expired(self) -> None:
        self._write(self._purge)

    def _serving(self, conversation_id: str) -> int:
        row = self._connect().execute("SELECT serving FROM lock_queues WHERE conversation = ?",
                                      (conversation_id,)).fetchone()
        return int(row[0]) if row else 0

    def _alive(self, conversation_id: str, ticket: int) -> bool:
        return self._connect().execute(
            "SELECT 1 FROM lock_tickets WHERE conversation = ? AND ticket = ? AND alive_until_ms > ?",
            (conversation_id, ticket, _now_ms())).fetchone() is not None

    def _advance(self, conversation_id: str, serving: int) -> None:
        def advance(connection: sqlite3.Connection, now: int) -> None:
            head = serving + 1
            if connection.execute("SELECT 1 FROM lock_tickets WHERE conversation = ? AND ticket = ? "
                                  "AND alive_until_ms > ?", (conversation_id, head, now)).fetchone():
                return  # renewed since it was seen dead: not skipped after all
            moved = connection.execute("UPDATE lock_queues SET serving = ?, touched_ms = ? "
                                       "WHERE conversation = ? AND serving = ?",
                                       (head, now, conversation_id, serving)).rowcount
            if moved:
                connection.execute("DELETE FROM lock_tickets WHERE conversation = ? AND ticket = ?",
                                   (conversation_id, head))
        self._write(advance)

    def _renew(self, conversation_id: str, ticket: int, alive_ms: int) -> None:
        def renew(connection: sqlite3.Connection, now: int) -> None:
            connection.execute(
                "INSERT INTO lock_tickets (conversation, ticket, alive_until_ms) VALUES (?, ?, ?) "
                "ON CONFLICT (conversation, ticket) DO UPDATE SET alive_until_ms = excluded.alive_until_ms",
                (conversation_id, ticket, now + alive_ms))
        self._write(renew)

    def _release(self, conversation_id: str, ticket: int) -> None:
        def release(connection: sqlite3.Connection, now: int) -> None:
            row = connection.execute("SELECT next, serving FROM lock_queues WHERE conversation = ?",
                                     (conversation_id,)).fetchone()
            if row is not None and row[1] + 1 == ticket:  # the holder
                if row[0] == ticket:  # nobody waits: the conversation leaves no rows
                    connection.execute("DELETE FROM lock_queues WHERE conversation = ?", (conversation_id,))
                    connection.execute("DELETE FROM lock_tickets WHERE conversation = ?", (conversation_id,))
                    return
                connection.execute("UPDATE lock_queues SET serving = ?, touched_ms = ? WHERE conversation = ?",
                                   (ticket, now, conversation_id))
            connection.execute("DELETE FROM lock_tickets WHERE conversation = ? AND ticket = ?",
                               (conversation_id, ticket))
        self._write(release)

    def _transient(self, error: BaseException) -> bool:
        message = str(error).lower()
        return isinstance(error, sqlite3.OperationalError) and ("locked" in message or "busy" in message)
