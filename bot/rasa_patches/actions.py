"""Calls to the action server: the answer's check built once, one HTTP client per event loop."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Dict, Tuple

from bot.rasa_patches.patch import Patch, Replacements


def _validator() -> Replacements:
    """Rasa checks every answer of the action server with `jsonschema.validate()`, which first
    re-checks the schema itself on each call (two thirds of the CPU, 2026-11-27), then tries
    every event against all 23 branches of the events' `oneOf` (7.8 % of a Rasa server's CPU
    on 2026-12-04). The branches differ by the `const` of the event's type, so at most one can
    hold: each event is checked against the base schema and its own type's branch, with
    validators built once — the same verdict. An answer it rejects still goes through Rasa's
    own code, so the error stays Rasa's. (fastjsonschema's compiled check was tried: 4.4 % of
    the CPU against 4.8 %, not worth a dependency.)"""
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    event_schema = schema["properties"]["events"]["items"]
    base = {key: value for key, value in event_schema.items() if key != "oneOf"}
    by_type = {branch["properties"]["event"]["const"]: validator_class({**base, "allOf": [branch]})
               for branch in event_schema["oneOf"]}
    assert set(schema) == {"type", "properties"} and set(schema["properties"]) == {"events", "responses"}
    assert len(by_type) == len(event_schema["oneOf"])  # one branch per event type: at most one holds
    responses = validator_class(schema["properties"]["responses"])
    original = RemoteAction._validate_action_result

    def valid(result: Any) -> bool:
        if not isinstance(result, dict):
            return False
        events = result.get("events", [])
        if not isinstance(events, list) or not responses.is_valid(result.get("responses", [])):
            return False
        for event in events:
            check = by_type.get(event.get("event")) if isinstance(event, dict) else None
            if check is None or not check.is_valid(event):
                return False
        return True

    def validate_action_result(self: RemoteAction, result: Dict[str, Any]) -> bool:
        if valid(result):
            return True
        return original(self, result)  # raises Rasa's own ValidationError

    return {(RemoteAction, "_validate_action_result"): validate_action_result}


VALIDATOR = Patch("action_validator", "the action server's answers checked by a validator built once",
                  _validator, ("rasa.core.actions.action:RemoteAction._validate_action_result",
                               "rasa.core.actions.action:RemoteAction.action_response_format_spec",
                               "rasa.shared.utils.schemas.events:"))


_sessions: Dict[Tuple[Any, ...], Any] = {}
KEEPALIVE_S = 2.0  # Sanic, the action server's framework, keeps an idle connection for 5 s


class _SharedSession:
    """Used as `async with endpoint.session() as session:` — everywhere Rasa 3.6 calls it."""

    def __init__(self, endpoint: Any) -> None:
        self.endpoint = endpoint

    async def __aenter__(self) -> Any:
        import aiohttp
        from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT

        endpoint, loop = self.endpoint, asyncio.get_running_loop()
        key = (tuple(sorted(endpoint.headers.items())), tuple(sorted(endpoint.basic_auth.items())))
        session = _sessions.get(key)
        if session is None or session.closed or session.loop is not loop:
            auth = (aiohttp.BasicAuth(endpoint.basic_auth["username"], endpoint.basic_auth["password"])
                    if endpoint.basic_auth else None)
            session = aiohttp.ClientSession(
                headers=endpoint.headers, auth=auth, timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
                connector=aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_S), json_serialize=json_text)
            _sessions[key] = session
        return session

    async def __aexit__(self, *_: Any) -> None:
        return None


def json_text(value: Any) -> str:
    import ujson

    try:
        return ujson.dumps(value, ensure_ascii=False, escape_forward_slashes=False)
    except (TypeError, OverflowError, ValueError):
        return json.dumps(value)  # the standard library's result, or its error


async def close_sessions() -> None:
    """Close the shared clients (the REST channel calls it when the server stops)."""
    while _sessions:
        _, session = _sessions.popitem()
        await session.close()


def _shared_sessions() -> Replacements:
    """Every call to the action server opened a new HTTP client and TCP connection. Calls now
    share one client per event loop and endpoint, keeping connections alive for less time than
    the action server does (so the client, not the server, closes an idle one). The request,
    the whole conversation, is written as JSON by ujson (the standard library's encoder where
    ujson refuses a value)."""
    from rasa.utils.endpoints import EndpointConfig

    def session(self: EndpointConfig) -> _SharedSession:
        return _SharedSession(self)

    return {(EndpointConfig, "session"): session}


SHARED_SESSIONS = Patch("shared_sessions", "one kept-alive HTTP client per event loop for the action server",
                        _shared_sessions, ("rasa.utils.endpoints:EndpointConfig.session",
                                           "rasa.utils.endpoints:EndpointConfig.request"))
