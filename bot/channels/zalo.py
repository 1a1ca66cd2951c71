"""The Zalo Official Account channel: signed webhook events in, customer-service messages out.

Zalo wants HTTP 200 within 2 seconds or it retries (and may switch the webhook off), so the
webhook verifies the signature, records the event, answers, and only then lets the
assistant think. Retries carry the same `msg_id` and are answered once, on whichever Rasa
server they arrive (bot/channels/dedupe.py); a signed event older than the dedupe's memory is
ignored, so a captured one cannot be replayed later. Events of the wrong shape (ids that are
not ids, a text that is not text) are ignored before they reach Rasa. Replies go through the
customer-service message API, 2,000 characters and 5 buttons per message.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
import time
from functools import lru_cache
from typing import Any, Awaitable, Callable, Dict, List, Optional, Set, Text, Tuple

import aiohttp
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.dedupe import SEEN_TTL_S, SeenEvents, seen_events
from bot.channels.messages import Button, Message, from_rasa, split_text
from bot.channels.delivery import Incoming, deliver
from bot.channels.zalo_tokens import TokenRefreshError, ZaloTokens, token_store
from bot.config import load_settings
from bot.datafiles import read_yaml

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-ZEvent-Signature"
TEXT_LIMIT = 2000
MAX_BUTTONS = 5            # per message
MAX_BUTTON_MESSAGES = 2    # each message spends one of the 8 free replies per user message
TITLE_LIMIT = 100
QUERY_PAYLOAD_LIMIT = 1000

TOKEN_ERRORS = {-216, -220}              # invalid / expired access token
UNREACHABLE = {-213, -230, -232}         # not a follower / outside the interaction window
RATE_LIMITED = -32
SEND_TIMEOUT_S = 10
SEEN_EVENTS_FILE = "zalo-events.sqlite3"   # the embedded profile's log of handled events
# A signed event is taken within this distance of our clock. Half the time the dedupe keeps a
# key: a replay is refused as a duplicate while its key lives, and as stale once it could not.
EVENT_MAX_AGE_S = SEEN_TTL_S // 2
# What a Zalo id may look like (user ids are long numbers in strings): it becomes Rasa's sender
# id, and a lone surrogate or a NUL in a sender id makes the tracker store fail.
ID_FORMAT = re.compile(r"[A-Za-z0-9_.:-]{1,128}")


@lru_cache(maxsize=1)
def zalo_texts() -> Dict[str, str]:
    return dict(read_yaml(load_settings().data_dir / "texts" / "zalo.yml")["messages"])


# --- signature ---------------------------------------------------------------------------

def expected_signature(app_id: str, body: bytes, timestamp: str, oa_secret_key: str) -> str:
    """Plain SHA-256 (not an HMAC) of app_id + raw body + timestamp + OA secret key.

    "surrogatepass": app_id and timestamp come from the body, and a forged one with a lone
    surrogate must fail the comparison, not the request.
    """
    return hashlib.sha256(app_id.encode("utf-8", "surrogatepass") + body
                          + timestamp.encode("utf-8", "surrogatepass") + oa_secret_key.encode()).hexdigest()


def signature_ok(event: Dict[str, Any], body: bytes, header: str, oa_secret_key: str) -> bool:
    given = header.strip()
    if given[:4].lower() == "mac=":
        given = given[4:].strip()
    app_id, timestamp = event.get("app_id"), event.get("timestamp")
    if not given or not oa_secret_key or not _is_id(app_id) or not _is_id(timestamp):
        return False
    expected = expected_signature(str(app_id), body, str(timestamp), oa_secret_key)
    return hmac.compare_digest(expected.encode(), given.lower().encode("utf-8", "replace"))


def _is_id(value: Any) -> bool:
    return isinstance(value, (str, int)) and not isinstance(value, bool) and str(value) != ""


def _safe_id(value: Any) -> bool:
    """An id we may hand to Rasa and its stores."""
    return _is_id(value) and ID_FORMAT.fullmatch(str(value)) is not None


def _fresh(timestamp: Any, now_s: float) -> bool:
    """Zalo's timestamp (milliseconds, in a string) is within EVENT_MAX_AGE_S of now."""
    try:
        milliseconds = int(str(timestamp))
    except ValueError:
        return False
    if milliseconds < 10 ** 12:  # seconds, should Zalo ever send them
        milliseconds *= 1000
    return abs(now_s * 1000 - milliseconds) <= EVENT_MAX_AGE_S * 1000


