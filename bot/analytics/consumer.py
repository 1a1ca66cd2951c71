"""Production: Rasa's events from RabbitMQ into the assistant's database, none lost, none twice.

Rasa's events (`{"sender_id": ..., **event}`) arrive one per message from Rasa's pika broker or
as a list per message from bot/rasa_plugins/event_broker.py, through a fanout exchange bound to a
durable queue. This consumer stores each one in `analytics_broker_events`
(the columns of Rasa's own events table, so the ingestion reads either) and acknowledges a
message only after the transaction holding it committed: a crash or a database outage leaves
it in the queue, to be delivered again. An event delivered twice has the same SHA-256 (of its
canonical JSON) and is stored once. A body that is not a Rasa event is rejected (not requeued) and counted; nothing of
it is stored.

    python -m bot.analytics consume --port 5058     # GET /health: connection and counters
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.analytics.broker_rows import rows_of, store
from bot.analytics.reconcile import reconcile
from bot.config import load_settings

logger = logging.getLogger(__name__)

RASA_EXCHANGE = "rasa-exchange"  # rasa.core.brokers.pika.RABBITMQ_EXCHANGE
BATCH_SIZE = 200
BATCH_WAIT_S = 0.2
RETRY_S = 2.0
AMQP_TIMEOUT_S = 10.0   # every call to RabbitMQ: a restart must never leave one waiting forever
RECONCILE_S = 30.0
GRACE_S = 120.0


@dataclass
class Counters:
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    database_errors: int = 0
    reconciled: int = 0
    connected: bool = False
    last_error: Optional[str] = None
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))


class Consumer:
    def __init__(self, engine: Engine, rabbitmq_url: str, queue: str, tracker: Optional[Engine] = None,
                 reconcile_s: float = RECONCILE_S, grace_s: float = GRACE_S) -> None:
        """`tracker`: the tracker store's database, to copy every `reconcile_s` the events at
        least `grace_s` old that RabbitMQ never delivered (bot/analytics/reconcile.py); None
        turns that off."""
        self.engine = engine
        self.rabbitmq_url = rabbitmq_url
        self.queue = queue
        self.tracker = tracker
        self.reconcile_s, self.grace_s = reconcile_s, grace_s
        self.counters = Counters()

    async def run(self) -> None:
        """Consume until cancelled. A lost connection (RabbitMQ restarted) is dropped whole
        and made again every RETRY_S, and nothing of an old one is reused.

        Every call to RabbitMQ has a deadline (AMQP_TIMEOUT_S). Without one, a restart under
        load left the consumer waiting forever: an acknowledgement written to a connection
        RabbitMQ had just closed waits for a write that never happens, so the loop never
        looked at the connection again, /health still said "connected", and no event reached
        the analytics until reconciliation (reproduced beside a CPU hog: one restart in two).
        Messages not yet acknowledged are delivered again and stored once (digest)."""
        import aio_pika

        while True:
            try:
                await self._consume(aio_pika)
            except (OSError, asyncio.TimeoutError, aio_pika.exceptions.AMQPException) as error:
                self.counters.last_error = f"RabbitMQ: {error.__class__.__name__}"
                logger.warning("RabbitMQ connection lost or refused (%s); connecting again",
                               error.__class__.__name__)
            self.counters.connected = False
            await asyncio.sleep(RETRY_S)

    async def _consume(self, aio_pika: Any) -> None:
        def timely(call: Any) -> Any:
            return asyncio.wait_for(call, AMQP_TIMEOUT_S)

        connection = await aio_pika.connect(self.rabbitmq_url, timeout=AMQP_TIMEOUT_S)
        try:
            channel = await timely(connection.channel())
            await timely(channel.set_qos(prefetch_count=BATCH_SIZE))
            exchange = await timely(channel.declare_exchange(RASA_EXCHANGE, type=aio_pika.ExchangeType.FANOUT))
            queue = await timely(channel.declare_queue(self.queue, durable=True))
            await timely(queue.bind(exchange, ""))
            # aio-pika hands messages to a callback; a local queue lets the loop wait for the
            # next one with a timeout (cancelling aio-pika's own iterator would close it).
            arrived: "asyncio.Queue[Any]" = asyncio.Queue()
            await timely(queue.consume(arrived.put))
            self.counters.connected = True
            pending: List[Tuple[Any, List[Dict[str, Any]]]] = []
            next_reconcile = time.monotonic()
            while not connection.is_closed and not channel.is_closed:
                if not pending and time.monotonic() >= next_reconcile:
                    await self._reconcile()  # between flushes: the copies' ids keep their order
                    next_reconcile = time.monotonic() + self.reconcile_s
                try:  # wake at least every second to notice a lost connection
                    message = await asyncio.wait_for(arrived.get(), BATCH_WAIT_S if pending else 1.0)
                except asyncio.TimeoutError:
                    message = None
                if message is not None:
                    rows = rows_of(message.body)
                    if rows is None:
                        self.counters.rejected += 1
                        logger.warning("broker message %s is not Rasa events: rejected", message.delivery_tag)
                        await timely(message.reject(requeue=False))
                    else:
                        pending.append((message, rows))
                if pending and (message is None or len(pending) >= BATCH_SIZE):
                    await self._flush(pending)
                    pending = []
            raise ConnectionResetError("the connection to RabbitMQ closed")
        finally:
            if not connection.is_closed:
                try:
                    await asyncio.wait_for(connection.close(), AMQP_TIMEOUT_S)
                except Exception:  # noqa: BLE001 - a dead connection: nothing left to close
                    pass

    async def _reconcile(self) -> None:
        if self.tracker is None:
            return
        try:
            added = await asyncio.get_running_loop().run_in_executor(None, reconcile, self.tracker, self.engine,
                                                                     self.grace_s)
        except SQLAlchemyError as error:
            self.counters.database_errors += 1
            logger.warning("reconciling with the tracker store failed (%s); next time", error.__class__.__name__)
            return
        if added:
            self.counters.reconciled += added
            logger.warning("%d events had not arrived through RabbitMQ: copied from the tracker store", added)

    async def _flush(self, pending: List[Tuple[Any, List[Dict[str, Any]]]]) -> None:
        rows = [row for _, batch in pending for row in batch]
        while True:
            try:
                new = await asyncio.get_running_loop().run_in_executor(None, store, self.engine, rows)
                break
            except SQLAlchemyError as error:
                # Not acknowledged: the messages wait in RabbitMQ while the database is away.
                self.counters.database_errors += 1
                self.counters.last_error = f"database: {error.__class__.__name__}"
                logger.warning("storing %d broker events failed (%s); retrying", len(rows),
                               error.__class__.__name__)
                await asyncio.sleep(RETRY_S)
        self.counters.stored += new
        self.counters.duplicates += len(rows) - new
        self.counters.last_error = None
        # One acknowledgement for the whole batch (`multiple`: every delivery up to the last).
        # If it cannot be written in time the connection is dropped and made again: RabbitMQ
        # then delivers the batch again and the digests keep it stored once.
        try:
            await asyncio.wait_for(pending[-1][0].ack(multiple=True), AMQP_TIMEOUT_S)
        except Exception as error:  # noqa: BLE001
            raise ConnectionResetError(f"acknowledgement not written ({error.__class__.__name__})") from error


async def serve(consumer: Consumer, port: int) -> None:
    from aiohttp import web

    async def health(_: web.Request) -> web.Response:
        counters = consumer.counters
        body = {"connected": counters.connected, "stored": counters.stored, "duplicates": counters.duplicates,
                "rejected": counters.rejected, "database_errors": counters.database_errors,
                "reconciled": counters.reconciled,
                "last_error": counters.last_error}
        return web.json_response(body, status=200 if counters.connected else 503)

    app = web.Application()
    app.router.add_get("/health", health)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, load_settings().bind_host, port).start()
    try:
        await consumer.run()
    finally:
        await runner.cleanup()
