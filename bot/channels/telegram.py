"""The Telegram channel: citizens talk to the assistant through a Telegram bot.

Long polling by default (no public URL needed): getUpdates runs as a background task of the
Rasa server. With TELEGRAM_MODE=webhook, Telegram posts updates to
`POST /webhooks/telegram/webhook`, which accepts only requests carrying our secret token.
Replies, and Rasa's trigger-intent notifications (`output_channel=latest`), go out through
`TelegramOutput`. Two pollers on one token conflict: with several Rasa servers only the first
(RASA_REPLICA=0) polls; every server sends.
An update is handled once, on whichever Rasa server it arrives (bot/channels/dedupe.py); one
whose fields have types the Bot API never sends (PTB does not check them) is refused.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
import weakref
from functools import lru_cache
from typing import Any, Awaitable, Callable, Coroutine, Dict, List, Optional, Set, Text, Tuple

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from telegram import (
    BotCommand,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Update,
)
from telegram import Message as TelegramMessage
from telegram.error import Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import AIORateLimiter, ExtBot, Updater

from bot.channels.dedupe import seen_events
from bot.channels.messages import Button, Message, from_rasa, split_text
from bot.channels.telegram_buttons import (BUTTON_STORE, CALLBACK_DATA_LIMIT, KEY_PREFIX,  # noqa: F401
                                           ButtonPayloads, button_store, key_for)
from bot.channels.delivery import Incoming, deliver
from bot.config import Settings, load_settings
from bot.datafiles import read_yaml

logger = logging.getLogger(__name__)

TEXT_LIMIT = 4096            # characters of one message
ALLOWED_UPDATES = ("message", "callback_query")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SECRET_FORMAT = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # what setWebhook accepts
POLL_TIMEOUT_S = 25
START_PAYLOAD = "/greet"
MAX_CONCURRENT_UPDATES = 32
READY_WAIT_S = 15.0


@lru_cache(maxsize=1)
def telegram_texts() -> Dict[str, Any]:
    document = read_yaml(load_settings().data_dir / "texts" / "telegram.yml")
    return {"commands": dict(document["commands"]), "messages": dict(document["messages"])}


def _redact(error: BaseException, token: str) -> str:
    """An error for the log, without the bot token (PTB puts it in some messages)."""
    name, message = type(error).__name__, str(error)
    text = message if message.startswith(name) else f"{name}: {message}"
    return text.replace(token, "<token>") if token else text


# ---------------------------------------------------------------------------------------
# Rendering a channel-neutral message for Telegram


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_for_telegram(text: str, limit: int = TEXT_LIMIT) -> List[str]:
    """`split_text` under Telegram's limit, which counts UTF-16 units (an emoji is two)."""
    parts: List[str] = []
    pending = split_text(text, limit)
    while pending:
        part = pending.pop(0)
        units = _utf16_len(part)
        if units <= limit:
            parts.append(part)
        else:
            pending[:0] = split_text(part, max(1, len(part) * limit // units))
    return parts


def keyboard(buttons: Tuple[Button, ...], payloads: ButtonPayloads) -> Optional[InlineKeyboardMarkup]:
    """One button per row: Vietnamese titles are long. Links open; the rest answer back."""
    rows = [
        [InlineKeyboardButton(button.title, url=button.payload)]
        if button.is_link
        else [InlineKeyboardButton(button.title, callback_data=payloads.callback_data(button.payload))]
        for button in buttons
    ]
    return InlineKeyboardMarkup(rows) if rows else None


def render(message: Message, payloads: ButtonPayloads) -> List[Tuple[str, Optional[InlineKeyboardMarkup]]]:
    """The Telegram messages for one assistant message: text parts, keyboard on the last."""
    markup = keyboard(message.buttons, payloads)
    parts = split_for_telegram(message.text) if message.text.strip() else []
    if not parts and markup is not None:
        parts = [telegram_texts()["messages"]["buttons_only"]]
    return [(part, markup if index == len(parts) - 1 else None) for index, part in enumerate(parts)]


# ---------------------------------------------------------------------------------------
# Output


class TelegramOutput(OutputChannel):
    """Sends the assistant's messages to a Telegram chat; Bot API errors are logged, never raised."""

    def __init__(self, bot: ExtBot, payloads: ButtonPayloads, ready: Optional[asyncio.Event] = None) -> None:
        self.bot = bot
        self.payloads = payloads
        self.ready = ready
        self.responses = 0  # what the assistant said through this instance (one per citizen turn)

    @classmethod
    def name(cls) -> Text:
        return "telegram"

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        self.responses += 1
        neutral = from_rasa(message)
        for text, markup in render(neutral, self.payloads):
            await self.api_call("sendMessage", self.bot.send_message(
                chat_id=_chat_id(recipient_id), text=text, reply_markup=markup,
                link_preview_options=LinkPreviewOptions(is_disabled=True)))
        if neutral.image:
            await self.api_call("sendPhoto", self.bot.send_photo(chat_id=_chat_id(recipient_id), photo=neutral.image))
        if message.get("custom"):
            logger.debug("telegram: a custom message was not sent (not supported)")

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"text": text})

    async def send_text_with_buttons(
        self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]], **kwargs: Any
    ) -> None:
        await self.send_response(recipient_id, {"text": text, "buttons": buttons})

    async def send_image_url(self, recipient_id: Text, image: Text, **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"image": image})

    async def api_call(self, method: str, request: Coroutine[Any, Any, Any]) -> Optional[Any]:
        if self.ready is not None and not self.ready.is_set():
            try:
                await asyncio.wait_for(self.ready.wait(), READY_WAIT_S)
            except asyncio.TimeoutError:
                request.close()  # never awaited: close it, no warning
                logger.error("telegram: not connected to the Bot API; %s dropped", method)
                return None
        try:
            return await request
        except Forbidden as error:
            logger.warning("telegram: %s refused, the citizen blocked the bot or left: %s",
                           method, _redact(error, self.bot.token))
        except TelegramError as error:
            logger.error("telegram: %s failed: %s", method, _redact(error, self.bot.token))
        except Exception as error:  # a bug or a closed client must not take the server down
            logger.error("telegram: %s failed unexpectedly: %s", method, _redact(error, self.bot.token))
        return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _well_typed(update: Update) -> bool:
    """What `_handle` reads has the Bot API's types: ids are integers, texts and button data strings.

    PTB builds an update from any JSON without checking types; a chat id that is a string or a
    list would become Rasa's sender id (or break the per-chat lock), a text that is a list
    would fail deep in the handling.
    """
    if not _is_int(update.update_id):
        return False
    chat, user, message, query = update.effective_chat, update.effective_user, update.message, update.callback_query
    if (chat is not None and not _is_int(chat.id)) or (user is not None and not _is_int(user.id)):
        return False
    if message is not None and (message.chat is None or not (message.text is None or isinstance(message.text, str))):
        return False
    if query is not None and not (isinstance(query.id, str) and (query.data is None or isinstance(query.data, str))):
        return False
    return True


