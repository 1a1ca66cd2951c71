"""Per-sender rate limiting of the citizen channels (REST, Telegram, Zalo, socket.io).

At most RATE_LIMIT_MESSAGES messages per RATE_LIMIT_WINDOW_S seconds from one sender of one
channel (fixed windows). A message over the limit never reaches Rasa, so nothing of it is
stored; the sender is told once per window (data/texts/channels.yml, `rate_limited`) and the
rest is dropped, so a flood does not become a flood of answers. Counters live in this process
with one Rasa server; with several, they are shared by every server: embedded, in a SQLite file
(one upsert per message); production, in Redis (one atomic INCR per message).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from enum import Enum
from functools import lru_cache
from pathlib import Path
from typing import Dict, Optional, Tuple

from bot.config import Settings, load_settings


class Verdict(Enum):
    ALLOW = "allow"
    TELL = "tell"     # the first message over the limit in this window: answer it with a notice
    DROP = "drop"     # the next ones: no answer at all


class RateLimiter:
    def __init__(self, messages: int, window_s: float, redis_url: Optional[str] = None,
                 sqlite_path: Optional[Path] = None) -> None:
        self.messages, self.window_s = int(messages), float(window_s)
        self._counts: Dict[Tuple[str, int], int] = {}
        self._redis = None
        self._sqlite: Optional[sqlite3.Connection] = None
        self._sqlite_lock = threading.Lock()
        self._sqlite_path = sqlite_path
        if redis_url:
            import redis

            self._redis = redis.Redis.from_url(redis_url, socket_timeout=2)

    def check(self, channel: str, sender: str) -> Verdict:
        if self.messages <= 0:
            return Verdict.ALLOW
        window = int(time.time() // self.window_s)
        count = self._count(f"{channel}:{sender}", window)
        if count <= self.messages:
            return Verdict.ALLOW
        return Verdict.TELL if count == self.messages + 1 else Verdict.DROP

    def _count(self, key: str, window: int) -> int:
        if self._redis is not None:
            import redis

            name = f"assistant:rate:{key}:{window}"
            try:
                pipe = self._redis.pipeline()
                pipe.incr(name)
                pipe.expire(name, int(self.window_s) + 1)
                return int(pipe.execute()[0])
            except redis.RedisError:
                return 1  # without Redis, let citizens through rather than refuse everyone
        if self._sqlite_path is not None:
            try:
                return self._count_in_file(key, window)
            except sqlite3.Error:
                return 1  # a locked or broken file: let citizens through rather than refuse everyone
        if len(self._counts) > 100_000:  # forget past windows
            self._counts = {k: v for k, v in self._counts.items() if k[1] == window}
        self._counts[(key, window)] = self._counts.get((key, window), 0) + 1
        return self._counts[(key, window)]


    def _count_in_file(self, key: str, window: int) -> int:
        with self._sqlite_lock:
            if self._sqlite is None:
                assert self._sqlite_path is not None
                self._sqlite_path.parent.mkdir(parents=True, exist_ok=True)
                connection = sqlite3.connect(self._sqlite_path, timeout=2, isolation_level=None,
                                             check_same_thread=False)
                connection.execute("PRAGMA journal_mode=WAL")
                connection.execute("PRAGMA synchronous=NORMAL")
                connection.execute("CREATE TABLE IF NOT EXISTS rate_counts (key TEXT NOT NULL, "
                                   "window INTEGER NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (key, window))")
                self._sqlite = connection
            if window % 16 == 0:  # now and then, forget past windows
                self._sqlite.execute("DELETE FROM rate_counts WHERE window < ?", (window - 1,))
            row = self._sqlite.execute(
                "INSERT INTO rate_counts (key, window, count) VALUES (?, ?, 1) "
                "ON CONFLICT (key, window) DO UPDATE SET count = count + 1 RETURNING count",
                (key, window)).fetchone()
            return int(row[0])


def limiter_for(settings: Settings) -> RateLimiter:
    if settings.production:
        return RateLimiter(settings.rate_limit_messages, settings.rate_limit_window_s, redis_url=settings.redis_url)
    shared = settings.var_dir / "rate-limits.db" if settings.rasa_servers > 1 else None
    return RateLimiter(settings.rate_limit_messages, settings.rate_limit_window_s, sqlite_path=shared)


@lru_cache(maxsize=1)
def limiter() -> RateLimiter:
    """The process's limiter, built on first use (not at import)."""
    return limiter_for(load_settings())
