"""The embedded default's tracker store: Rasa's SQL tracker store on SQLite, made fast enough.

Measured with `make bench` (20 concurrent citizens): a third of the Rasa server's CPU went to
the stock SQLTrackerStore — a new SQLite connection per call (SQLAlchemy's NullPool for files),
an fsync per commit, a COUNT query before every save and a full SELECT of the session before
every message. This store keeps the same table and rows (the staff analytics read them) and:

- keeps one connection per thread open, in WAL mode with `synchronous=NORMAL` (a commit no
  longer waits for the disk; readers such as the analytics no longer block the writer);
- remembers, per conversation, the serialised events of its latest session and the id of
  the conversation's last row, so a message costs one INSERT and two lookups of that id (an
  index read) instead of three queries. A save that starts a new session forgets them, and so
  does a pause of `max_idle_s` (10 minutes): what retention deleted or anonymised in an idle
  conversation is read back from the table, never carried over from memory.

Several Rasa servers may share the file (the embedded default runs one per core): a
conversation's messages are handled one at a time across them (the lock store), and a server
uses its memory of a conversation only while the conversation's last row is still the one it
remembers; when another server wrote since, it reads the session back. Production runs on
PostgreSQL with `PostgresTrackerStore` below (docs: README, Production).

Both rely on bot/rasa_patches refusing Rasa's fallback to memory, and say so when it is off.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import sqlite3
import threading
import time
from collections import OrderedDict
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple, TypeVar

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.events import Event, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from bot.store.db import tune_sqlite

logger = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_CACHED_CONVERSATIONS = 5000
DEFAULT_MAX_IDLE_S = 600.0
DEFAULT_OUTAGE_S = 20.0  # how long a message waits for PostgreSQL to come back
SQLITE_BUSY_S = 5.0  # how long a write waits for another server's (pysqlite's default, as before)


ROW_COLUMNS = ("sender_id", "type_name", "timestamp", "intent_name", "action_name", "data")


def rasa_row(sender_id: str, event: Event) -> Dict[str, Any]:
    """The row Rasa's SQLTrackerStore writes for an event (its `events` table)."""
    data = event.as_dict()
    return {"sender_id": sender_id, "type_name": event.type_name, "timestamp": data.get("timestamp"),
            "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
            "action_name": data.get("name"), "data": json.dumps(data)}


def check_memory_fallback_refused() -> None:
    """Say loudly when Rasa's FailSafeTrackerStore may answer from memory (bot/rasa_patches/tracker_store.py)."""
    from bot import rasa_patches

    if "no_memory_fallback" not in rasa_patches.installed():
        logger.warning("the patch no_memory_fallback is not installed: when the tracker store fails, Rasa "
                       "answers from a blank conversation and keeps turns in memory only")


