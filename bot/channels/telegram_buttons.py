"""Telegram button payloads ↔ callback_data (at most 64 bytes).

A payload too long for callback_data is sent as a short key derived from it and mapped back
when the button is pressed. The map must outlive the process and, behind the balancer, be the
same on every Rasa server (a button sent by one is pressed on another): the embedded default
keeps it in SQLite under the var directory, the production profile in the assistant's
database (PostgreSQL), `telegram_buttons`.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from pathlib import Path
from typing import Optional, Union

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.config import Settings
from bot.store.models import telegram_buttons

logger = logging.getLogger(__name__)

CALLBACK_DATA_LIMIT = 64     # bytes of an inline button's callback_data
KEY_PREFIX = "p:"            # callback_data that stands for a longer payload
BUTTON_STORE = "telegram-buttons.sqlite3"
KEPT_DAYS = 90               # production: a button older than this answers "type again"


def key_for(payload: str) -> str:
    """The short callback_data of a payload: the same payload always gets the same key."""
    digest = hashlib.sha256(payload.encode("utf-8")).digest()
    return KEY_PREFIX + base64.urlsafe_b64encode(digest).decode("ascii")[:22]


class ButtonStore(ABC):
    @abstractmethod
    def save(self, key: str, payload: str) -> None:
        """Remember a key; failures are logged, the button then works until a restart."""

    @abstractmethod
    def load(self, key: str) -> Optional[str]:
        """The payload of a key, or None."""


class SqliteButtonStore(ButtonStore):
    """At most `max_stored` keys in SQLite (least recently sent go first)."""

    def __init__(self, path: Path, max_stored: int = 100_000) -> None:
        self.path = path
        self.max_stored = max_stored
        self._db: Optional[sqlite3.Connection] = None
        self._writes = 0
        self._lock = threading.Lock()

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.path), timeout=2, check_same_thread=False)
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS button_payloads ("
                " key TEXT PRIMARY KEY, payload TEXT NOT NULL, sent_at REAL NOT NULL)"
            )
            self._db.commit()
        return self._db

    def save(self, key: str, payload: str) -> None:
        try:
            with self._lock:
                db = self._connection()
                db.execute("INSERT OR REPLACE INTO button_payloads (key, payload, sent_at) VALUES (?, ?, ?)",
                           (key, payload, time.time()))
                self._writes += 1
                if self._writes % 1000 == 0:
                    db.execute("DELETE FROM button_payloads WHERE key NOT IN"
                               " (SELECT key FROM button_payloads ORDER BY sent_at DESC LIMIT ?)", (self.max_stored,))
                db.commit()
        except sqlite3.Error as error:
            logger.warning("telegram: button payload not stored, it works until a restart: %s", error)

    def load(self, key: str) -> Optional[str]:
        try:
            with self._lock:
                row = self._connection().execute(
                    "SELECT payload FROM button_payloads WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error as error:
            logger.warning("telegram: button payloads could not be read: %s", error)
            return None
        return row[0] if row else None


class DatabaseButtonStore(ButtonStore):
    """The assistant's database, shared by every Rasa server of a deployment."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._writes = 0

    def save(self, key: str, payload: str) -> None:
        now = dt.datetime.now(dt.timezone.utc)
        try:
            with self.engine.begin() as connection:
                if self.engine.dialect.name == "postgresql":
                    from sqlalchemy.dialects.postgresql import insert

                    connection.execute(insert(telegram_buttons).values(key=key, payload=payload, sent_at=now)
                                       .on_conflict_do_update(index_elements=["key"], set_={"sent_at": now}))
                else:
                    connection.execute(telegram_buttons.insert().prefix_with("OR REPLACE").values(
                        key=key, payload=payload, sent_at=now))
                self._writes += 1
                if self._writes % 1000 == 0:
                    connection.execute(delete(telegram_buttons).where(
                        telegram_buttons.c.sent_at < now - dt.timedelta(days=KEPT_DAYS)))
        except SQLAlchemyError as error:
            logger.warning("telegram: button payload not stored (%s); it works on this server only",
                           error.__class__.__name__)

    def load(self, key: str) -> Optional[str]:
        try:
            with self.engine.connect() as connection:
                return connection.execute(select(telegram_buttons.c.payload)
                                          .where(telegram_buttons.c.key == key)).scalar()
        except SQLAlchemyError as error:
            logger.warning("telegram: button payloads could not be read (%s)", error.__class__.__name__)
            return None


def button_store(settings: Settings) -> ButtonStore:
    if settings.production:
        from bot.store.db import engine_for

        return DatabaseButtonStore(engine_for(settings.app_db_url))
    return SqliteButtonStore(settings.var_dir / BUTTON_STORE)


class ButtonPayloads:
    """Maps payloads too long for callback_data to short keys, and back.

    Keys are derived from the payload; the store keeps the map across restarts and servers.
    Memory holds at most `capacity` entries (least recently used go first).
    """

    def __init__(self, store: Union[ButtonStore, Path, None], capacity: int = 5000) -> None:
        self.store = SqliteButtonStore(store) if isinstance(store, Path) else store
        self.capacity = capacity
        self._memory: "OrderedDict[str, str]" = OrderedDict()

    @staticmethod
    def fits(payload: str) -> bool:
        size = len(payload.encode("utf-8"))
        return 1 <= size <= CALLBACK_DATA_LIMIT and not payload.startswith(KEY_PREFIX)

    def callback_data(self, payload: str) -> str:
        if self.fits(payload):
            return payload
        key = key_for(payload)
        if key in self._memory:
            self._memory.move_to_end(key)
        else:
            self._remember(key, payload)
            if self.store is not None:
                self.store.save(key, payload)
        return key

    def payload(self, data: str) -> Optional[str]:
        """The payload of a pressed button; None when a key is unknown (for instance pruned)."""
        if not data.startswith(KEY_PREFIX):
            return data
        if data in self._memory:
            self._memory.move_to_end(data)
            return self._memory[data]
        found = self.store.load(data) if self.store is not None else None
        if found is not None:
            self._remember(data, found)
        return found

    def _remember(self, key: str, payload: str) -> None:
        self._memory[key] = payload
        self._memory.move_to_end(key)
        while len(self._memory) > self.capacity:
            self._memory.popitem(last=False)
