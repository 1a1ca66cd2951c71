"""Engines and the repository functions the actions and the notifier use."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path
from typing import List, Optional

from sqlalchemy import MetaData, and_, create_engine, event, func, insert, inspect, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.pool import QueuePool

from bot.clock import now
from bot.store.models import (FUNNEL_STAGES, LOCK_SCOPES, OFFLINE_REASONS, RATINGS, answer_ratings,  # noqa: F401
                              delivered_events, funnel_events, lookup_failures, lookup_locks, metadata,
                              offline_reasons, subscriptions)



def tune_sqlite(engine: Engine) -> Engine:
    """WAL journal and `synchronous=NORMAL` on every SQLite connection: a commit no longer
    waits for the disk (durable across a process crash, not a power cut) and readers do not
    block the writer. Other databases are left as they are."""
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _pragmas(connection, _record) -> None:  # noqa: ANN001
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()
    return engine


@lru_cache(maxsize=4)
def engine_for(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
        # SQLAlchemy 1.4 opens a new SQLite connection per use of a file database (NullPool), and
        # each ran its pragmas: 17 % of the action server's CPU (py-spy, `make bench`). A pool of
        # open connections, shared by the action server's threads; no ping, a file does not drop.
        engine = create_engine(url, future=True, poolclass=QueuePool, pool_size=4, max_overflow=8,
                               connect_args={"check_same_thread": False})
    else:
        engine = create_engine(url, future=True, pool_pre_ping=True)
    engine = tune_sqlite(engine)
    try:
        metadata.create_all(engine)  # embedded default; production runs migrations
    except OperationalError:
        metadata.create_all(engine)  # another process created them between check and create
    add_missing_columns(engine, metadata)
    return engine


def add_missing_columns(engine: Engine, tables: MetaData) -> None:
    """An embedded database made by an older version gets the nullable columns added since,
    as the migrations add them in production."""
    inspector = inspect(engine)
    for table in tables.sorted_tables:
        present = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in present and column.nullable and column.server_default is None:
                kind = column.type.compile(dialect=engine.dialect)
                try:
                    with engine.begin() as connection:
                        connection.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}"))
                except DBAPIError:
                    pass  # another process added it first


# -- lookups: failed verifications lock a sender, and a dossier code for everyone ---------

def record_lookup_failure(engine: Engine, sender_id: str, dossier_code: str, channel: Optional[str],
                          at: Optional[dt.datetime] = None) -> None:
    with engine.begin() as connection:
        connection.execute(insert(lookup_failures).values(
            sender_id=sender_id, dossier_code=dossier_code, channel=channel, at=at or now(), forgiven=False))


def lookup_failures_since(engine: Engine, since: dt.datetime, *, sender_id: Optional[str] = None,
                          dossier_code: Optional[str] = None) -> int:
    """Failures since `since` of one sender (any code, not forgiven) or of one code (any sender)."""
    if (sender_id is None) == (dossier_code is None):
        raise ValueError("count the failures of a sender or of a dossier code")
    condition = lookup_failures.c.at >= since
    if sender_id is not None:
        condition = and_(condition, lookup_failures.c.sender_id == sender_id, lookup_failures.c.forgiven.is_(False))
    else:
        condition = and_(condition, lookup_failures.c.dossier_code == dossier_code)
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(lookup_failures).where(condition)).scalar_one()


def forgive_sender_failures(engine: Engine, sender_id: str) -> None:
    """A verified lookup forgives the sender's typos; they still count against their codes."""
    with engine.begin() as connection:
        connection.execute(update(lookup_failures).where(and_(
            lookup_failures.c.sender_id == sender_id, lookup_failures.c.forgiven.is_(False))).values(forgiven=True))


def lock_lookups(engine: Engine, scope: str, key: str, until: dt.datetime, failures: int,
                 channel: Optional[str] = None, at: Optional[dt.datetime] = None) -> None:
    if scope not in LOCK_SCOPES:
        raise ValueError(f"unknown lock scope {scope!r}")
    with engine.begin() as connection:
        connection.execute(insert(lookup_locks).values(
            scope=scope, key=key, until=until, failures=failures, channel=channel, locked_at=at or now()))


def lookup_locked_until(engine: Engine, scope: str, key: str, at: Optional[dt.datetime] = None
                        ) -> Optional[dt.datetime]:
    """The end of the latest lock of `key` in `scope` still in force at `at`, or None."""
    with engine.connect() as connection:
        until = connection.execute(
            select(func.max(lookup_locks.c.until)).where(and_(
                lookup_locks.c.scope == scope, lookup_locks.c.key == key, lookup_locks.c.until > (at or now())))
        ).scalar_one()
    if until is not None and until.tzinfo is None:  # SQLite hands back naive datetimes
        until = until.replace(tzinfo=dt.timezone.utc)
    return until


