"""Rasa's events into the analytics tables: in the background every few seconds (so a page
only ever reads those tables), on demand (POST /ingest), and its checkpoint on /health."""

from __future__ import annotations

import asyncio
import logging

from sanic import Blueprint, Sanic
from sanic.request import Request
from sanic.response import HTTPResponse, json, redirect

from bot.analytics import ingest
from bot.staff.security import safe_next
from bot.staff.shared import Site, offload

logger = logging.getLogger("bot.staff.app")  # the name these messages have always had


def run(site: Site, pause_s: float = 0.0) -> ingest.IngestResult:
    """One run at a time, whether from the background task or a POST (which a person waits for)."""
    with site.ingest_lock:
        return ingest.ingest(site.engine, site.events, source=site.source, pause_s=pause_s)


def blueprint(site: Site, every_s: float) -> Blueprint:
    routes = Blueprint("ingestion")

    async def ingest_forever() -> None:
        while True:
            try:
                await offload(run, site, ingest.BACKGROUND_PAUSE_S)
            except Exception:  # noqa: BLE001 - a failed run is retried at the next tick
                logger.exception("ingestion of Rasa's events failed")
            await asyncio.sleep(every_s)

    @routes.after_server_start
    async def start_ingestion(app: Sanic, _loop: asyncio.AbstractEventLoop) -> None:
        app.ctx.ingestion = asyncio.ensure_future(ingest_forever())

    @routes.before_server_stop
    async def stop_ingestion(app: Sanic, _loop: asyncio.AbstractEventLoop) -> None:
        task = getattr(app.ctx, "ingestion", None)
        if task:
            task.cancel()

    @routes.get("/health")
    async def health(request: Request) -> HTTPResponse:
        try:
            checkpoint = await offload(ingest.read_checkpoint, site.engine, site.source)
        except Exception:  # noqa: BLE001
            return json({"status": "database unavailable"}, status=503)
        return json({"status": "ok", "last_event_id": checkpoint})

    @routes.post("/ingest")
    async def ingest_now(request: Request) -> HTTPResponse:
        await offload(run, site)
        return redirect(safe_next(request.form.get("next")), status=303)

    return routes
