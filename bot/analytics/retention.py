"""Retention: what was recorded before the cutoff is deleted, or anonymised.

Applies to Rasa's tracker store (events), the analytics tables and the assistant's
funnel_events, offline_reasons and answer_ratings; lookup failures and locks are deleted. The copies of Rasa's events that the
production consumer took from RabbitMQ (analytics_broker_events) are deleted in both modes:
the tracker store keeps the record, anonymised or not. Anonymising masks the texts and replaces
each sender id by a keyed hash ("anon-…"), the same in every table, so old data still
counts citizens without naming them. The key lives in the app database (analytics_secrets).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from secrets import token_hex
from typing import Dict, Optional

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from bot.analytics.ingest import local_day, utc
from bot.privacy import mask_event, prompt_of
from bot.analytics.models import (broker_events, conversations, handoffs, lookups, messages, secret_values, unmet,
                                  tracker_events)
from bot.store.models import answer_ratings, funnel_events, lookup_failures, lookup_locks, offline_reasons

PSEUDONYM_PREFIX = "anon-"
BATCH_SIZE = 1000
APP_TABLES = (funnel_events, offline_reasons, answer_ratings)
ANALYTICS_TABLES = (messages, handoffs, lookups, unmet)


@dataclass
class RetentionResult:
    cutoff: dt.datetime
    anonymised: bool
    rows: Dict[str, int] = field(default_factory=dict)


def cutoff_for(days: int, on: Optional[dt.datetime] = None) -> dt.datetime:
    if days < 1:
        raise ValueError("retention must keep at least one day")
    return (on or dt.datetime.now(dt.timezone.utc)) - dt.timedelta(days=days)


def _key(app: Engine) -> bytes:
    with app.connect() as connection:
        value = connection.execute(select(secret_values.c.value).where(secret_values.c.name == "pseudonym_key")).scalar()
    if value is None:
        try:
            with app.begin() as connection:
                connection.execute(insert(secret_values).values(name="pseudonym_key", value=token_hex(32)))
        except IntegrityError:
            pass  # created by a concurrent run
        with app.connect() as connection:
            value = connection.execute(select(secret_values.c.value).where(secret_values.c.name == "pseudonym_key")).scalar_one()
    return bytes.fromhex(value)


def pseudonym(key: bytes, sender_id: str) -> str:
    if sender_id.startswith(PSEUDONYM_PREFIX):
        return sender_id
    return PSEUDONYM_PREFIX + hmac.new(key, sender_id.encode("utf-8"), hashlib.sha256).hexdigest()[:24]


def apply(app: Engine, tracker: Optional[Engine], days: int, anonymise: bool = False,
          on: Optional[dt.datetime] = None) -> RetentionResult:
    result = RetentionResult(cutoff_for(days, on), anonymise)
    if anonymise:
        key = _key(app)
        if tracker is not None:
            result.rows["events"] = _anonymise_tracker(tracker, key, result.cutoff)
        with app.begin() as connection:
            _anonymise_app(connection, key, result)
            _delete_broker_copies(connection, result)
    else:
        if tracker is not None and _has_events(tracker):
            with tracker.begin() as connection:
                result.rows["events"] = connection.execute(
                    delete(tracker_events).where(tracker_events.c.timestamp < result.cutoff.timestamp())).rowcount
        with app.begin() as connection:
            _delete_app(connection, result)
            _delete_broker_copies(connection, result)
    return result


def _delete_broker_copies(connection: Connection, result: RetentionResult) -> None:
    result.rows[broker_events.name] = connection.execute(
        delete(broker_events).where(broker_events.c.timestamp < result.cutoff.timestamp())).rowcount
    # Lookup failures and locks name senders and codes; both modes delete them (a lock log
    # anonymised would tell staff nothing).
    result.rows[lookup_failures.name] = connection.execute(
        delete(lookup_failures).where(lookup_failures.c.at < result.cutoff)).rowcount
    result.rows[lookup_locks.name] = connection.execute(
        delete(lookup_locks).where(lookup_locks.c.locked_at < result.cutoff)).rowcount


def _has_events(tracker: Engine) -> bool:
    from sqlalchemy import inspect

    return inspect(tracker).has_table(tracker_events.name)


# -- deleting -------------------------------------------------------------------------------

def _delete_app(connection: Connection, result: RetentionResult) -> None:
    cutoff = result.cutoff
    for table in (*ANALYTICS_TABLES, *APP_TABLES):
        result.rows[table.name] = connection.execute(delete(table).where(table.c.at < cutoff)).rowcount
    result.rows[conversations.name] = connection.execute(
        delete(conversations).where(conversations.c.last_at < cutoff)).rowcount
    # Conversations that go on after the cutoff now start at their oldest kept message.
    for row in connection.execute(
            select(conversations.c.id, func.min(messages.c.at).label("first"))
            .join(messages, messages.c.conversation_id == conversations.c.id)
            .where(conversations.c.first_at < cutoff).group_by(conversations.c.id)).mappings().all():
        first = utc(row["first"])
        kept = connection.execute(select(func.count()).select_from(messages).where(and_(
            messages.c.conversation_id == row["id"], messages.c.actor == "user"))).scalar_one()
        connection.execute(update(conversations).where(conversations.c.id == row["id"]).values(
            first_at=first, first_day=local_day(first), message_count=kept))


# -- anonymising ----------------------------------------------------------------------------

def _anonymise_tracker(tracker: Engine, key: bytes, cutoff: dt.datetime) -> int:
    if not _has_events(tracker):
        return 0
    changed, last_id = 0, 0
    prompts: Dict[str, Optional[str]] = {}  # the question each sender was last asked
    while True:
        with tracker.begin() as connection:
            rows = connection.execute(
                select(tracker_events.c.id, tracker_events.c.sender_id, tracker_events.c.data)
                .where(and_(tracker_events.c.id > last_id, tracker_events.c.timestamp < cutoff.timestamp()))
                .order_by(tracker_events.c.id).limit(BATCH_SIZE)).mappings().all()
            if not rows:
                return changed
            for row in rows:
                last_id = row["id"]
                if row["sender_id"].startswith(PSEUDONYM_PREFIX):
                    continue
                try:
                    data = json.loads(row["data"] or "{}")
                except ValueError:
                    data = {}
                masked = mask_event(data, prompts.get(row["sender_id"]))
                if data.get("event") == "bot":
                    prompts[row["sender_id"]] = prompt_of(data.get("text"), (data.get("metadata") or {}).get("utter_action"))
                elif data.get("event") == "user":
                    prompts[row["sender_id"]] = None
                connection.execute(update(tracker_events).where(tracker_events.c.id == row["id"]).values(
                    sender_id=pseudonym(key, row["sender_id"]), data=json.dumps(masked)))
                changed += 1


def _anonymise_app(connection: Connection, key: bytes, result: RetentionResult) -> None:
    cutoff = result.cutoff
    for table in (*ANALYTICS_TABLES, *APP_TABLES):
        old = and_(table.c.at < cutoff, table.c.sender_id.notlike(f"{PSEUDONYM_PREFIX}%"))
        senders = list(connection.execute(select(table.c.sender_id).where(old).distinct()).scalars())
        count = 0
        for sender in senders:
            values: Dict[str, Optional[str]] = {"sender_id": pseudonym(key, sender)}
            if table is funnel_events:
                values["dossier_code"] = None  # a dossier code leads back to the person
            count += connection.execute(update(table).where(and_(
                table.c.at < cutoff, table.c.sender_id == sender)).values(**values)).rowcount
        result.rows[table.name] = count
    # A conversation is anonymised once it ended before the cutoff.
    count = 0
    for row in connection.execute(select(conversations.c.id, conversations.c.sender_id).where(and_(
            conversations.c.last_at < cutoff,
            conversations.c.sender_id.notlike(f"{PSEUDONYM_PREFIX}%")))).mappings().all():
        alias = pseudonym(key, row["sender_id"])
        existing = connection.execute(select(conversations).where(conversations.c.sender_id == alias)).mappings().first()
        if existing is None:
            connection.execute(update(conversations).where(conversations.c.id == row["id"]).values(
                sender_id=alias, prompt=None))
        else:  # an older part of the same citizen's conversation was anonymised before
            _merge_into(connection, row["id"], dict(existing))
        count += 1
    result.rows[conversations.name] = count


def _merge_into(connection: Connection, source_id: int, target: dict) -> None:
    source = connection.execute(select(conversations).where(conversations.c.id == source_id)).mappings().one()
    for table in ANALYTICS_TABLES:
        connection.execute(update(table).where(table.c.conversation_id == source_id).values(
            conversation_id=target["id"]))
    first, last = min(utc(source["first_at"]), utc(target["first_at"])), max(utc(source["last_at"]), utc(target["last_at"]))
    connection.execute(update(conversations).where(conversations.c.id == target["id"]).values(
        first_at=first, first_day=local_day(first), last_at=last, last_day=local_day(last),
        message_count=source["message_count"] + target["message_count"]))
    connection.execute(delete(conversations).where(conversations.c.id == source_id))
