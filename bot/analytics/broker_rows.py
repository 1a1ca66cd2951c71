"""Rasa's events as rows of `analytics_broker_events` (the columns of Rasa's own events table):
decoding a broker message, and storing rows once each (the SHA-256 of an event's canonical
JSON). Used by the consumer (bot/analytics/consumer.py) and the reconciliation with the
tracker store (bot/analytics/reconcile.py)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any, Dict, List, Optional

from sqlalchemy import insert
from sqlalchemy.engine import Engine

from bot.analytics.models import broker_events


def rows_of(body: bytes) -> Optional[List[Dict[str, Any]]]:
    """The events-table rows of one broker message — one event (Rasa's broker) or a list of
    them (bot/rasa_plugins/event_broker.py) — or None when it is not Rasa events."""
    try:
        decoded = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    events = decoded if isinstance(decoded, list) else [decoded]
    rows = [row_of_event(event) for event in events]
    found = [row for row in rows if row is not None]
    if not rows or len(found) < len(rows):
        return None
    return found


def row_of_event(event: Any) -> Optional[Dict[str, Any]]:
    if not isinstance(event, dict):
        return None
    sender, kind = event.get("sender_id"), event.get("event")
    timestamp = event.get("timestamp")
    if not isinstance(sender, str) or not sender or len(sender) > 255 or not isinstance(kind, str) or not kind:
        return None
    if timestamp is not None and (isinstance(timestamp, bool) or not isinstance(timestamp, (int, float))):
        return None
    data = {key: value for key, value in event.items() if key != "sender_id"}
    parse: Dict[str, Any] = data["parse_data"] if isinstance(data.get("parse_data"), dict) else {}
    intent: Dict[str, Any] = parse["intent"] if isinstance(parse.get("intent"), dict) else {}
    name = data.get("name")
    canonical = json.dumps(event, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return {"digest": hashlib.sha256(canonical).hexdigest(), "sender_id": sender, "type_name": kind[:255],
            "timestamp": float(timestamp) if timestamp is not None else None,
            "intent_name": str(intent.get("name"))[:255] if intent.get("name") is not None else None,
            "action_name": str(name)[:255] if name is not None else None,
            "data": json.dumps(data), "received_at": dt.datetime.now(dt.timezone.utc)}


def store(engine: Engine, rows: List[Dict[str, Any]]) -> int:
    """Insert the rows in one transaction, skipping digests already stored; returns how many
    were new."""
    if not rows:
        return 0
    statement = insert(broker_events)
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        statement = pg_insert(broker_events).on_conflict_do_nothing(index_elements=["digest"])
    else:
        statement = statement.prefix_with("OR IGNORE")
    unique = list({row["digest"]: row for row in rows}.values())
    with engine.begin() as connection:
        result = connection.execute(statement, unique)
    return result.rowcount if result.rowcount is not None and result.rowcount >= 0 else len(unique)
