"""Production: Rasa's events to RabbitMQ in batches, so publishing keeps up and loses nothing.

Rasa 3.6's PikaEventBroker publishes each event as its own message and waits for RabbitMQ's
confirmation in a task of its own. On this machine that is about 500 events a second from a
busy Rasa server, fewer than a loaded server produces (10–15 events per message): the tasks
piled up, holding every event (the soak's Rasa servers grew ~40 KB per message, 1.4–1.8 GB in
ten minutes) and the analytics fell behind. Events published before the connection was ready
were dropped.

This broker keeps one buffer: every event joins it, one task at a time sends everything
buffered as a single message (a JSON list) and waits for the confirmation; a failed send puts
the batch back in front. So memory stays at what is waiting, the batch grows when RabbitMQ
is slow instead of the number of tasks, and nothing is dropped while the connection is down.
The analytics consumer reads both this list and Rasa's single-event messages.

    event_broker:
      type: bot.store.event_broker.BatchingPikaEventBroker
      (the other settings as for Rasa's `pika` broker)
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Dict, List, Optional, Text

import aio_pika
from rasa.core.brokers.pika import PikaEventBroker

logger = logging.getLogger(__name__)

RETRY_S = 1.0
CLOSE_WAIT_S = 10.0


class BatchingPikaEventBroker(PikaEventBroker):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._buffer: List[Dict[Text, Any]] = []
        self._sender: Optional[asyncio.Task] = None

    def publish(self, event: Dict[Text, Any], headers: Optional[Dict[Text, Text]] = None) -> None:
        self._buffer.append(event)
        if self._sender is None or self._sender.done():
            self._sender = self._loop.create_task(self._send_buffered())

    async def _send_buffered(self) -> None:
        while self._buffer:
            if self._exchange is None:  # not connected (yet): keep everything
                await asyncio.sleep(RETRY_S)
                continue
            batch, self._buffer = self._buffer, []
            try:
                await self._exchange.publish(
                    aio_pika.Message(json.dumps(batch).encode("utf-8"), app_id=self.rasa_environment,
                                     delivery_mode=aio_pika.DeliveryMode.PERSISTENT), "")
            except Exception as error:  # noqa: BLE001 - any failure: the batch waits for the next try
                logger.warning("publishing %d events to RabbitMQ failed (%s); retrying", len(batch),
                               error.__class__.__name__)
                self._buffer = batch + self._buffer
                await asyncio.sleep(RETRY_S)

    @property
    def waiting(self) -> int:
        return len(self._buffer)

    async def close(self) -> None:
        """Send what is buffered (for up to CLOSE_WAIT_S), then close the connection."""
        if self._sender is not None and not self._sender.done():
            try:
                await asyncio.wait_for(asyncio.shield(self._sender), CLOSE_WAIT_S)
            except asyncio.TimeoutError:
                logger.error("%d events not sent to RabbitMQ before the shutdown", len(self._buffer))
        await super().close()
