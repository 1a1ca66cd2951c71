"""Events a channel has already handled, so that a delivery made twice is answered once.

Telegram redelivers an update it believes we missed; Zalo retries an event not answered within
2 seconds. Behind nginx the second delivery may reach another Rasa server than the first, so in
the production profile the keys live in Redis, shared by every Rasa server: one `SET NX` with an
expiry (SEEN_TTL_S, a day: Telegram keeps an undelivered update at most 24 hours, Zalo retries
within minutes) per event. The embedded default keeps them where it always did: in the process
(Telegram) or in SQLite under the var directory (Zalo, so a restart does not answer a retry
twice). When the store fails the event is handled anyway and an error logged: a retry answered
twice is better than a citizen not answered at all.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from pathlib import Path
from typing import Deque, Optional, Set

from bot.config import Settings

logger = logging.getLogger(__name__)

SEEN_TTL_S = 24 * 3600       # production: how long Redis remembers an event
KEPT_IN_MEMORY = 2000        # embedded, without a file: the last keys of this process
KEPT_IN_FILE = 50_000        # embedded, with a file: the last keys in SQLite
KEY_PREFIX = "assistant:seen"
REDIS_TIMEOUT_S = 0.5        # a webhook must still answer in time (Zalo: 2 s) when Redis hangs
MAX_PLAIN_KEY = 200


def stored_key(key: str) -> str:
    """The key as stored: itself when short printable ASCII, else its SHA-256.

    Event ids come from request bodies: a lone surrogate cannot be encoded for SQLite or Redis,
    and a 10,000-character id should not become a 10,000-character key.
    """
    if len(key) <= MAX_PLAIN_KEY and key.isascii() and key.isprintable():
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


class SeenEvents(ABC):
    @abstractmethod
    def first_time(self, key: str) -> bool:
        """True for the first delivery of the event `key` (and whenever the store fails)."""


class MemorySeenEvents(SeenEvents):
    """The last `keep` keys of this process."""

    def __init__(self, keep: int = KEPT_IN_MEMORY) -> None:
        self._order: Deque[str] = deque(maxlen=keep)
        self._keys: Set[str] = set()

    def first_time(self, key: str) -> bool:
        if key in self._keys:
            return False
        if len(self._order) == self._order.maxlen:
            self._keys.discard(self._order[0])
        self._order.append(key)
        self._keys.add(key)
        return True


class SqliteSeenEvents(SeenEvents):
    """The last `keep` keys in SQLite under the var directory: a restart does not answer twice."""

    def __init__(self, path: Path, keep: int = KEPT_IN_FILE, channel: str = "") -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._keep = keep
        self._channel = channel
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS seen (key TEXT PRIMARY KEY, at REAL NOT NULL)")
        self._db.execute("CREATE INDEX IF NOT EXISTS seen_at ON seen (at)")
        self._inserted = 0

    def first_time(self, key: str) -> bool:
        try:
            with self._lock:
                fresh = self._db.execute("INSERT OR IGNORE INTO seen (key, at) VALUES (?, ?)",
                                         (stored_key(key), time.time())).rowcount == 1
                self._inserted += fresh
                if self._inserted >= max(self._keep // 50, 1):
                    self._inserted = 0
                    self._db.execute("DELETE FROM seen WHERE key IN (SELECT key FROM seen "
                                     "ORDER BY at DESC LIMIT -1 OFFSET ?)", (self._keep,))
                return fresh
        except sqlite3.Error as error:
            logger.error("%s: event log unavailable (%s); event handled without dedupe", self._channel, error)
            return True


class RedisSeenEvents(SeenEvents):
    """Keys in Redis for `ttl_s` seconds, shared by every Rasa server of the deployment."""

    def __init__(self, redis_url: str, channel: str, ttl_s: int = SEEN_TTL_S,
                 timeout_s: float = REDIS_TIMEOUT_S) -> None:
        import redis

        self._redis = redis.Redis.from_url(redis_url, socket_timeout=timeout_s,
                                           socket_connect_timeout=timeout_s)
        self._channel = channel
        self.ttl_s = ttl_s

    def name(self, key: str) -> str:
        """The Redis key of an event key."""
        return f"{KEY_PREFIX}:{self._channel}:{stored_key(key)}"

    def first_time(self, key: str) -> bool:
        import redis

        try:
            return bool(self._redis.set(self.name(key), 1, nx=True, ex=self.ttl_s))
        except redis.RedisError as error:  # no password in these messages: host and port at most
            logger.error("%s: Redis unavailable for the log of handled events (%s: %s); "
                         "event handled without dedupe", self._channel, type(error).__name__, error)
            return True


def seen_events(settings: Settings, channel: str, local_file: Optional[str] = None) -> SeenEvents:
    """Production: Redis. Embedded: `local_file` under the var directory (a file per channel when
    several Rasa servers share the work), or this process's memory."""
    if settings.production:
        return RedisSeenEvents(settings.redis_url, channel)
    if local_file or settings.rasa_servers > 1:
        return SqliteSeenEvents(settings.var_dir / (local_file or f"seen-{channel}.db"), channel=channel)
    return MemorySeenEvents()

