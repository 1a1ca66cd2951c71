"""When dossier lookups are refused: too many failed verifications of one sender, of one
dossier code across every sender and channel, or the one-stop system's own refusal.

A sender id costs nothing on REST or socket.io (the client picks it), so a per-sender limit
alone lets anyone try all 10,000 four-digit values by rotating ids. The per-code limit does
not: after `code_failures` failures of one code within `minutes`, every lookup of that code
is refused for `minutes`, whoever asks, through any channel. Locks are rows of the
assistant's database (SQLite embedded, PostgreSQL in production), so a restart keeps them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional

from sqlalchemy.engine import Engine

from bot.config import Settings
from bot.store import db


@dataclass(frozen=True)
class Policy:
    sender_failures: int
    code_failures: int
    minutes: int

    @classmethod
    def of(cls, settings: Settings) -> "Policy":
        return cls(settings.lookup_sender_failures, settings.lookup_code_failures, settings.lookup_lock_minutes)


@dataclass(frozen=True)
class Refusal:
    scope: str            # dossier | onestop | sender
    until: dt.datetime

    def minutes_left(self, at: dt.datetime) -> int:
        return max(1, -(-int((self.until - at).total_seconds()) // 60))


def refusal(engine: Engine, sender_id: str, code: Optional[str], at: dt.datetime) -> Optional[Refusal]:
    """The lock in force for this sender or this code, the code's first."""
    keys = [("dossier", code), ("onestop", code)] if code else []
    for scope, key in keys + [("sender", sender_id)]:
        until = db.lookup_locked_until(engine, scope, key, at)
        if until is not None:
            return Refusal(scope, until)
    return None


def record_failure(engine: Engine, policy: Policy, sender_id: str, code: str, channel: Optional[str],
                   at: dt.datetime) -> Optional[Refusal]:
    """Count a failed lookup; the lock it sets, if it reaches a limit."""
    db.record_lookup_failure(engine, sender_id, code, channel, at)
    since = at - dt.timedelta(minutes=policy.minutes)
    until = at + dt.timedelta(minutes=policy.minutes)
    code_count = db.lookup_failures_since(engine, since, dossier_code=code)
    if code_count >= policy.code_failures:
        db.lock_lookups(engine, "dossier", code, until, code_count, channel, at)
        return Refusal("dossier", until)
    sender_count = db.lookup_failures_since(engine, since, sender_id=sender_id)
    if sender_count >= policy.sender_failures:
        db.lock_lookups(engine, "sender", sender_id, until, sender_count, channel, at)
        return Refusal("sender", until)
    return None


def record_onestop_lock(engine: Engine, policy: Policy, code: str, retry_after_s: Optional[float],
                        channel: Optional[str], at: dt.datetime) -> Refusal:
    """The one-stop system refused the code: remembered until its Retry-After (else our own
    lock time), so we stop asking it and staff see it."""
    seconds = retry_after_s if retry_after_s is not None else policy.minutes * 60
    until = at + dt.timedelta(seconds=max(1.0, seconds))
    db.lock_lookups(engine, "onestop", code, until, 0, channel, at)
    return Refusal("onestop", until)


def record_success(engine: Engine, sender_id: str) -> None:
    """A verified lookup forgives the sender's own mistakes; a code's failures stay counted,
    or a prober could reset them by looking up a dossier of their own in between."""
    db.forgive_sender_failures(engine, sender_id)
