"""Production: the analytics' copies of Rasa's events made whole from the tracker store.

A Rasa server writes a turn's events to PostgreSQL, then publishes them to RabbitMQ
(bot/rasa_plugins/tracker_store.py: PostgresTrackerStore). A server killed between the two (SIGKILL,
a power cut) takes the events it had not yet published with it: the conversation has them,
the analytics would not. Every 30 s (ANALYTICS_RECONCILE_S) the consumer calls `reconcile`:
it reads the tracker rows added since its checkpoint and stores, as broker copies, the events
RabbitMQ did not deliver. A copy has the digest the consumer gives the same event
(`row_of_event`), so an event arriving both ways is stored once, whichever comes first.

Only rows at least 120 s old (ANALYTICS_RECONCILE_GRACE_S) move the checkpoint: a turn's
events carry the time its message arrived, and its transaction may commit later (a slow
one-stop call, a database restart waited out); younger rows are read again next time. The
first run starts the checkpoint at the newest tracker row: history before that (possibly
pruned or anonymised by retention since) is never copied.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Callable, List

from sqlalchemy import func, inspect, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.analytics.broker_rows import row_of_event, store
from bot.analytics.models import checkpoint, tracker_events

CHECKPOINT = "reconcile"
BATCH_SIZE = 5000


def _checkpoint(app: Engine, tracker: Engine) -> int:
    with app.connect() as connection:
        value = connection.execute(
            select(checkpoint.c.last_event_id).where(checkpoint.c.source == CHECKPOINT)).scalar()
    if value is not None:
        return int(value)
    with tracker.connect() as connection:
        newest = int(connection.execute(select(func.max(tracker_events.c.id))).scalar() or 0)
    try:
        with app.begin() as connection:
            connection.execute(insert(checkpoint).values(source=CHECKPOINT, last_event_id=newest,
                                                         updated_at=dt.datetime.now(dt.timezone.utc)))
    except IntegrityError:
        return _checkpoint(app, tracker)  # another consumer created it first
    return newest


def reconcile(tracker: Engine, app: Engine, grace_s: float, batch_size: int = BATCH_SIZE,
              clock: Callable[[], float] = time.time) -> int:
    """Store the settled tracker events that have no broker copy; returns how many there were."""
    if not inspect(tracker).has_table(tracker_events.name):
        return 0  # Rasa has not stored a conversation yet
    after = _checkpoint(app, tracker)
    added = 0
    while True:
        with tracker.connect() as connection:
            rows = connection.execute(select(tracker_events).where(tracker_events.c.id > after)
                                      .order_by(tracker_events.c.id).limit(batch_size)).all()
        settled_before = clock() - grace_s
        settled: List = []
        for row in rows:
            if row.timestamp is not None and row.timestamp > settled_before:
                break
            settled.append(row)
        if not settled:
            return added
        copies = [row_of_event({"sender_id": row.sender_id, **json.loads(row.data)}) for row in settled]
        added += store(app, [copy for copy in copies if copy is not None])
        after = settled[-1].id
        with app.begin() as connection:
            connection.execute(update(checkpoint).where(checkpoint.c.source == CHECKPOINT)
                               .values(last_event_id=after, updated_at=dt.datetime.now(dt.timezone.utc)))
        if len(settled) < len(rows) or len(rows) < batch_size:
            return added
