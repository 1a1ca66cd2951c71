"""The socket.io channel of the website widget, hardened like the other citizen channels.

Rasa's SocketIOInput hands whatever a client emits to Rasa: a `message` that is a number or a
list fails deep in the pipeline, a `session_id` that is a list becomes a conversation named
"[1]", a lone surrogate in it stops the Rasa server (the SQL tracker store exits on the encoding
error), and text reaches Rasa uncleaned and uncut. Here an event of the wrong shape is dropped
before Rasa (nothing stored, nothing answered), the text is cleaned and cut like on REST,
Telegram and Zalo, and the per-sender rate limit applies (bot/channels/ratelimit.py). The events
and answers are Rasa's (`session_request`/`session_confirm`, `user_uttered`, `bot_uttered`), so
the widget is unchanged.
"""

from __future__ import annotations

import inspect
import json
import logging
import re
import uuid
from typing import Any, Awaitable, Callable, Dict, Optional, Text
from urllib.parse import urlparse

from rasa.core.channels.channel import UserMessage, decode_bearer_token
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncRedisManager, AsyncServer

from bot.channels.delivery import Incoming, deliver
from bot.config import load_settings

logger = logging.getLogger(__name__)

# A session id names the conversation in the tracker store and the room answers go to: the
# widget's are uuid4 hex; anything else printable and short enough is accepted too.
SESSION_ID_FORMAT = re.compile(r"[A-Za-z0-9_.:@-]{1,128}")


def _session_id(value: Any) -> Optional[str]:
    return value if isinstance(value, str) and SESSION_ID_FORMAT.fullmatch(value) else None


def _metadata(value: Any) -> Optional[Dict[str, Any]]:
    """Rasa accepts a dict or a JSON object in a string; None for anything else."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            return None
    return value if isinstance(value, dict) else None


class CitizenSocketIOInput(SocketIOInput):
    """`/socket.io`: Rasa's events, with each one checked before it reaches Rasa."""

    def server(self) -> AsyncServer:
        """The socket.io server. In production, with a Redis client manager: nginx keeps a
        browser on one Rasa server, but a notification for its conversation (the notifier's
        trigger_intent) may be handled by another; through Redis, an answer emitted on any
        server reaches the browser wherever it is connected. (python-socketio sends these as
        pickles: Redis must be as private as it already is for the locks.)"""
        settings = load_settings()
        manager = None
        if settings.production:
            db = urlparse(settings.redis_url).path.strip("/") or "0"
            manager = AsyncRedisManager(settings.redis_url, channel=f"assistant-socketio-{db}")
        # Empty list: python-socketio leaves CORS to Sanic (Rasa's workaround for other origins).
        return AsyncServer(async_mode="sanic", cors_allowed_origins=[], client_manager=manager,
                           max_http_buffer_size=settings.max_request_bytes)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        sio = self.server()
        self.sio = sio  # get_output_channel() answers through it
        hook = SocketBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect", namespace=self.namespace)
        async def connect(sid: Text, environ: Dict, auth: Optional[Dict] = None) -> bool:
            if not self.jwt_key:
                return True
            token = auth.get("token") if isinstance(auth, dict) else None
            return bool(token) and decode_bearer_token(token, self.jwt_key, self.jwt_algorithm) is not None

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: Text, data: Any = None, *_: Any) -> None:
            # An id the client cannot have (a list, a surrogate) gets a new session instead.
            session_id = _session_id(data.get("session_id") if isinstance(data, dict) else None)
            session_id = session_id or uuid.uuid4().hex
            if self.session_persistence:
                entered = sio.enter_room(sid, session_id)
                if inspect.isawaitable(entered):  # a coroutine from python-socketio 5.10 on
                    await entered
            await sio.emit("session_confirm", session_id, room=sid)

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def user_uttered(sid: Text, data: Any = None, *_: Any) -> None:
            await self._receive(sid, data, on_new_message)

        return hook

    async def _receive(self, sid: Text, data: Any,
                       on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        if not isinstance(data, dict) or not isinstance(data.get("message"), str):
            logger.info("socketio: an event without a text message dropped")
            return
        sender = _session_id(data.get("session_id")) if self.session_persistence else sid
        if sender is None:
            logger.info("socketio: a message without a valid session_id dropped (send session_request first)")
            return
        metadata = data.get(self.metadata_key)
        if metadata is not None:
            metadata = _metadata(metadata)
            if metadata is None:
                logger.info("socketio: a message whose metadata is not a JSON object dropped")
                return
        assert self.sio is not None
        output = CountingSocketIOOutput(self.sio, self.bot_message_evt)
        await deliver(Incoming(self.name(), sender, data["message"], output,
                              lambda text: output.send_text_message(sender, text),
                              lambda: output.responses > 0, metadata), on_new_message)


class CountingSocketIOOutput(SocketIOOutput):
    """Rasa's output, counting what it said (so a silent turn gets the no-answer notice)."""

    def __init__(self, sio: AsyncServer, bot_message_evt: Text) -> None:
        super().__init__(sio, bot_message_evt)
        self.responses = 0

    async def _send_message(self, socket_id: Text, response: Any) -> None:
        self.responses += 1
        await super()._send_message(socket_id, response)