# --- rendering ---------------------------------------------------------------------------

def _short_title(title: str) -> str:
    title = " ".join(title.split())
    if len(title) <= TITLE_LIMIT:
        return title
    cut = title.rfind(" ", 0, TITLE_LIMIT)
    if cut < TITLE_LIMIT // 2:
        cut = TITLE_LIMIT - 1
    return title[:cut].rstrip(" ,;:-") + "…"


def zalo_button(button: Button) -> Optional[Dict[str, Any]]:
    """A Zalo template button, or None when Zalo cannot carry it."""
    title = _short_title(button.title or button.payload)
    if button.is_link:
        return {"title": title, "type": "oa.open.url", "payload": {"url": button.payload}}
    if button.payload.startswith("tel:"):
        return {"title": title, "type": "oa.open.phone",
                "payload": {"phone_code": button.payload[4:].strip()}}
    if not button.payload or len(button.payload) > QUERY_PAYLOAD_LIMIT:
        logger.warning("zalo: a button payload of %d characters cannot be sent; button left out",
                       len(button.payload))
        return None
    # "hide": the press reaches us as the payload, but the chat shows no "/ask_fee{…}" line.
    return {"title": title, "type": "oa.query.hide", "payload": button.payload}


def _with_buttons(text: str, buttons: List[Dict[str, Any]]) -> Dict[str, Any]:
    return {"text": text, "attachment": {"type": "template", "payload": {"buttons": buttons}}}


def render(message: Message) -> List[Dict[str, Any]]:
    """The `message` objects of the customer-service API for one assistant message, in order.

    Text over 2,000 characters becomes several messages; buttons ride on the last part,
    five per message, the overflow in one more message; an image follows as media.
    """
    bodies: List[Dict[str, Any]] = [{"text": part} for part in split_text(message.text, TEXT_LIMIT)]
    buttons = [b for b in (zalo_button(b) for b in message.buttons) if b is not None]
    groups = [buttons[i:i + MAX_BUTTONS] for i in range(0, len(buttons), MAX_BUTTONS)]
    if len(groups) > MAX_BUTTON_MESSAGES:
        logger.warning("zalo: %d buttons is more than Zalo can show; the last %d left out",
                       len(buttons), len(buttons) - MAX_BUTTONS * MAX_BUTTON_MESSAGES)
        groups = groups[:MAX_BUTTON_MESSAGES]
    for index, group in enumerate(groups):
        if index == 0 and bodies:
            bodies[-1] = _with_buttons(bodies[-1]["text"], group)
        else:
            heading = zalo_texts()["more_options" if index else "choose_option"]
            bodies.append(_with_buttons(heading, group))
    if message.image:
        bodies.append({"attachment": {"type": "template", "payload": {
            "template_type": "media", "elements": [{"media_type": "image", "url": message.image}]}}})
    return bodies


# --- the customer-service message API ----------------------------------------------------