def _chat_id(recipient_id: Text) -> Any:
    try:
        return int(recipient_id)
    except (TypeError, ValueError):
        return recipient_id


# ---------------------------------------------------------------------------------------
# Input


class TelegramInput(InputChannel):
    """`/webhooks/telegram/`: health; `/webhooks/telegram/webhook` in webhook mode."""

    @classmethod
    def name(cls) -> Text:
        return "telegram"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "TelegramInput":
        return cls(load_settings())  # secrets come from the environment, not credentials.yml

    def __init__(self, settings: Settings) -> None:
        if not settings.telegram_token:
            raise RasaException("Telegram channel: TELEGRAM_TOKEN is not set")
        if settings.telegram_mode not in ("polling", "webhook"):
            raise RasaException(
                f"Telegram channel: TELEGRAM_MODE must be 'polling' or 'webhook', not {settings.telegram_mode!r}")
        if settings.telegram_mode == "webhook":
            if not SECRET_FORMAT.match(settings.telegram_secret_token):
                raise RasaException("Telegram channel: webhook mode needs TELEGRAM_SECRET_TOKEN "
                                    "(1-256 characters: letters, digits, _ and -)")
            if not settings.telegram_webhook_url:
                raise RasaException("Telegram channel: webhook mode needs TELEGRAM_WEBHOOK_URL, "
                                    "the public https address of /webhooks/telegram/webhook")
        telegram_texts()  # a missing or broken data file stops the start, not the first message
        # httpx logs every request URL at INFO, and the URL holds the token.
        for noisy in ("httpx", "httpcore"):
            logging.getLogger(noisy).setLevel(logging.WARNING)

        self.settings = settings
        self.mode = settings.telegram_mode
        self.bot = ExtBot(
            settings.telegram_token,
            base_url=settings.telegram_api_url,
            rate_limiter=AIORateLimiter(max_retries=3),
        )
        self.payloads = ButtonPayloads(button_store(settings))
        self.ready = asyncio.Event()
        self._updater: Optional[Updater] = None
        self._starter: Optional[asyncio.Task] = None
        self._consumer: Optional[asyncio.Task] = None
        self._in_flight: Set[asyncio.Task] = set()
        self._chat_locks: "weakref.WeakValueDictionary[int, asyncio.Lock]" = weakref.WeakValueDictionary()
        self._slots: Optional[asyncio.Semaphore] = None
        self._seen = seen_events(settings, self.name())
        bot_id = settings.telegram_token.split(":", 1)[0]  # update ids count per bot: "<bot id>:<secret>"
        self._bot_id = bot_id if bot_id.isdigit() else "bot"  # never any part of the secret in Redis
        self._on_new_message: Optional[Callable[[UserMessage], Awaitable[Any]]] = None

    def get_output_channel(self) -> Optional[OutputChannel]:
        return self._output()

    def _output(self) -> TelegramOutput:
        return TelegramOutput(self.bot, self.payloads, self.ready)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        self._on_new_message = on_new_message
        hook = Blueprint("citizen_telegram_webhook", __name__)

        @hook.listener("after_server_start")
        async def start(_app: Any, _loop: Any) -> None:
            self._slots = asyncio.Semaphore(MAX_CONCURRENT_UPDATES)
            self._starter = asyncio.create_task(self._connect())

        @hook.listener("before_server_stop")
        async def stop_receiving(_app: Any, _loop: Any) -> None:
            await self._stop_receiving()

        @hook.listener("after_server_stop")
        async def close(_app: Any, _loop: Any) -> None:
            await self._close()

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok", "mode": self.mode, "connected": self.ready.is_set()})

        if self.mode == "webhook":

            @hook.route("/webhook", methods=["POST"])
            async def receive(request: Request) -> HTTPResponse:
                return await self._receive_webhook(request)

        return hook

    # -- connecting and disconnecting ---------------------------------------------------

    async def _connect(self) -> None:
        """Connects in the background, retrying while the Bot API cannot be reached."""
        delay = 1.0
        while True:
            try:
                await self.bot.initialize()
                await self._set_commands()
                if self.mode == "webhook":
                    await self.bot.set_webhook(
                        url=self.settings.telegram_webhook_url,
                        secret_token=self.settings.telegram_secret_token,
                        allowed_updates=list(ALLOWED_UPDATES),
                    )
                elif self.settings.rasa_replica > 0:  # one poller per token: the first Rasa server's
                    logger.info("telegram: updates are polled by the first Rasa server; this one sends only")
                else:
                    if self._updater is None:
                        self._updater = Updater(self.bot, asyncio.Queue())
                        await self._updater.initialize()
                    queue = await self._updater.start_polling(
                        timeout=POLL_TIMEOUT_S,
                        allowed_updates=list(ALLOWED_UPDATES),
                        error_callback=self._polling_error,
                    )
                    self._consumer = asyncio.create_task(self._consume(queue))
                self.ready.set()
                logger.info("telegram: connected as @%s (%s)", self.bot.username, self.mode)
                return
            except InvalidToken:
                logger.error("telegram: the Bot API rejected TELEGRAM_TOKEN; the Telegram channel stays off")
                return
            except (NetworkError, RetryAfter) as error:
                logger.warning("telegram: cannot reach the Bot API (%s); retrying in %.0f s",
                               _redact(error, self.bot.token), delay)
            except TelegramError as error:  # a refusal (bad webhook URL, …): retrying will not help
                logger.error("telegram: the Bot API refused to start the channel: %s",
                             _redact(error, self.bot.token))
                return
            except asyncio.CancelledError:
                raise
            except Exception as error:
                logger.warning("telegram: start failed (%s); retrying in %.0f s",
                               _redact(error, self.bot.token), delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 60.0)

    async def _set_commands(self) -> None:
        commands = [BotCommand(name, description)
                    for name, description in telegram_texts()["commands"].items()]
        try:
            await self.bot.set_my_commands(commands)
        except TelegramError as error:  # the menu is a convenience; the bot works without it
            logger.warning("telegram: command menu not set: %s", _redact(error, self.bot.token))

    def _polling_error(self, error: TelegramError) -> None:
        logger.warning("telegram: polling failed, PTB retries: %s", _redact(error, self.bot.token))

    async def _stop_receiving(self) -> None:
        if self._starter is not None and not self._starter.done():
            self._starter.cancel()
            await asyncio.gather(self._starter, return_exceptions=True)
        if self._updater is not None and self._updater.running:
            try:
                await self._updater.stop()
            except Exception as error:
                logger.warning("telegram: polling did not stop cleanly: %s", _redact(error, self.bot.token))
        if self._consumer is not None:
            self._consumer.cancel()
            await asyncio.gather(self._consumer, return_exceptions=True)
        if self._in_flight:
            _, pending = await asyncio.wait(set(self._in_flight), timeout=10)
            for task in pending:
                task.cancel()

    async def _close(self) -> None:
        self.ready.clear()
        try:
            if self._updater is not None:
                await self._updater.shutdown()  # shuts the bot down too
            else:
                await self.bot.shutdown()
        except Exception as error:
            logger.warning("telegram: shutdown: %s", _redact(error, self.bot.token))

    # -- receiving updates ----------------------------------------------------------------

    async def _consume(self, queue: "asyncio.Queue[object]") -> None:
        while True:
            update = await queue.get()
            if isinstance(update, Update) and _well_typed(update):
                self._accept(update)

    async def _receive_webhook(self, request: Request) -> HTTPResponse:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode("utf-8"), self.settings.telegram_secret_token.encode("utf-8")):
            logger.warning("telegram: webhook call without the right secret token refused")
            return response.json({"ok": False, "error": "forbidden"}, status=403)
        try:
            body = request.json
        except Exception:  # Sanic raises on a malformed body
            body = None
        if not isinstance(body, dict) or not _is_int(body.get("update_id")):
            return response.json({"ok": False, "error": "body must be a Telegram update"}, status=400)
        try:
            update = Update.de_json(body, self.bot)
            usable = _well_typed(update)
        except Exception as error:
            logger.warning("telegram: unreadable update %s: %s", body.get("update_id"), type(error).__name__)
            usable = False
        if not usable:
            return response.json({"ok": False, "error": "body must be a Telegram update"}, status=400)
        self._accept(update)
        return response.json({"ok": True})  # answer at once; the reply follows through the Bot API

    def _accept(self, update: Update) -> None:
        # Telegram redelivers when it thinks we missed one, maybe to another Rasa server.
        if not self._seen.first_time(f"{self._bot_id}:{update.update_id}"):
            return
        task = asyncio.create_task(self._handle(update))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def _handle(self, update: Update) -> None:
        chat = update.effective_chat
        chat_id = chat.id if chat is not None else (update.effective_user.id if update.effective_user else None)
        if chat_id is None:
            return
        lock = self._chat_locks.get(chat_id)
        if lock is None:
            lock = asyncio.Lock()
            self._chat_locks[chat_id] = lock
        if self._slots is None:
            self._slots = asyncio.Semaphore(MAX_CONCURRENT_UPDATES)
        async with lock, self._slots:  # one chat's messages in order; a bounded number at once
            try:
                if update.callback_query is not None:
                    await self._on_button(chat_id, update.callback_query)
                elif update.message is not None:
                    await self._on_message(chat_id, update.message)
            except Exception:
                logger.exception("telegram: update %s could not be handled", update.update_id)

    async def _on_message(self, chat_id: int, message: TelegramMessage) -> None:
        output = self._output()
        messages = telegram_texts()["messages"]
        if message.text is None:
            if message.effective_attachment is not None:  # photo, sticker, file, voice, location…
                await output.send_text_message(str(chat_id), messages["text_only"])
            return  # service messages (someone joined, a pinned message) need no answer
        text = message.text.strip()
        if text.startswith("/"):
            command = text[1:].split(maxsplit=1)[0].split("@", 1)[0].lower() if len(text) > 1 else ""
            if command == "start":
                await self._to_rasa(chat_id, START_PAYLOAD, output, clean=False)
                return
            if command == "help":
                await output.send_text_message(str(chat_id), messages["help"])
                return
            # Typed text never carries a Rasa payload ("/intent{...}"): only buttons do.
            text = text.lstrip("/")
            if not text.strip():
                await output.send_text_message(str(chat_id), messages["help"])
                return
        await self._to_rasa(chat_id, text, output)

    async def _on_button(self, chat_id: int, query: CallbackQuery) -> None:
        output = self._output()
        await output.api_call("answerCallbackQuery", self.bot.answer_callback_query(query.id))
        payload = self.payloads.payload(query.data) if query.data else None
        if not payload:
            await output.send_text_message(str(chat_id), telegram_texts()["messages"]["button_expired"])
            return
        await self._to_rasa(chat_id, payload, output, clean=False)

    async def _to_rasa(self, chat_id: int, text: str, output: TelegramOutput, clean: bool = True) -> None:
        assert self._on_new_message is not None
        recipient = str(chat_id)
        await deliver(Incoming(self.name(), recipient, text, output,
                              lambda notice: output.send_text_message(recipient, notice),
                              lambda: output.responses > 0, clean=clean), self._on_new_message)
