"""The embedded default's tracker store: Rasa's SQL tracker store on SQLite, made fast enough.

Measured with `make bench` (20 concurrent citizens): a third of the Rasa server's CPU went to
the stock SQLTrackerStore — a new SQLite connection per call (SQLAlchemy's NullPool for files),
an fsync per commit, a COUNT query before every save and a full SELECT of the session before
every message. This store keeps the same table and rows (the staff analytics read them) and:

- keeps one connection per thread open, in WAL mode with `synchronous=NORMAL` (a commit no
  longer waits for the disk; readers such as the analytics no longer block the writer);
- remembers, per conversation, the serialised events of its latest session, so a message
  costs one INSERT instead of three queries. A save that starts a new session forgets them,
  and so does a pause of `max_idle_s` (10 minutes): what retention deleted or anonymised in
  an idle conversation is read back from the table, never carried over from memory.

The memory is only right while this process is the tracker store's only writer, which is
what the embedded default runs (one Rasa server). Production runs several Rasa servers on
PostgreSQL with Rasa's own `SQL` store (docs: README, Production).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Tuple

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from bot.store.db import tune_sqlite

DEFAULT_CACHED_CONVERSATIONS = 5000
DEFAULT_MAX_IDLE_S = 600.0


class EmbeddedTrackerStore(SQLTrackerStore):
    """SQLTrackerStore for one Rasa process on SQLite; see the module's docstring."""

    def __init__(self, *args: Any, cached_conversations: int = DEFAULT_CACHED_CONVERSATIONS,
                 max_idle_s: float = DEFAULT_MAX_IDLE_S, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name != "sqlite":
            raise ValueError("EmbeddedTrackerStore is for SQLite only; use Rasa's `SQL` store "
                             f"for {self.engine.dialect.name}")
        self.engine.dispose()
        self.engine = tune_sqlite(sa.create_engine(self.engine.url, poolclass=sa.pool.SingletonThreadPool))
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        self._capacity = int(cached_conversations)
        self._max_idle_s = float(max_idle_s)
        self._sessions: "OrderedDict[str, Tuple[float, List[str]]]" = OrderedDict()
        self._lock = threading.Lock()

    # -- the memory of latest sessions --------------------------------------------------------

    def _remembered(self, sender_id: str) -> Optional[List[str]]:
        with self._lock:
            entry = self._sessions.get(sender_id)
            if entry is None:
                return None
            used, events = entry
            now = time.monotonic()
            if now - used > self._max_idle_s:
                del self._sessions[sender_id]
                return None
            self._sessions[sender_id] = (now, events)
            self._sessions.move_to_end(sender_id)
            return events

    def _remember(self, sender_id: str, events: Optional[List[str]]) -> None:
        with self._lock:
            if events is None:
                self._sessions.pop(sender_id, None)
                return
            self._sessions[sender_id] = (time.monotonic(), events)
            self._sessions.move_to_end(sender_id)
            while len(self._sessions) > self._capacity:
                self._sessions.popitem(last=False)

    # -- TrackerStore -------------------------------------------------------------------------

    async def retrieve(self, sender_id: str) -> Optional[DialogueStateTracker]:
        remembered = self._remembered(sender_id)
        if remembered is None:
            with self.session_scope() as session:
                rows = self._event_query(session, sender_id, fetch_events_from_all_sessions=False).all()
                remembered = [row.data for row in rows]
            self._remember(sender_id, remembered)
        if not remembered or not self.domain:
            return None
        return DialogueStateTracker.from_dict(sender_id, [json.loads(data) for data in remembered],
                                              self.domain.slots)

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self.stream_events(tracker)
        remembered = self._remembered(tracker.sender_id)
        with self.session_scope() as session:
            stored = (len(remembered) if remembered is not None else
                      self._event_query(session, tracker.sender_id, fetch_events_from_all_sessions=False).count())
            rows: List[Dict[str, Any]] = []
            new_session = False
            for event in itertools.islice(tracker.events, stored, None):
                data = event.as_dict()
                new_session = new_session or isinstance(event, SessionStarted)
                rows.append({"sender_id": tracker.sender_id, "type_name": event.type_name,
                             "timestamp": data.get("timestamp"),
                             "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
                             "action_name": data.get("name"), "data": json.dumps(data)})
            if rows:
                session.execute(sa.insert(self.SQLEvent.__table__), rows)
                session.commit()
        if new_session or remembered is None:
            self._remember(tracker.sender_id, None)  # read back once: the session boundary moved
        else:
            remembered.extend(row["data"] for row in rows)