def lookup_locks_since(engine: Engine, since: dt.datetime) -> List[dict]:
    """Locks set since `since`, newest first (for staff)."""
    with engine.connect() as connection:
        rows = connection.execute(select(lookup_locks).where(lookup_locks.c.locked_at >= since)
                                  .order_by(lookup_locks.c.locked_at.desc())).mappings()
        return [dict(row) for row in rows]


# -- subscriptions -------------------------------------------------------------------------

def subscribe(engine: Engine, sender_id: str, channel: str, dossier_code: str) -> None:
    with engine.begin() as connection:
        changed = connection.execute(
            update(subscriptions)
            .where(and_(subscriptions.c.sender_id == sender_id, subscriptions.c.dossier_code == dossier_code))
            .values(active=True, channel=channel, ended_at=None)
        ).rowcount
        if not changed:
            connection.execute(insert(subscriptions).values(
                sender_id=sender_id, channel=channel, dossier_code=dossier_code, active=True, created_at=now()))


def unsubscribe(engine: Engine, sender_id: str, dossier_code: Optional[str] = None) -> List[str]:
    """End one subscription (or all of the sender's); returns the codes ended."""
    condition = and_(subscriptions.c.sender_id == sender_id, subscriptions.c.active.is_(True))
    if dossier_code:
        condition = and_(condition, subscriptions.c.dossier_code == dossier_code)
    with engine.begin() as connection:
        codes = list(connection.execute(select(subscriptions.c.dossier_code).where(condition)).scalars())
        connection.execute(update(subscriptions).where(condition).values(active=False, ended_at=now()))
    return codes


def subscribers(engine: Engine, dossier_code: str) -> List[dict]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(subscriptions.c.sender_id, subscriptions.c.channel).where(
                and_(subscriptions.c.dossier_code == dossier_code, subscriptions.c.active.is_(True)))
        ).mappings()
        return [dict(row) for row in rows]


def active_codes(engine: Engine, sender_id: str) -> List[str]:
    with engine.connect() as connection:
        return list(connection.execute(
            select(subscriptions.c.dossier_code).where(
                and_(subscriptions.c.sender_id == sender_id, subscriptions.c.active.is_(True)))
        ).scalars())


def first_delivery(engine: Engine, event_id: str) -> bool:
    """True the first time an event id is seen: the one-stop system retries deliveries."""
    try:
        with engine.begin() as connection:
            connection.execute(insert(delivered_events).values(event_id=event_id, at=now()))
        return True
    except IntegrityError:
        return False


# -- funnel --------------------------------------------------------------------------------

def record_funnel(engine: Engine, stage: str, sender_id: str, procedure_id: str,
                  channel: Optional[str] = None, field: Optional[str] = None,
                  locality: Optional[str] = None, dossier_code: Optional[str] = None) -> None:
    if stage not in FUNNEL_STAGES:
        raise ValueError(f"unknown funnel stage {stage!r}")
    with engine.begin() as connection:
        connection.execute(insert(funnel_events).values(
            stage=stage, sender_id=sender_id, procedure_id=procedure_id, channel=channel,
            field=field, locality=locality, dossier_code=dossier_code, at=now()))


def funnel_for_code(engine: Engine, dossier_code: str) -> Optional[dict]:
    """The draft_created event of a dossier, to attribute its submission."""
    with engine.connect() as connection:
        row = connection.execute(
            select(funnel_events).where(and_(funnel_events.c.dossier_code == dossier_code,
                                             funnel_events.c.stage == "draft_created"))
        ).mappings().first()
        return dict(row) if row else None


# -- why offline, and ratings --------------------------------------------------------------



def record_offline_reason(engine: Engine, sender_id: str, reason: str, procedure_id: Optional[str],
                          channel: Optional[str], field: Optional[str], locality: Optional[str],
                          text: Optional[str] = None) -> None:
    if reason not in OFFLINE_REASONS:
        raise ValueError(f"unknown offline reason {reason!r}")
    with engine.begin() as connection:
        connection.execute(insert(offline_reasons).values(
            sender_id=sender_id, reason=reason, procedure_id=procedure_id, channel=channel,
            field=field, locality=locality, text=text, at=now()))


def record_rating(engine: Engine, sender_id: str, rating: str, intent: Optional[str],
                  procedure_id: Optional[str], channel: Optional[str], typed: bool = False) -> None:
    if rating not in RATINGS:
        raise ValueError(f"unknown rating {rating!r}")
    with engine.begin() as connection:
        connection.execute(insert(answer_ratings).values(
            sender_id=sender_id, rating=rating, intent=intent, procedure_id=procedure_id,
            channel=channel, typed=typed, at=now()))
