"""Admission control: a message the Rasa server could not answer within ADMISSION_MAX_WAIT_S
is told at once that the assistant is busy, instead of waiting a minute and getting nothing.

One Rasa server is one Python thread: its messages share the processor, so when more arrive
than it can finish, every answer slows down together. A new message waits about
(messages in flight + 1) / capacity, where capacity is messages finished per second of busy
time (time with at least one message in flight) over the last WINDOW_S: at full load that is
the throughput, at light load it is one over the time a message takes. Refusing the newest
keeps the admitted ones within the promised time. Below FLOOR messages in flight nothing is
refused: a few slow messages (a one-stop call waiting for its timeout) are not a backlog.
"""

from __future__ import annotations

import contextlib
import time
from collections import deque
from typing import Callable, Deque, Iterator, Optional, Tuple

FLOOR = 8          # in flight: never refuse below this
WINDOW_S = 5.0     # capacity measured over this many seconds
MIN_SAMPLES = 5    # completions needed for a new measurement; the last one holds meanwhile


class Admission:
    def __init__(self, max_wait_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_wait_s = max_wait_s
        self.clock = clock
        self.in_flight = 0
        self.refused = 0
        self._busy_total = 0.0           # seconds with at least one message in flight, before _busy_since
        self._busy_since: Optional[float] = None
        self._done = 0
        self._last_done_at = clock()
        self._marks: Deque[Tuple[float, float, int]] = deque()  # (time, busy seconds, completions)
        self.capacity: Optional[float] = None                   # messages per busy second

    def _busy(self, now: float) -> float:
        return self._busy_total + (now - self._busy_since if self._busy_since is not None else 0.0)

    def _measure(self, now: float) -> None:
        busy = self._busy(now)
        self._marks.append((now, busy, self._done))
        while len(self._marks) > 1 and self._marks[0][0] < now - WINDOW_S:
            self._marks.popleft()
        _, old_busy, old_done = self._marks[0]
        done, busy_span = self._done - old_done, busy - old_busy
        if done >= MIN_SAMPLES and busy_span > 0:
            self.capacity = done / busy_span

    def predicted_wait(self, waited_s: float = 0.0) -> float:
        """Seconds until a message arriving now (having waited `waited_s` already in the
        channel) would be answered."""
        now = self.clock()
        if self.in_flight and now - self._last_done_at > self.max_wait_s:
            return float("inf")  # busy, and nothing finished for longer than we promise
        if self.capacity is None:
            return waited_s
        return waited_s + (self.in_flight + 1) / self.capacity

    def admit(self, waited_s: float = 0.0) -> bool:
        if self.max_wait_s <= 0 or self.in_flight < FLOOR:
            return True
        if self.predicted_wait(waited_s) <= self.max_wait_s:
            return True
        self.refused += 1
        return False

    @contextlib.contextmanager
    def ticket(self) -> Iterator[None]:
        """Hold while the message is with Rasa."""
        now = self.clock()
        if self.in_flight == 0:
            self._busy_since = now
            self._last_done_at = now  # idle time is not "nothing finished"
        self.in_flight += 1
        try:
            yield
        finally:
            now = self.clock()
            self.in_flight -= 1
            self._done += 1
            self._last_done_at = now
            if self.in_flight == 0 and self._busy_since is not None:
                self._busy_total += now - self._busy_since
                self._busy_since = None
            self._measure(now)