class EmbeddedTrackerStore(SQLTrackerStore):
    """SQLTrackerStore on SQLite for the Rasa servers of one machine; see the module's docstring."""

    engine: sa.engine.Engine  # Rasa's, replaced in __init__ by one built from its URL

    def __init__(self, *args: Any, cached_conversations: int = DEFAULT_CACHED_CONVERSATIONS,
                 max_idle_s: float = DEFAULT_MAX_IDLE_S, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name != "sqlite":
            raise ValueError("EmbeddedTrackerStore is for SQLite only; use Rasa's `SQL` store "
                             f"for {self.engine.dialect.name}")
        self.engine.dispose()
        self.engine = tune_sqlite(sa.create_engine(self.engine.url, poolclass=sa.pool.SingletonThreadPool))
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        self._path = self.engine.url.database
        if not self._path or self._path == ":memory:":
            raise ValueError("EmbeddedTrackerStore keeps conversations in a file: give `db` a path")
        self._connections = threading.local()  # this thread's sqlite3 connection
        self._table = self.SQLEvent.__tablename__
        self._insert = (f"INSERT INTO {self._table} ({', '.join(ROW_COLUMNS)}) "
                        f"VALUES ({', '.join('?' for _ in ROW_COLUMNS)})")
        self._capacity = int(cached_conversations)
        self._max_idle_s = float(max_idle_s)
        # conversation -> (last used, id of its last row, serialised events of its latest session)
        self._sessions: "OrderedDict[str, Tuple[float, int, List[str]]]" = OrderedDict()
        self._lock = threading.Lock()
        check_memory_fallback_refused()

    # -- the memory of latest sessions --------------------------------------------------------

    def _remembered(self, sender_id: str, last_id: Optional[int]) -> Optional[List[str]]:
        """The remembered events, if the conversation's last row is still `last_id`."""
        with self._lock:
            entry = self._sessions.get(sender_id)
            if entry is None:
                return None
            used, remembered_id, events = entry
            now = time.monotonic()
            if now - used > self._max_idle_s or remembered_id != last_id:
                del self._sessions[sender_id]
                return None
            self._sessions[sender_id] = (now, remembered_id, events)
            self._sessions.move_to_end(sender_id)
            return events

    def _remember(self, sender_id: str, last_id: Optional[int], events: Optional[List[str]]) -> None:
        with self._lock:
            if events is None or last_id is None:
                self._sessions.pop(sender_id, None)
                return
            self._sessions[sender_id] = (time.monotonic(), last_id, events)
            self._sessions.move_to_end(sender_id)
            while len(self._sessions) > self._capacity:
                self._sessions.popitem(last=False)

    # The messages' reads and writes go through one sqlite3 connection per thread, in plain SQL:
    # building the statements with SQLAlchemy cost more than running them (py-spy: its ORM query,
    # count and insert were two thirds of the store's CPU, its connection and statement layers
    # still half of what was left; 2026-12-04). Rasa's own methods keep using the engine.

    def _connection(self) -> sqlite3.Connection:
        connection = getattr(self._connections, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self._path, timeout=SQLITE_BUSY_S, isolation_level=None,
                                         check_same_thread=False)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            self._connections.connection = connection
        return connection

    def _last_id(self, connection: sqlite3.Connection, sender_id: str) -> Optional[int]:
        return connection.execute(f"SELECT max(id) FROM {self._table} WHERE sender_id = ?", (sender_id,)).fetchone()[0]

    def _latest_session(self, connection: sqlite3.Connection, sender_id: str) -> List[str]:
        """The serialised events of the conversation's latest session, in order: Rasa's
        `_event_query(..., fetch_events_from_all_sessions=False)`, the events from the latest
        `session_started` event's timestamp on, or all when there is none."""
        return [row[0] for row in connection.execute(
            f"SELECT data FROM {self._table} WHERE sender_id = ? AND (timestamp >= "
            f"(SELECT max(timestamp) FROM {self._table} WHERE sender_id = ? AND type_name = ?) OR "
            f"(SELECT max(timestamp) FROM {self._table} WHERE sender_id = ? AND type_name = ?) IS NULL) "
            f"ORDER BY id", (sender_id, sender_id, SessionStarted.type_name, sender_id, SessionStarted.type_name))]

    # -- TrackerStore -------------------------------------------------------------------------

    async def retrieve(self, sender_id: str) -> Optional[DialogueStateTracker]:
        connection = self._connection()
        last_id = self._last_id(connection, sender_id)
        remembered = self._remembered(sender_id, last_id)
        if remembered is None and last_id is not None:
            remembered = self._latest_session(connection, sender_id)
            self._remember(sender_id, last_id, remembered)
        if not remembered or not self.domain:
            return None
        return DialogueStateTracker.from_dict(sender_id, [json.loads(data) for data in remembered],
                                              self.domain.slots)

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self.stream_events(tracker)
        connection = self._connection()
        # Read outside the write transaction (as SQLAlchemy's pysqlite did): the conversation's
        # lock keeps other servers from writing its rows meanwhile, and a write transaction that
        # began with a read fails at once, without waiting, when another server wrote since.
        last_id = self._last_id(connection, tracker.sender_id)
        remembered = self._remembered(tracker.sender_id, last_id)
        if remembered is None:
            remembered = self._latest_session(connection, tracker.sender_id) if last_id is not None else []
        events = list(itertools.islice(tracker.events, len(remembered), None))
        rows = [rasa_row(tracker.sender_id, event) for event in events]
        if rows:
            connection.execute("BEGIN IMMEDIATE")
            try:
                connection.executemany(self._insert, [tuple(row[column] for column in ROW_COLUMNS) for row in rows])
                last_id = self._last_id(connection, tracker.sender_id)
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
        if any(isinstance(event, SessionStarted) for event in events):
            self._remember(tracker.sender_id, None, None)  # read back once: the session boundary moved
        else:
            remembered.extend(row["data"] for row in rows)
            self._remember(tracker.sender_id, last_id, remembered)


class PostgresTrackerStore(SQLTrackerStore):
    """Production: Rasa's SQL tracker store on PostgreSQL, through a database restart.

    Rasa's store keeps pooled connections that a restart of PostgreSQL has closed (the next
    message fails), and it publishes a turn's events to the broker before writing them (a failed
    write leaves the analytics with events the conversation does not have). This one:

    - retries a read or write that could not reach the database for up to `outage_s` (20 s):
      a message sent while PostgreSQL restarts gets its answer late, not an error (a pooled
      connection the restart closed fails once; SQLAlchemy then empties the pool and the retry
      connects anew, so no `pool_pre_ping` round trip is paid on every use: 4.8 % of a Rasa
      server's CPU in the soak);
    - writes first and then publishes exactly the events it wrote, so the broker (and the
      analytics) never has an event the store does not;
    - saves with one INSERT of all new rows and without Rasa's COUNT of the stored events
      when this process retrieved the conversation under the lock Rasa holds from retrieve to
      save (no other server can have written in between); the count is used once. Measured
      in the soak: Rasa's save (COUNT, an ORM object per event) was 32 % of a Rasa server's CPU.
      A write retried after a lost connection counts again and adds nothing twice.
    The table and rows are Rasa's.

        tracker_store:
          type: bot.rasa_plugins.tracker_store.PostgresTrackerStore
          (the other settings as for Rasa's `SQL` store)
    """

    engine: sa.engine.Engine  # Rasa's, replaced in __init__ by one built from its URL

    def __init__(self, *args: Any, outage_s: float = DEFAULT_OUTAGE_S, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        url = self.engine.url
        self.engine.dispose()
        self.engine = sa.create_engine(url, **create_engine_kwargs(url))
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        self._outage_s = float(outage_s)
        self._retrieved: Dict[str, int] = {}  # events of the latest session, as last retrieved here
        check_memory_fallback_refused()

    async def _patiently(self, work: Callable[[], Awaitable[T]]) -> T:
        deadline = time.monotonic() + self._outage_s
        delay = 0.25
        while True:
            try:
                return await work()
            except (sa.exc.OperationalError, sa.exc.InterfaceError) as error:
                if time.monotonic() + delay > deadline:
                    raise
                logger.warning("the conversation store does not answer (%s); retrying in %.2f s",
                               error.__class__.__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    async def retrieve(self, sender_id: str) -> Optional[DialogueStateTracker]:
        return await self._patiently(lambda: self._read(sender_id))

    async def _read(self, sender_id: str) -> Optional[DialogueStateTracker]:
        """Rasa's SQLTrackerStore.retrieve, remembering how many events it read."""
        with self.session_scope() as session:
            rows = self._event_query(session, sender_id, fetch_events_from_all_sessions=False).all()
        if len(self._retrieved) > 10_000:  # conversations read but never saved here (GET /tracker)
            self._retrieved.clear()
        self._retrieved[sender_id] = len(rows)
        if not rows or not self.domain:
            return None
        return DialogueStateTracker.from_dict(sender_id, [json.loads(row.data) for row in rows], self.domain.slots)

    async def retrieve_full_tracker(self, conversation_id: str) -> Optional[DialogueStateTracker]:
        return await self._patiently(
            lambda: super(PostgresTrackerStore, self).retrieve_full_tracker(conversation_id))

    async def save(self, tracker: DialogueStateTracker) -> None:
        written = await self._patiently(lambda: self._write(tracker))
        if self.event_broker is not None and written:
            await self._stream_new_events(self.event_broker, written, tracker.sender_id)

    async def _write(self, tracker: DialogueStateTracker) -> List[Event]:
        """Rasa's SQLTrackerStore.save without its publishing: the events it added."""
        stored = self._retrieved.pop(tracker.sender_id, None)
        with self.session_scope() as session:
            if stored is None:
                stored = self._event_query(session, tracker.sender_id, fetch_events_from_all_sessions=False).count()
            events = list(itertools.islice(tracker.events, stored, None))
            rows = [rasa_row(tracker.sender_id, event) for event in events]
            if rows:
                session.execute(sa.insert(self.SQLEvent.__table__), rows)
                session.commit()
        return events