class ZaloApi:
    """Sends one message to one user; classifies every failure, never raises to the caller."""

    def __init__(self, api_url: str, tokens: ZaloTokens,
                 backoff_s: Tuple[float, ...] = (1.0, 2.0, 4.0)) -> None:
        self._endpoint = f"{api_url.rstrip('/')}/v3.0/oa/message/cs"
        self.tokens = tokens
        self.backoff_s = backoff_s
        self._session: Optional[aiohttp.ClientSession] = None

    async def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=SEND_TIMEOUT_S))
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def send(self, user_id: str, message: Dict[str, Any]) -> bool:
        body = {"recipient": {"user_id": str(user_id)}, "message": message}
        token = await self.tokens.current()
        refreshed = False
        delays = iter(self.backoff_s)
        while True:
            code, reason = await self._post(token, body)
            if code == 0:
                return True
            if code in TOKEN_ERRORS and not refreshed:
                refreshed = True
                try:
                    token = await self.tokens.refresh(stale=token)
                except TokenRefreshError as error:
                    logger.error("zalo: access token refused (error %s) and refresh failed: %s", code, error)
                    return False
                continue
            if code in UNREACHABLE:
                logger.info("zalo: user cannot receive messages now (error %s %s); not delivered", code, reason)
                return False
            if code is None or code == RATE_LIMITED:
                delay = next(delays, None)
                if delay is not None:
                    await asyncio.sleep(delay)
                    continue
            logger.error("zalo: message not delivered (error %s %s)", code, reason)
            return False

    async def _post(self, token: str, body: Dict[str, Any]) -> Tuple[Optional[int], str]:
        """(Zalo error code, reason); code None for a failure worth retrying."""
        try:
            session = await self._http()
            async with session.post(self._endpoint, json=body, headers={"access_token": token}) as reply:
                if reply.status >= 500:
                    return None, f"HTTP {reply.status}"
                answer = await reply.json(content_type=None)
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            return None, type(error).__name__
        except ValueError:
            return None, "unreadable answer"
        if not isinstance(answer, dict):
            return None, "unexpected answer"
        try:
            code = int(answer["error"])
        except (KeyError, TypeError, ValueError):
            return -1, "answer without an error code"
        return code, str(answer.get("message") or "")[:160]


class ZaloOutput(OutputChannel):
    """Everything the assistant says in one turn (or in a notification) to a Zalo user."""

    @classmethod
    def name(cls) -> Text:
        return "zalo"

    def __init__(self, api: ZaloApi) -> None:
        self.api = api
        self.responses = 0  # what the assistant said, delivered or not

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        self.responses += 1
        for body in render(from_rasa(message)):
            await self.api.send(recipient_id, body)

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"text": text})


# --- the input channel -------------------------------------------------------------------

def _message(event: Dict[str, Any]) -> Dict[str, Any]:
    """The event's `message` object; empty when it has none or it is not an object."""
    message = event.get("message")
    return message if isinstance(message, dict) else {}


def _event_key(event: Dict[str, Any], name: str, user_id: str) -> str:
    msg_id = _message(event).get("msg_id")
    if _is_id(msg_id):
        return f"msg:{msg_id}"
    return f"{name}:{user_id}:{event.get('timestamp')}"


def _user_id(event: Dict[str, Any]) -> str:
    for holder in ("sender", "follower"):  # follow/unfollow name the user `follower`
        value = event.get(holder)
        if isinstance(value, dict) and _safe_id(value.get("id")):
            return str(value["id"])
    return ""


def _readable(event: Dict[str, Any], name: str) -> bool:
    """A text event carries its text as a string (not a list, a number, null)."""
    if name != "user_send_text":
        return True
    message = event.get("message")
    return isinstance(message, dict) and isinstance(message.get("text"), str)


