"""Per-sender rate limiting of the citizen channels (REST, Telegram, Zalo, socket.io).

At most RATE_LIMIT_MESSAGES messages per RATE_LIMIT_WINDOW_S seconds from one sender of one
channel (fixed windows). A message over the limit never reaches Rasa, so nothing of it is
stored; the sender is told once per window (data/texts/channels.yml, `rate_limited`) and the
rest is dropped, so a flood does not become a flood of answers. Embedded default: counters in
this process; production: in Redis, shared by every Rasa server (one atomic INCR per message).
"""

from __future__ import annotations

import time
from enum import Enum
from functools import lru_cache
from typing import Dict, Optional, Tuple

from bot.config import Settings, load_settings


class Verdict(Enum):
    ALLOW = "allow"
    TELL = "tell"     # the first message over the limit in this window: answer it with a notice
    DROP = "drop"     # the next ones: no answer at all


class RateLimiter:
    def __init__(self, messages: int, window_s: float, redis_url: Optional[str] = None) -> None:
        self.messages, self.window_s = int(messages), float(window_s)
        self._counts: Dict[Tuple[str, int], int] = {}
        self._redis = None
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
        if len(self._counts) > 100_000:  # forget past windows
            self._counts = {k: v for k, v in self._counts.items() if k[1] == window}
        self._counts[(key, window)] = self._counts.get((key, window), 0) + 1
        return self._counts[(key, window)]


def limiter_for(settings: Settings) -> RateLimiter:
    return RateLimiter(settings.rate_limit_messages, settings.rate_limit_window_s,
                       settings.redis_url if settings.production else None)


@lru_cache(maxsize=1)
def limiter() -> RateLimiter:
    """The process's limiter, built on first use (not at import)."""
    return limiter_for(load_settings())
