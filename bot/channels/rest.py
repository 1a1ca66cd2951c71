"""The REST channel, hardened: every request gets a JSON answer, never a traceback."""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.rasa_patches import close_sessions
from bot.channels.delivery import Incoming, Outcome, deliver
from bot.config import load_settings

logger = logging.getLogger(__name__)


class CitizenRestInput(RestInput):
    """`POST /webhooks/rest/webhook` with `{"sender": ..., "message": ...}`."""

    @classmethod
    def name(cls) -> Text:
        return "rest"

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        hook = Blueprint("citizen_rest_webhook", __name__)

        @hook.listener("after_server_stop")
        async def close_http_clients(*_: Any) -> None:
            await close_sessions()  # the action server's shared clients

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                body = request.json
            except Exception:  # Sanic raises on a malformed body
                body = None
            if not isinstance(body, dict):
                return response.json({"error": "body must be a JSON object"}, status=400)
            sender = body.get("sender")
            # A lone surrogate or a NUL in the conversation's name stops the Rasa server (its SQL
            # tracker store exits on the encoding error): printable text only.
            if not isinstance(sender, (str, int)) or str(sender).strip() == "" or not str(sender).isprintable():
                return response.json({"error": "'sender' must be a non-empty string of printable characters"},
                                     status=400)
            raw = body.get("message", "")
            if raw is None:
                raw = ""
            if not isinstance(raw, str):
                return response.json({"error": "'message' must be a string"}, status=400)
            metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else None

            collector = CollectingOutputChannel()
            recipient = str(sender)

            async def tell(text: str) -> None:
                collector.messages.append({"recipient_id": recipient, "text": text})

            outcome = await deliver(Incoming(self.name(), recipient[:128], raw, collector, tell,
                                            lambda: bool(collector.messages), metadata,
                                            input_channel=self._input_channel(body)), on_new_message)
            if outcome in (Outcome.RATE_LIMITED, Outcome.DROPPED):
                return response.json(collector.messages, status=429)
            if outcome is Outcome.BUSY:
                return response.json(collector.messages, status=503,
                                     headers={"Retry-After": str(load_settings().admission_retry_after_s)})
            return response.json(collector.messages)

        return hook

    def _input_channel(self, body: Dict[str, Any]) -> Text:
        channel: Optional[Any] = body.get("input_channel")
        return channel if isinstance(channel, str) and channel else self.name()