class ZaloInput(InputChannel):
    """`POST /webhooks/zalo/webhook` for Zalo OA events; `GET /webhooks/zalo/` for health."""

    @classmethod
    def name(cls) -> Text:
        return "zalo"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        settings = load_settings()
        if not settings.zalo_oa_secret_key:
            cls.raise_missing_credentials_exception()
        if not (settings.zalo_app_id and (settings.zalo_access_token or settings.zalo_refresh_token)):
            logger.warning("zalo: ZALO_APP_ID or the tokens are not set; replies will fail")
        zalo_texts()  # a broken data file stops the start, not the first image a citizen sends
        tokens = ZaloTokens(
            app_id=settings.zalo_app_id, app_secret=settings.zalo_app_secret,
            oauth_url=settings.zalo_oauth_url, store=token_store(settings),
            access_token=settings.zalo_access_token, refresh_token=settings.zalo_refresh_token,
        )
        return cls(app_id=settings.zalo_app_id, oa_secret_key=settings.zalo_oa_secret_key,
                   api=ZaloApi(settings.zalo_api_url, tokens),
                   seen=seen_events(settings, cls.name(), local_file=SEEN_EVENTS_FILE))

    def __init__(self, *, app_id: str, oa_secret_key: str, api: ZaloApi, seen: SeenEvents) -> None:
        self.app_id = app_id
        self.oa_secret_key = oa_secret_key
        self.api = api
        self.seen = seen
        self._tasks: Set[asyncio.Task] = set()

    def get_output_channel(self) -> Optional[OutputChannel]:
        """Lets `trigger_intent?output_channel=latest` notify users who last wrote on Zalo."""
        return ZaloOutput(self.api)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        hook = Blueprint("zalo_webhook", __name__)

        @hook.listener("after_server_start")
        async def warm_up(app: Any, *_: Any) -> None:
            # The first message pays for lazy model loads (underthesea: about a second) while
            # holding the event loop; pay it now, not inside Zalo's 2-second budget.
            agent = getattr(app.ctx, "agent", None)
            if agent is None or not agent.is_ready():
                return
            try:
                await agent.parse_message("xin chào")
            except Exception:
                logger.warning("zalo: NLU warm-up failed; the first message will be slower", exc_info=True)

        @hook.listener("after_server_stop")
        async def close_http(*_: Any) -> None:
            await self.api.close()

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            header = request.headers.get(SIGNATURE_HEADER, "")
            if not header.strip():
                return response.json({"error": "missing signature"}, status=401)
            try:
                event = json.loads(request.body)
            except (ValueError, RecursionError):  # RecursionError: absurdly nested JSON
                return response.json({"error": "body must be JSON"}, status=400)
            if not isinstance(event, dict):
                return response.json({"error": "body must be a JSON object"}, status=400)
            if not signature_ok(event, request.body, header, self.oa_secret_key):
                logger.warning("zalo: webhook call with a bad signature refused")
                return response.json({"error": "bad signature"}, status=401)

            event_name = event.get("event_name")
            name = event_name if isinstance(event_name, str) else ""
            user_id = _user_id(event)
            if (name.startswith("oa_send_") or not self._handles(name) or not user_id
                    or (self.app_id and str(event.get("app_id")) != self.app_id)):
                return response.json({"status": "ignored"})
            if not _readable(event, name) or not _fresh(event.get("timestamp"), time.time()):
                # Signed, so from Zalo or from someone replaying what Zalo once sent: a 200, or
                # Zalo would retry what will never be readable.
                logger.warning("zalo: a %r event that is malformed or not recent ignored", name[:40])
                return response.json({"status": "ignored"})
            if not self.seen.first_time(_event_key(event, name, user_id)):
                return response.json({"status": "duplicate"})
            task = asyncio.create_task(self._handle(event, name, user_id, on_new_message))
            self._tasks.add(task)  # a reference, or the task may vanish mid-way
            task.add_done_callback(self._tasks.discard)
            return response.json({"status": "accepted"})

        return hook

    @staticmethod
    def _handles(name: str) -> bool:
        return name == "follow" or name.startswith("user_send_")  # `unfollow`: nothing to say

    async def _handle(self, event: Dict[str, Any], name: str, user_id: str,
                      on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        try:
            if name == "user_send_text":
                message = _message(event)
                raw = message.get("text")
                await self._ask_assistant(raw if isinstance(raw, str) else "", user_id, message.get("msg_id"),
                                          on_new_message)
            elif name == "follow":
                await self._ask_assistant("/greet", user_id, None, on_new_message, clean=False)
            else:  # an image, file, sticker, GIF, voice message, location...
                await ZaloOutput(self.api).send_text_message(user_id, zalo_texts()["text_only"])
        except Exception:
            logger.exception("zalo: event %s could not be handled", name)

    async def _ask_assistant(self, text: str, user_id: str, msg_id: Any,
                             on_new_message: Callable[[UserMessage], Awaitable[Any]],
                             clean: bool = True) -> None:
        output = ZaloOutput(self.api)
        await deliver(Incoming(self.name(), user_id, text, output,
                              lambda notice: output.send_text_message(user_id, notice),
                              lambda: output.responses > 0, clean=clean,
                              message_id=str(msg_id) if _safe_id(msg_id) else None), on_new_message)
