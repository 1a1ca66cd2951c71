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

The connection is ours, not aio-pika's robust one: after a RabbitMQ restart under load the
robust connection came back with a channel on which a publish waited forever for its
confirmation (reproduced beside a CPU hog: the buffer grew, nothing was sent until the
server stopped). Here every call has a deadline (AMQP_TIMEOUT_S), and any failure drops the
connection whole; the next send opens a new one. A batch whose confirmation was lost may be
sent twice: the consumer stores each event once (digest).

    event_broker:
      type: bot.rasa_plugins.event_broker.BatchingPikaEventBroker
      (the other settings as for Rasa's `pika` broker)
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Dict, List, Optional, Text

import aio_pika
from rasa.core.brokers.pika import PikaEventBroker, _create_rabbitmq_ssl_options

logger = logging.getLogger(__name__)

RETRY_S = 1.0
CLOSE_WAIT_S = 10.0
AMQP_TIMEOUT_S = 30.0   # a busy Rasa server's loop may take seconds to run each step of a call
MAX_BATCH = 500         # events per message: a batch of thousands timed out, and grew with every retry


class BatchingPikaEventBroker(PikaEventBroker):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._buffer: List[Dict[Text, Any]] = []
        self._sender: Optional[asyncio.Task] = None
        self._plain: Optional[aio_pika.abc.AbstractConnection] = None

    # -- the connection ---------------------------------------------------------------------

    async def connect(self) -> None:
        """Called once as the Rasa server starts: a failure is logged, not raised (the events
        wait in the buffer, and the sender connects when RabbitMQ answers)."""
        try:
            await self._open()
            logger.info("RabbitMQ connection to '%s' was established.", self.host)
        except Exception as error:  # noqa: BLE001
            logger.warning("RabbitMQ does not answer (%s); events are kept until it does",
                           error.__class__.__name__)

    async def _open(self) -> None:
        def timely(call: Any) -> Any:
            return asyncio.wait_for(call, AMQP_TIMEOUT_S)

        ssl_options = _create_rabbitmq_ssl_options(self.host)
        connection = await aio_pika.connect(
            url=self._configure_url(), host=self.host, port=self.port, login=self.username,
            password=self.password, ssl=ssl_options is not None, ssl_options=ssl_options,
            timeout=AMQP_TIMEOUT_S)
        try:
            channel = await timely(connection.channel())  # publisher confirms on
            exchange = await timely(channel.declare_exchange(self.exchange_name,
                                                             type=aio_pika.ExchangeType.FANOUT))
            for name in self.queues:
                queue = await timely(channel.declare_queue(name, durable=True))
                await timely(queue.bind(exchange, ""))
        except BaseException:
            await self._close_quietly(connection)
            raise
        self._plain, self._exchange = connection, exchange

    async def _drop(self) -> None:
        connection, self._plain, self._exchange = self._plain, None, None
        if connection is not None:
            await self._close_quietly(connection)

    @staticmethod
    async def _close_quietly(connection: aio_pika.abc.AbstractConnection) -> None:
        try:
            await asyncio.wait_for(connection.close(), AMQP_TIMEOUT_S)
        except Exception:  # noqa: BLE001 - a dead connection: nothing left to close
            pass

    def _usable(self) -> bool:
        return (self._plain is not None and self._exchange is not None and not self._plain.is_closed
                and not self._exchange.channel.is_closed)

    def is_ready(self) -> bool:
        return self._usable()

    # -- publishing -------------------------------------------------------------------------

    def publish(self, event: Dict[Text, Any], headers: Optional[Dict[Text, Text]] = None) -> None:
        self._buffer.append(event)
        if self._sender is None or self._sender.done():
            self._sender = self._loop.create_task(self._send_buffered())

    async def _send_buffered(self) -> None:
        while self._buffer:
            if not self._usable():
                await self._drop()
                try:
                    await self._open()
                except Exception as error:  # noqa: BLE001 - RabbitMQ away: keep everything, try again
                    logger.warning("RabbitMQ does not answer (%s: %s); %d events wait", error.__class__.__name__,
                                   str(error)[:200], len(self._buffer))
                    await asyncio.sleep(RETRY_S)
                    continue
            assert self._exchange is not None
            batch, self._buffer = self._buffer[:MAX_BATCH], self._buffer[MAX_BATCH:]
            try:
                await asyncio.wait_for(self._exchange.publish(
                    aio_pika.Message(json.dumps(batch).encode("utf-8"), app_id=self.rasa_environment,
                                     delivery_mode=aio_pika.DeliveryMode.PERSISTENT), ""), AMQP_TIMEOUT_S)
            except Exception as error:  # noqa: BLE001 - any failure: a new connection, the batch again
                logger.warning("publishing %d events to RabbitMQ failed (%s); retrying on a new connection",
                               len(batch), error.__class__.__name__)
                self._buffer = batch + self._buffer
                await self._drop()
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
        await self._drop()
