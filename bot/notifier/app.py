"""The notifier: one-stop webhook in, Rasa trigger-intent calls out.

A delivery is acknowledged (2xx) only when every follower was reached, so the one-stop
system retries what failed; a delivery already handled (same event id) is acknowledged
without notifying twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import logging
from typing import Any, Dict
from urllib.parse import quote

import aiohttp
from sanic import Sanic, response
from sanic.request import Request

from bot.config import Settings
from bot.store import db

logger = logging.getLogger(__name__)
_names = itertools.count()
TRIGGER_INTENT = "dossier_status_changed"


def signature_ok(secret: str, body: bytes, header: str) -> bool:
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    given = header[len("sha256="):] if header.startswith("sha256=") else header
    return hmac.compare_digest(expected, given)


async def trigger(session: aiohttp.ClientSession, settings: Settings, rasa_url: str,
                  sender_id: str, event: Dict[str, Any]) -> bool:
    url = (f"{rasa_url}/conversations/{quote(sender_id, safe='')}/trigger_intent"
           f"?output_channel=latest&token={quote(settings.rasa_token)}")
    body = {"name": TRIGGER_INTENT, "entities": {
        "dossier_code": event["code"],
        "status_code": str(event["status"]["code"]),
        "status_label": event["status"]["label"],
    }}
    try:
        async with session.post(url, json=body, timeout=aiohttp.ClientTimeout(total=15)) as reply:
            if reply.status == 200:
                return True
            logger.warning("trigger_intent for a follower answered HTTP %s", reply.status)
    except (aiohttp.ClientError, asyncio.TimeoutError) as error:
        logger.warning("trigger_intent failed: %s", error)
    return False


def create_app(settings: Settings, rasa_url: str) -> Sanic:
    app = Sanic(f"notifier_{next(_names)}")
    engine = db.engine_for(settings.app_db_url)

    @app.get("/health")
    async def health(_: Request):
        return response.json({"status": "ok"})

    @app.post("/onestop/webhook")
    async def webhook(request: Request):
        if not signature_ok(settings.webhook_secret, request.body,
                            request.headers.get("X-Onestop-Signature", "")):
            return response.json({"error": "bad signature"}, status=401)
        try:
            event = json.loads(request.body)
            code, status = event["code"], event["status"]
            event_id = str(event["event_id"])
            int(status["code"]), str(status["label"])
        except (ValueError, KeyError, TypeError):
            return response.json({"error": "malformed event"}, status=400)
        if event_id in app.ctx.handled:
            return response.json({"status": "duplicate"})
        followers = db.subscribers(engine, code)
        async with aiohttp.ClientSession() as session:
            results = await asyncio.gather(*(
                trigger(session, settings, rasa_url, f["sender_id"], event) for f in followers
            ))
        if not all(results):
            return response.json({"error": "some followers not reached"}, status=503)
        if db.first_delivery(engine, event_id):
            _record_submission(engine, event)
        app.ctx.handled.add(event_id)
        return response.json({"status": "delivered", "followers": len(followers)})

    @app.before_server_start
    async def prepare(app_: Sanic, _loop) -> None:
        app_.ctx.handled = set()

    return app


def _record_submission(engine, event: Dict[str, Any]) -> None:
    """A draft the citizen submitted on the portal closes the funnel."""
    previous = (event.get("previous_status") or {}).get("code")
    if previous != 0 or event["status"]["code"] != 1:
        return
    draft = db.funnel_for_code(engine, event["code"])
    if draft:
        db.record_funnel(engine, "submitted", draft["sender_id"], draft["procedure_id"],
                         channel=draft["channel"], field=draft["field"], locality=draft["locality"],
                         dossier_code=event["code"])
