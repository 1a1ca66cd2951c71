"""`create_app`: the sandbox as a Sanic app, with auth, fault injection and JSON-only errors."""

from __future__ import annotations

import asyncio
import hmac
import logging
import uuid
from typing import Optional

from sanic import Request, Sanic
from sanic.exceptions import SanicException
from sanic.response import HTTPResponse, text

from . import routes
from .errors import ApiError
from .models import init_db, make_engine, session_factory
from .reference import DEFAULT_PORTAL_URL, local_today
from .seed import seed_if_empty
from .validation import Fault
from .webhooks import WebhookSender

log = logging.getLogger(__name__)

PROTECTED_PREFIXES = ("/api/v1/", "/sandbox/")
FAULTY_PREFIX = "/api/v1/"
_SANIC_ERRORS = {400: "invalid_request", 404: "not_found", 405: "method_not_allowed",
                 413: "payload_too_large"}


def create_app(db_url: str, token: str, portal_url: str = DEFAULT_PORTAL_URL) -> Sanic:
    if not token:
        raise ValueError("the sandbox needs a bearer token")
    # Sanic keeps a registry of app names; a unique one lets tests build several apps.
    app = Sanic(f"onestop-sandbox-{uuid.uuid4().hex[:12]}")
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.config.REQUEST_MAX_SIZE = 1_000_000

    engine = make_engine(db_url)
    init_db(engine)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        seed_if_empty(session, local_today(), portal_url)

    app.ctx.sessions = sessions
    app.ctx.token = token
    app.ctx.portal_url = portal_url
    app.ctx.fault = Fault()
    app.ctx.locks = {}  # dossier code -> time.monotonic() when lookups are accepted again
    app.ctx.webhooks = WebhookSender()

    async def start_webhooks(app: Sanic, _loop: object) -> None:
        await app.ctx.webhooks.start()

    async def stop(app: Sanic, _loop: object) -> None:
        await app.ctx.webhooks.close()
        engine.dispose()

    app.register_listener(start_webhooks, "before_server_start")
    app.register_listener(stop, "after_server_stop")
    app.register_middleware(guard, "request")
    app.error_handler.add(ApiError, on_api_error)
    app.error_handler.add(SanicException, on_sanic_error)
    app.error_handler.add(Exception, on_unexpected_error)
    routes.register(app)
    return app


def _authorized(header: Optional[str], token: str) -> bool:
    scheme, _, presented = (header or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), token.encode())


async def guard(request: Request) -> Optional[HTTPResponse]:
    path = request.path
    if not path.startswith(PROTECTED_PREFIXES):
        return None
    if not _authorized(request.headers.get("authorization"), request.app.ctx.token):
        response = on_api_error(request, ApiError(
            401, "unauthorized", "A valid `Authorization: Bearer <token>` header is required."))
        response.headers["WWW-Authenticate"] = "Bearer"
        return response
    if path.startswith(FAULTY_PREFIX):
        return await _injected_fault(request.app.ctx.fault)
    return None


async def _injected_fault(fault: Fault) -> Optional[HTTPResponse]:
    if fault.mode == "slow":
        await asyncio.sleep(fault.delay_s)
    elif fault.mode == "error":
        return routes.reply({"error": "internal", "message": "Injected fault: the system failed."}, status=500)
    elif fault.mode == "rate_limited":
        response = routes.reply({"error": "too_many_requests", "message": "Injected fault: retry later."},
                                status=429)
        response.headers["Retry-After"] = "30"
        return response
    elif fault.mode == "malformed":
        # What a misconfigured gateway really sends: an HTML page with a 200.
        return text("<html>oops", content_type="text/html; charset=utf-8")
    return None


def on_api_error(request: Request, error: ApiError) -> HTTPResponse:
    return routes.reply(error.body(), status=error.status)


def on_sanic_error(request: Request, error: SanicException) -> HTTPResponse:
    status = getattr(error, "status_code", 500) or 500
    code = _SANIC_ERRORS.get(status, "internal" if status >= 500 else "invalid_request")
    message = str(error) if status < 500 else "The sandbox failed to answer."
    return routes.reply({"error": code, "message": message}, status=status)


def on_unexpected_error(request: Request, error: Exception) -> HTTPResponse:
    # Logged here in full; the caller gets no traceback.
    log.exception("unexpected error on %s %s", request.method, request.path, exc_info=error)
    return routes.reply({"error": "internal", "message": "The sandbox failed to answer."}, status=500)
