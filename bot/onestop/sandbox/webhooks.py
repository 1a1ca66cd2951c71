"""Signed webhook deliveries, sent in the background so a status change never waits on them."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import uuid
from datetime import datetime
from typing import Any, Dict, Iterable, Optional, Sequence, Set, Tuple

import aiohttp

from .reference import status_json, to_wire

log = logging.getLogger(__name__)

EVENT_STATUS_CHANGED = "dossier.status_changed"
RETRY_DELAYS_S = (0.5, 1.0, 2.0)


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def status_changed_event(code: str, procedure_id: str, status: int, previous_status: int,
                         changed_at: datetime, note: Optional[str]) -> Dict[str, Any]:
    return {
        "event": EVENT_STATUS_CHANGED,
        "event_id": str(uuid.uuid4()),
        "code": code,
        "procedure_id": procedure_id,
        "status": status_json(status),
        "previous_status": status_json(previous_status),
        "changed_at": to_wire(changed_at),
        "note": note,
    }


class WebhookSender:
    """Owns one aiohttp session for the server's lifetime and the tasks still delivering."""

    def __init__(self, retry_delays_s: Sequence[float] = RETRY_DELAYS_S, timeout_s: float = 5.0) -> None:
        self.retry_delays_s = tuple(retry_delays_s)
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: Optional[aiohttp.ClientSession] = None
        # Strong references: the event loop keeps only weak ones to running tasks.
        self._tasks: Set[asyncio.Task] = set()

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=self.timeout)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    def send(self, targets: Iterable[Tuple[str, str]], event: Dict[str, Any]) -> None:
        # One serialisation for every target: the signature covers these exact bytes.
        body = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        for url, secret in targets:
            task = asyncio.get_running_loop().create_task(self._deliver(url, secret, body, event["event_id"]))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _deliver(self, url: str, secret: str, body: bytes, event_id: str) -> bool:
        if self._session is None:
            raise RuntimeError("WebhookSender.start() was not awaited")
        headers = {
            "Content-Type": "application/json",
            "X-Onestop-Event-Id": event_id,
            "X-Onestop-Signature": sign(secret, body),
        }
        delays = (0.0,) + self.retry_delays_s
        for attempt, delay in enumerate(delays, start=1):
            if delay:
                await asyncio.sleep(delay)
            try:
                async with self._session.post(url, data=body, headers=headers) as response:
                    if 200 <= response.status < 300:
                        return True
                    problem = f"HTTP {response.status}"
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as error:
                problem = f"{type(error).__name__}: {error}"
            log.warning("webhook %s to %s failed (attempt %d of %d): %s",
                        event_id, url, attempt, len(delays), problem)
        log.error("webhook %s to %s abandoned after %d attempts", event_id, url, len(delays))
        return False
