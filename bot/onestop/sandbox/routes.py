"""The HTTP handlers of docs/onestop-openapi.yaml. Auth and faults are applied before these run."""

from __future__ import annotations

import json
import time
from typing import Any, List, Optional

from sanic import Request, Sanic
from sanic.response import HTTPResponse, empty, raw

from . import store, validation
from .errors import ApiError
from .reference import DRAFT, REGISTERED, SUBMITTED_ONLINE_NOTE, status_json, to_wire
from .webhooks import status_changed_event

def reply(body: Any, status: int = 200) -> HTTPResponse:
    # ensure_ascii=False keeps Vietnamese readable in curl and logs; it is still valid JSON.
    return raw(json.dumps(body, ensure_ascii=False).encode("utf-8"), status=status,
               content_type="application/json; charset=utf-8")


def _not_found() -> ApiError:
    return ApiError(404, "not_found", "No dossier has this code.")


async def health(request: Request) -> HTTPResponse:
    return reply({"status": "ok"})


async def get_dossier(request: Request, code: str) -> HTTPResponse:
    code = validation.dossier_code(code)
    value = validation.verification(request.args.get("verification"))
    left = request.app.ctx.locks.get(code, 0.0) - time.monotonic()
    if left > 0:
        response = reply({"error": "dossier_locked", "message": "Lookups of this code are refused for a while."},
                         status=423)
        response.headers["Retry-After"] = str(int(left) + 1)
        return response
    with request.app.ctx.sessions.begin() as session:
        dossier = store.find_dossier(session, code)
        if dossier is None:
            raise _not_found()
        if not store.verification_matches(dossier, value):
            raise ApiError(403, "verification_failed", "The verification value does not match this dossier.")
        return reply(store.dossier_json(dossier))


async def create_draft(request: Request) -> HTTPResponse:
    draft = validation.draft_request(validation.json_object(request.body))
    ctx = request.app.ctx
    with ctx.sessions.begin() as session:
        dossier = store.create_draft(session, draft, ctx.portal_url)
        return reply({
            "code": dossier.code,
            "status": status_json(DRAFT),
            "continue_url": dossier.continue_url,
            "created_at": to_wire(dossier.created_at),
        }, status=201)


async def register_webhook(request: Request) -> HTTPResponse:
    hook = validation.webhook(validation.json_object(request.body))
    with request.app.ctx.sessions.begin() as session:
        # 201 also when the URL was known: the client needs one success path, not two.
        return reply(store.webhook_json(store.register_webhook(session, hook.url, hook.secret)), status=201)


async def list_webhooks(request: Request) -> HTTPResponse:
    with request.app.ctx.sessions.begin() as session:
        return reply([store.webhook_json(hook) for hook in store.list_webhooks(session)])


async def delete_webhook(request: Request, hook_id: str) -> HTTPResponse:
    with request.app.ctx.sessions.begin() as session:
        if not store.delete_webhook(session, hook_id):
            raise ApiError(404, "not_found", "No webhook has this id.")
    return empty(status=204)


# -- sandbox only ------------------------------------------------------------------------

async def sandbox_create_dossier(request: Request) -> HTTPResponse:
    spec = validation.sandbox_dossier(validation.json_object(request.body))
    ctx = request.app.ctx
    with ctx.sessions.begin() as session:
        if spec.code and store.find_dossier(session, spec.code) is not None:
            raise ApiError(409, "already_exists", "A dossier with this code already exists.")
        return reply(store.dossier_json(store.create_sandbox_dossier(session, spec, ctx.portal_url)), status=201)


async def sandbox_change_status(request: Request, code: str) -> HTTPResponse:
    code = validation.dossier_code(code)
    change = validation.status_change(validation.json_object(request.body))
    return _transition(request, code, change.status, change.note, change.missing_documents)


async def sandbox_submit(request: Request, code: str) -> HTTPResponse:
    return _transition(request, validation.dossier_code(code), REGISTERED, SUBMITTED_ONLINE_NOTE, [],
                       only_from=DRAFT)


def _transition(request: Request, code: str, status: int, note: Optional[str],
                missing_documents: List[str], only_from: Optional[int] = None) -> HTTPResponse:
    ctx = request.app.ctx
    with ctx.sessions.begin() as session:
        dossier = store.find_dossier(session, code)
        if dossier is None:
            raise _not_found()
        if only_from is not None and dossier.status != only_from:
            raise ApiError(409, "not_a_draft", "Only a draft (status 0) can be submitted.")
        transition = store.change_status(session, dossier, status, note, missing_documents)
        event = status_changed_event(dossier.code, dossier.procedure_id, status,
                                     transition.previous_status, transition.change.at, note)
        targets = store.webhook_targets(session)
        answer = store.dossier_json(dossier)
    # Only after the commit: a receiver that looks the dossier up must see the new status.
    ctx.webhooks.send(targets, event)
    return reply(answer)


async def sandbox_lock(request: Request, code: str) -> HTTPResponse:
    code = validation.dossier_code(code)
    seconds = validation.lock_seconds(validation.json_object(request.body))
    locks = request.app.ctx.locks
    if seconds:
        locks[code] = time.monotonic() + seconds
    else:
        locks.pop(code, None)
    return reply({"code": code, "seconds": seconds})


async def sandbox_set_fault(request: Request) -> HTTPResponse:
    fault = validation.fault(validation.json_object(request.body))
    request.app.ctx.fault = fault
    return reply({"mode": fault.mode, "delay_s": fault.delay_s})


def register(app: Sanic) -> None:
    app.add_route(health, "/health", methods=["GET"])
    app.add_route(get_dossier, "/api/v1/dossiers/<code>", methods=["GET"])
    app.add_route(create_draft, "/api/v1/dossiers", methods=["POST"])
    app.add_route(register_webhook, "/api/v1/webhooks", methods=["POST"])
    app.add_route(list_webhooks, "/api/v1/webhooks", methods=["GET"])
    app.add_route(delete_webhook, "/api/v1/webhooks/<hook_id>", methods=["DELETE"])
    app.add_route(sandbox_create_dossier, "/sandbox/dossiers", methods=["POST"])
    app.add_route(sandbox_change_status, "/sandbox/dossiers/<code>/status", methods=["POST"])
    app.add_route(sandbox_submit, "/sandbox/dossiers/<code>/submit", methods=["POST"])
    app.add_route(sandbox_lock, "/sandbox/dossiers/<code>/lock", methods=["POST"])
    app.add_route(sandbox_set_fault, "/sandbox/faults", methods=["POST"])
