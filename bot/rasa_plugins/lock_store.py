"""Production: one conversation's messages handled one at a time, in arrival order, across servers.

Rasa 3.6's RedisLockStore reads its ticket lock from Redis, changes it in Python and writes it
back: two Rasa servers issuing tickets for the same conversation at once overwrite each other,
and a message then runs beside another or its events are lost (seen: six simultaneous messages
of one citizen on two servers left two of them out of the tracker store;
tests/test_balancer.py). This store keeps Rasa's idea, a first-come first-served ticket lock,
with every change a single atomic Redis command or script:

- `{prefix}:{conversation}:next`: INCR hands out tickets (with the ticket's key, one script);
- `{prefix}:{conversation}:serving`: the last ticket served; a ticket holds the lock when it
  is `serving + 1`, and releasing sets `serving` to it (a script: only the holder can);
- `{prefix}:{conversation}:ticket:{n}`: kept alive for ALIVE_MS (5 s), renewed while ticket n
  waits or holds the lock (a heartbeat, up to Rasa's lock lifetime). When the next ticket's key
  is gone (its server died, or it ran out of time), a waiter skips it atomically: a dead server
  blocks a conversation for 5 s at most, not for the lock lifetime (60 s; measured: a message
  retried on the other server waited out the dead one's ticket and its client gave up).
The last message out deletes the conversation's keys; keys left by a dead server expire after
a day.

When Redis does not answer (a restart), a message waits for it up to OUTAGE_S (20 s) instead of
failing at once (measured, Redis restarted under four citizens: 1,448 messages told to try
again in 3 s; tests/test_service_restarts.py). A restart forgets every key (Redis keeps nothing
on disk here): waiting tickets skip the vanished ones, so the queue goes on; a conversation with
two messages in flight at that instant may have them handled side by side, once.

    lock_store:
      type: bot.rasa_plugins.lock_store.FifoRedisLockStore
      url: host, port: 6379, db: 0, password: ..., key_prefix: assistant
"""

from __future__ import annotations

import asyncio
import time
from contextlib import asynccontextmanager
from typing import Any, AsyncGenerator, Callable, Optional, TypeVar

import redis
from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, LockStore
from rasa.utils.endpoints import EndpointConfig

T = TypeVar("T")

IDLE_EXPIRY_MS = 24 * 3600 * 1000
POLL_S = 0.02
ALIVE_MS = 5000  # a ticket's key lives this long unless its server renews it (every ALIVE_MS / 4)
OUTAGE_S = 20.0  # how long a message waits for Redis to come back
UNREACHABLE = (redis.ConnectionError, redis.TimeoutError)

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


class FifoRedisLockStore(LockStore):
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
        self._issue = self.red.register_script(_ISSUE)
        self._advance = self.red.register_script(_ADVANCE)
        self._release = self.red.register_script(_RELEASE)
        super().__init__()

    def _keys(self, conversation_id: str) -> tuple:
        base = f"{self.prefix}:{conversation_id}"
        return f"{base}:serving", f"{base}:next", f"{base}:ticket"

    @asynccontextmanager
    async def lock(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME,
                   wait_time_in_seconds: float = POLL_S) -> AsyncGenerator[TicketLock, None]:
        serving_key, next_key, ticket_prefix = self._keys(conversation_id)
        lifetime_ms = int(lock_lifetime * 1000)
        alive_ms = min(ALIVE_MS, lifetime_ms)
        ticket = int(await self._patiently(f"a ticket for conversation '{conversation_id}'", self._issue,
                                           keys=[next_key, ticket_prefix], args=[alive_ms, IDLE_EXPIRY_MS]))
        heartbeat: Optional[asyncio.Task] = None
        try:
            await self._wait_for_turn(serving_key, next_key, ticket_prefix, ticket, alive_ms, lifetime_ms,
                                      max(min(wait_time_in_seconds, 0.1), POLL_S))
            heartbeat = asyncio.ensure_future(self._keep_alive(f"{ticket_prefix}:{ticket}", alive_ms, lifetime_ms))
            yield TicketLock(conversation_id)  # what Rasa's callers receive; they only hold it
        finally:
            if heartbeat is not None:
                heartbeat.cancel()
            try:
                self._release(keys=[serving_key, f"{ticket_prefix}:{ticket}", next_key],
                              args=[ticket, IDLE_EXPIRY_MS])
            except redis.RedisError:
                pass  # the ticket key expires by itself; a waiter then skips it

    @staticmethod
    async def _patiently(what: str, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """call(*args, **kwargs), waiting up to OUTAGE_S while Redis does not answer."""
        deadline = time.monotonic() + OUTAGE_S
        while True:
            try:
                return call(*args, **kwargs)
            except UNREACHABLE as error:
                if time.monotonic() > deadline:
                    raise LockError(f"Redis did not answer for {OUTAGE_S:.0f} s ({what}): {error}") from error
                await asyncio.sleep(0.25)
            except redis.RedisError as error:
                raise LockError(f"Redis refused {what}: {error}") from error

    async def _keep_alive(self, key: str, alive_ms: int, lifetime_ms: int) -> None:
        """While the lock is held, up to the lock lifetime: the holder's server is alive."""
        deadline = time.monotonic() + lifetime_ms / 1000
        while time.monotonic() < deadline:
            await asyncio.sleep(alive_ms / 4000)
            try:
                self.red.set(key, 1, px=alive_ms)
            except redis.RedisError:
                pass

    async def _wait_for_turn(self, serving_key: str, next_key: str, ticket_prefix: str, ticket: int,
                             alive_ms: int, lifetime_ms: int, poll_s: float) -> None:
        deadline = time.monotonic() + lifetime_ms / 1000 * 2
        mine = f"{ticket_prefix}:{ticket}"
        while True:
            serving = int(await self._patiently("the turn", self.red.get, serving_key) or 0)
            head = serving + 1
            if head == ticket:
                await self._patiently("a ticket", self.red.set, mine, 1, px=alive_ms)  # holding: alive again
                return
            if head > ticket:
                raise LockError(f"ticket {ticket} was skipped: its conversation waited too long")
            if not await self._patiently("a ticket", self.red.exists, f"{ticket_prefix}:{head}"):
                await self._patiently("a skip", self._advance, keys=[serving_key, next_key],
                                      args=[serving, IDLE_EXPIRY_MS])
                continue
            if time.monotonic() > deadline:
                raise LockError(f"waited too long for the conversation's earlier messages (ticket {ticket})")
            await self._patiently("a ticket", self.red.set, mine, 1, px=alive_ms)  # still waiting
            await asyncio.sleep(poll_s)
