"""The Zalo OA access token: kept fresh, refreshed once per refresh token, stored atomically.

A Zalo access token lives 25 h; the refresh token that renews it lives 3 months and works
exactly once. Losing the new pair (a crash between the refresh and the write) or using the
old refresh token twice locks the OA out until an operator authorises the app again, so the
pair is replaced atomically and refreshes are serialised: an asyncio lock in one process, and
across processes a file lock on the pair's file under var/ (embedded default) or, when several
servers share the pair, a PostgreSQL advisory lock on its row in the assistant's database
(production profile).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import fcntl
import hashlib
import json
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any, AsyncIterator, Dict, Optional, Union

import aiohttp
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.config import Settings
from bot.store.models import zalo_tokens

logger = logging.getLogger(__name__)

ACCESS_TOKEN_LIFETIME_S = 25 * 3600
REFRESH_TOKEN_LIFETIME_S = 90 * 24 * 3600
REFRESH_MARGIN_S = 3600          # refresh when less than this is left
RETRY_FAILED_REFRESH_AFTER_S = 60  # do not hammer the OAuth server when it refuses
REFRESH_TIMEOUT_S = 15


class TokenRefreshError(RuntimeError):
    """Zalo did not issue a new token pair; the message never contains a token."""


def _fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


class TokenStore:
    """One JSON file under var_dir, readable by its owner only, replaced atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> Optional[Dict[str, Any]]:
        try:
            record = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            logger.error("zalo: token store %s unreadable (%s); using the configured tokens",
                         self.path, type(error).__name__)
            return None
        if not isinstance(record, dict) or not isinstance(record.get("refresh_token"), str):
            return None
        return record

    def save(self, record: Dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(record, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        with contextlib.suppress(OSError):  # make the rename itself durable
            directory = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)

    @contextlib.asynccontextmanager
    async def locked(self) -> AsyncIterator[None]:
        """Exclusive across processes; polls instead of blocking the event loop."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    await asyncio.sleep(0.05)
            yield
        finally:
            os.close(fd)  # closing releases the lock


class DatabaseTokenStore:
    """The pair in the assistant's database (production: PostgreSQL), shared by every Rasa
    server; refreshes are serialised by a PostgreSQL advisory lock, which a server that dies
    holding it releases with its connection."""

    LOCK_KEY = 0x5A41_4C4F  # "ZALO": the advisory lock's number

    def __init__(self, engine: Engine, name: str = "oa") -> None:
        if engine.dialect.name != "postgresql":
            raise ValueError("the shared Zalo token store needs PostgreSQL (the production profile)")
        self.engine = engine
        self.name = name

    def load(self) -> Optional[Dict[str, Any]]:
        try:
            with self.engine.connect() as connection:
                raw = connection.execute(select(zalo_tokens.c.record).where(zalo_tokens.c.name == self.name)).scalar()
        except SQLAlchemyError as error:
            logger.error("zalo: token store unreadable (%s); using the tokens in memory", type(error).__name__)
            return None
        try:
            record = json.loads(raw) if raw else None
        except ValueError:
            return None
        if not isinstance(record, dict) or not isinstance(record.get("refresh_token"), str):
            return None
        return record

    def save(self, record: Dict[str, Any]) -> None:
        now = datetime.datetime.now(datetime.timezone.utc)
        statement = insert(zalo_tokens).values(name=self.name, record=json.dumps(record), updated_at=now)
        with self.engine.begin() as connection:
            connection.execute(statement.on_conflict_do_update(
                index_elements=["name"], set_={"record": statement.excluded.record, "updated_at": now}))

    @contextlib.asynccontextmanager
    async def locked(self) -> AsyncIterator[None]:
        """Exclusive across every server; polls instead of blocking the event loop."""
        connection = await asyncio.to_thread(self.engine.connect)
        try:
            while not await asyncio.to_thread(lambda: connection.execute(
                    text("SELECT pg_try_advisory_lock(:key)"), {"key": self.LOCK_KEY}).scalar()):
                await asyncio.sleep(0.05)
            try:
                yield
            finally:
                await asyncio.to_thread(lambda: connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": self.LOCK_KEY}))
        finally:
            await asyncio.to_thread(connection.close)


def token_store(settings: Settings) -> Union[TokenStore, DatabaseTokenStore]:
    """Production: the assistant's database, shared by every server; embedded: a file in var/."""
    if settings.production:
        from bot.store.db import engine_for

        return DatabaseTokenStore(engine_for(settings.app_db_url))
    return TokenStore(settings.var_dir / "zalo-tokens.json")


class ZaloTokens:
    """Hands out a valid access token; refreshes before expiry and when Zalo refuses one."""

    def __init__(self, *, app_id: str, app_secret: str, oauth_url: str,
                 store: Union[TokenStore, DatabaseTokenStore],
                 access_token: str, refresh_token: str) -> None:
        self._app_id = app_id
        self._app_secret = app_secret
        self._endpoint = f"{oauth_url.rstrip('/')}/v4/oa/access_token"
        self._store = store
        self._lock = asyncio.Lock()
        self._failed_at = 0.0
        self._record = self._initial(access_token, refresh_token)

    def _initial(self, access_token: str, refresh_token: str) -> Dict[str, Any]:
        stored = self._store.load()
        seed = _fingerprint(refresh_token) if refresh_token else ""
        # The configured pair counts only until the first refresh, unless the operator
        # configures a new pair (after authorising the app again).
        if stored is not None and (not seed or stored.get("seeded_from") == seed):
            self._warn_if_refresh_token_ages(stored)
            return stored
        now = time.time()
        record = {"access_token": access_token, "refresh_token": refresh_token,
                  "expires_at": now + ACCESS_TOKEN_LIFETIME_S,
                  "refresh_expires_at": now + REFRESH_TOKEN_LIFETIME_S, "seeded_from": seed}
        if access_token or refresh_token:
            self._store.save(record)
        return record

    @staticmethod
    def _warn_if_refresh_token_ages(record: Dict[str, Any]) -> None:
        left = float(record.get("refresh_expires_at") or 0) - time.time()
        if left < 7 * 24 * 3600:
            logger.warning("zalo: the refresh token expires in %.0f days; authorise the app "
                           "again and set ZALO_ACCESS_TOKEN / ZALO_REFRESH_TOKEN", max(left, 0) / 86400)

    async def current(self) -> str:
        """A token to call the API with, refreshed first when it expires within the hour."""
        record = self._record
        token = str(record.get("access_token") or "")
        expiring = float(record.get("expires_at") or 0) - time.time() < REFRESH_MARGIN_S
        if (expiring or not token) and time.time() - self._failed_at > RETRY_FAILED_REFRESH_AFTER_S:
            try:
                return await self.refresh(stale=token)
            except TokenRefreshError as error:
                logger.warning("zalo: early token refresh failed (%s); trying the current token", error)
        return token

    async def refresh(self, stale: str) -> str:
        """A new access token, unless someone else already replaced `stale` meanwhile."""
        async with self._lock, self._store.locked():
            record = self._store.load() or self._record
            if record.get("access_token") != stale and record.get("access_token"):
                self._record = record  # refreshed by another task or process
                return str(record["access_token"])
            try:
                issued = await self._request(str(record.get("refresh_token") or ""))
            except TokenRefreshError:
                self._failed_at = time.time()
                raise
            now = time.time()
            record = {**record, **issued, "refreshed_at": now,
                      "refresh_expires_at": now + REFRESH_TOKEN_LIFETIME_S}
            self._store.save(record)  # before anyone can use the new pair
            self._record = record
            logger.info("zalo: access token refreshed")
            return str(record["access_token"])

    async def _request(self, refresh_token: str) -> Dict[str, Any]:
        if not refresh_token:
            raise TokenRefreshError("no refresh token configured (ZALO_REFRESH_TOKEN)")
        form = {"refresh_token": refresh_token, "app_id": self._app_id, "grant_type": "refresh_token"}
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=REFRESH_TIMEOUT_S)) as session:
                async with session.post(self._endpoint, data=form,
                                        headers={"secret_key": self._app_secret}) as reply:
                    status = reply.status
                    body = await reply.json(content_type=None)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
            # The refresh token may or may not be spent now; nothing to do but report it.
            raise TokenRefreshError(f"OAuth server unreachable or unreadable ({type(error).__name__})") from None
        if not isinstance(body, dict):
            raise TokenRefreshError(f"unexpected OAuth answer (HTTP {status})")
        access, refresh = body.get("access_token"), body.get("refresh_token")
        if not (isinstance(access, str) and access and isinstance(refresh, str) and refresh):
            reason = str(body.get("error_name") or body.get("message") or "")[:120]
            raise TokenRefreshError(f"refused: error {body.get('error')} {reason}".rstrip())
        try:
            lifetime = float(body.get("expires_in") or ACCESS_TOKEN_LIFETIME_S)
        except (TypeError, ValueError):
            lifetime = ACCESS_TOKEN_LIFETIME_S
        return {"access_token": access, "refresh_token": refresh, "expires_at": time.time() + lifetime}
