"""A local fake of the Telegram Bot API, close enough that the real python-telegram-bot runs on it.

Runs on a free port in a thread. `POST /bot<token>/<method>` with form, JSON or multipart
parameters, answers `{"ok": true, "result": ...}` or Telegram's error shape. getUpdates long-polls,
numbers updates in order, forgets them once a later call confirms them with `offset`, and
refuses to run while a webhook is set (409), like Telegram. sendMessage checks the limits
(text 1-4,096 UTF-16 units, callback_data 1-64 bytes) and records each message per chat so
tests can wait for the assistant's answers. A wrong token gets 404, as on Telegram.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import parse_qs

from tests.fakes.server import ApiServer

BOT_USER = {"id": 123, "is_bot": True, "first_name": "Trợ lý dịch vụ công", "username": "dichvucong_test_bot",
            "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}
JSON_FIELDS = {"reply_markup", "allowed_updates", "commands", "link_preview_options", "entities",
               "reply_parameters", "scope"}
INT_FIELDS = {"chat_id", "offset", "limit", "timeout", "message_id", "max_connections"}
MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64

_ids = itertools.count(1)


def _citizen(chat_id: int) -> Dict[str, Any]:
    return {"id": chat_id, "is_bot": False, "first_name": "Công dân", "language_code": "vi"}


def _chat(chat_id: int) -> Dict[str, Any]:
    return {"id": chat_id, "type": "private", "first_name": "Công dân"}


def text_update(chat_id: int, text: str, update_id: int = 0) -> Dict[str, Any]:
    """An update for a text message from a citizen (commands carry a bot_command entity)."""
    message: Dict[str, Any] = {"message_id": next(_ids), "date": int(time.time()), "chat": _chat(chat_id),
                               "from": _citizen(chat_id), "text": text}
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {"update_id": update_id, "message": message}


def photo_update(chat_id: int, update_id: int = 0) -> Dict[str, Any]:
    sizes = [{"file_id": f"photo-{n}", "file_unique_id": f"u-{n}", "width": w, "height": w, "file_size": w * 40}
             for n, w in enumerate((90, 320, 800))]
    return {"update_id": update_id, "message": {"message_id": next(_ids), "date": int(time.time()),
                                                "chat": _chat(chat_id), "from": _citizen(chat_id), "photo": sizes}}


def sticker_update(chat_id: int, update_id: int = 0) -> Dict[str, Any]:
    sticker = {"file_id": "sticker-1", "file_unique_id": "su-1", "type": "regular", "width": 512, "height": 512,
               "is_animated": False, "is_video": False, "emoji": "👍"}
    return {"update_id": update_id, "message": {"message_id": next(_ids), "date": int(time.time()),
                                                "chat": _chat(chat_id), "from": _citizen(chat_id), "sticker": sticker}}


def callback_update(chat_id: int, data: str, update_id: int = 0) -> Dict[str, Any]:
    """A press on an inline button of a message the bot sent earlier."""
    message = {"message_id": next(_ids), "date": int(time.time()), "chat": _chat(chat_id), "from": BOT_USER,
               "text": "…"}
    return {"update_id": update_id, "callback_query": {"id": f"cq-{next(_ids)}", "from": _citizen(chat_id),
                                                       "chat_instance": f"ci-{chat_id}", "message": message,
                                                       "data": data}}


class FakeTelegramApi:
    def __init__(self, token: str = "123:TEST") -> None:
        self.token = token
        self.calls: List[Tuple[str, Dict[str, Any]]] = []   # every accepted call: method, parameters
        self.attempts: List[Tuple[str, Dict[str, Any]]] = []  # every call, refused ones too
        self.webhook: Dict[str, Any] = {}                   # the current setWebhook parameters
        self.failures: Dict[str, List[Tuple[int, str, Optional[int]]]] = {}  # method -> errors to answer next
        self._updates: List[Dict[str, Any]] = []
        self._next_update_id = 1000
        self._sent: Dict[int, List[Dict[str, Any]]] = {}
        self._changed = threading.Condition()
        self._server = ApiServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # --- control ------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def api_url(self) -> str:
        """What TELEGRAM_API_URL should be: PTB appends the token and the method."""
        return f"http://127.0.0.1:{self.port}/bot"

    def start(self) -> "FakeTelegramApi":
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._changed:
            self._changed.notify_all()
        self._server.shutdown()
        self._server.server_close()

    def fail_next(self, method: str, status: int, description: str, retry_after: Optional[int] = None) -> None:
        """Answer the next call of `method` with an error, as Telegram would."""
        with self._changed:
            self.failures.setdefault(method, []).append((status, description, retry_after))

    # --- updates from citizens ----------------------------------------------------------
    def push(self, update: Dict[str, Any]) -> int:
        with self._changed:
            update = {**update, "update_id": self._next_update_id}
            self._next_update_id += 1
            self._updates.append(update)
            self._changed.notify_all()
            return update["update_id"]

    def push_text(self, chat_id: int, text: str) -> int:
        return self.push(text_update(chat_id, text))

    def push_callback(self, chat_id: int, data: str) -> int:
        return self.push(callback_update(chat_id, data))

    def push_photo(self, chat_id: int) -> int:
        return self.push(photo_update(chat_id))

    def push_sticker(self, chat_id: int) -> int:
        return self.push(sticker_update(chat_id))

    def pending_updates(self) -> int:
        with self._changed:
            return len(self._updates)

    # --- what the bot did ---------------------------------------------------------------
    def calls_to(self, method: str) -> List[Dict[str, Any]]:
        with self._changed:
            return [params for name, params in self.calls if name == method]

    def attempts_to(self, *methods: str) -> List[Dict[str, Any]]:
        """Every call of these methods, the ones the fake refused (a chat not found...) too."""
        with self._changed:
            return [params for name, params in self.attempts if name in methods]

    def sent_messages(self, chat_id: int) -> List[Dict[str, Any]]:
        with self._changed:
            return list(self._sent.get(int(chat_id), []))

    def wait_for_messages(self, chat_id: int, n: int, timeout: float = 30) -> List[Dict[str, Any]]:
        """The first `n` messages sent to `chat_id`; AssertionError when fewer arrive in time."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self._sent.get(int(chat_id), [])) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{n} message(s) expected for chat {chat_id} within {timeout} s, "
                                         f"got {self._sent.get(int(chat_id), [])}")
                self._changed.wait(left)
            return list(self._sent[int(chat_id)])

    def wait_for_call(self, method: str, timeout: float = 30) -> Dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [params for name, params in self.calls if name == method]
                if found:
                    return found[-1]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {method} call within {timeout} s")
                self._changed.wait(left)

    # --- the Bot API --------------------------------------------------------------------
    def _call(self, method: str, params: Dict[str, Any]) -> Tuple[int, Dict[str, Any]]:
        with self._changed:
            self.attempts.append((method, params))
            queued = self.failures.get(method)
            if queued:
                status, description, retry_after = queued.pop(0)
                error: Dict[str, Any] = {"ok": False, "error_code": status, "description": description}
                if retry_after is not None:
                    error["parameters"] = {"retry_after": retry_after}
                return status, error
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        outcome = handler(params)
        if isinstance(outcome, tuple):
            return outcome
        with self._changed:
            self.calls.append((method, params))
            self._changed.notify_all()
        return 200, {"ok": True, "result": outcome}

    @staticmethod
    def _bad(description: str) -> Tuple[int, Dict[str, Any]]:
        return 400, {"ok": False, "error_code": 400, "description": f"Bad Request: {description}"}

    def _api_getMe(self, params: Dict[str, Any]) -> Any:
        return BOT_USER

    def _api_logOut(self, params: Dict[str, Any]) -> Any:
        return True

    def _api_close(self, params: Dict[str, Any]) -> Any:
        return True

    def _api_setMyCommands(self, params: Dict[str, Any]) -> Any:
        commands = params.get("commands")
        if not isinstance(commands, list) or not all(
            isinstance(c, dict) and c.get("command") and 1 <= len(c.get("description", "")) <= 256 for c in commands
        ):
            return self._bad("invalid commands")
        return True

    def _api_getMyCommands(self, params: Dict[str, Any]) -> Any:
        sets = self.calls_to("setMyCommands")
        return sets[-1]["commands"] if sets else []

    def _api_setWebhook(self, params: Dict[str, Any]) -> Any:
        if not params.get("url"):
            return self._bad("bad webhook: URL must be provided")
        with self._changed:
            self.webhook = dict(params)
        return True

    def _api_deleteWebhook(self, params: Dict[str, Any]) -> Any:
        with self._changed:
            self.webhook = {}
            if params.get("drop_pending_updates") in (True, "true", "True"):
                self._updates.clear()
        return True

    def _api_getWebhookInfo(self, params: Dict[str, Any]) -> Any:
        with self._changed:
            return {"url": self.webhook.get("url", ""), "has_custom_certificate": False,
                    "pending_update_count": len(self._updates)}

    def _api_getUpdates(self, params: Dict[str, Any]) -> Any:
        offset = params.get("offset")
        limit = min(int(params.get("limit") or 100), 100)
        timeout = max(0, min(int(params.get("timeout") or 0), 50))
        allowed = params.get("allowed_updates") or None
        deadline = time.monotonic() + timeout
        with self._changed:
            if self.webhook.get("url"):
                return 409, {"ok": False, "error_code": 409, "description": "Conflict: can't use getUpdates method "
                             "while webhook is active; use deleteWebhook to delete the webhook first"}
            if isinstance(offset, int) and offset > 0:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]  # confirmed
            while True:
                ready = [u for u in self._updates
                         if allowed is None or any(kind in u for kind in allowed)][:limit]
                left = deadline - time.monotonic()
                if ready or left <= 0:
                    return ready
                self._changed.wait(left)

    def _api_sendMessage(self, params: Dict[str, Any]) -> Any:
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            return self._bad("message text is empty")
        if len(text.encode("utf-16-le")) // 2 > MAX_TEXT:
            return self._bad("message is too long")
        markup = params.get("reply_markup")
        for row in (markup or {}).get("inline_keyboard", []):
            for button in row:
                if "url" not in button:
                    data = button.get("callback_data", "")
                    if not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA:
                        return self._bad("BUTTON_DATA_INVALID")
        return self._record(params, {"text": text, **({"reply_markup": markup} if markup else {})})

    def _api_sendPhoto(self, params: Dict[str, Any]) -> Any:
        return self._record(params, {"photo": [{"file_id": "sent-photo", "file_unique_id": "sp",
                                                "width": 800, "height": 600}]})

    def _api_answerCallbackQuery(self, params: Dict[str, Any]) -> Any:
        if not params.get("callback_query_id"):
            return self._bad("query is too old and response timeout expired or query ID is invalid")
        return True

    def _api_sendChatAction(self, params: Dict[str, Any]) -> Any:
        return True

    def _api_editMessageReplyMarkup(self, params: Dict[str, Any]) -> Any:
        return True

    def _record(self, params: Dict[str, Any], content: Dict[str, Any]) -> Any:
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, int):
            return self._bad("chat not found")
        message = {"message_id": next(_ids), "date": int(time.time()), "chat": _chat(chat_id), "from": BOT_USER,
                   **content}
        with self._changed:
            self._sent.setdefault(chat_id, []).append({**params, "message_id": message["message_id"]})
        return message

    # --- HTTP ---------------------------------------------------------------------------
    def _handler(self) -> type:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as httpx expects

            def log_message(self, *_: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._serve()

            def do_POST(self) -> None:
                self._serve()

            def _serve(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                parts = self.path.split("?", 1)[0].split("/")
                # /bot<token>/<method>
                if len(parts) != 3 or not parts[1].startswith("bot") or parts[1][3:] != fake.token:
                    self._answer(404, {"ok": False, "error_code": 404, "description": "Not Found"})
                    return
                try:
                    params = self._parameters(raw)
                except ValueError:
                    self._answer(400, {"ok": False, "error_code": 400, "description": "Bad Request: bad parameters"})
                    return
                status, body = fake._call(parts[2], params)
                self._answer(status, body)

            def _parameters(self, raw: bytes) -> Dict[str, Any]:
                kind = self.headers.get("Content-Type", "")
                query = self.path.split("?", 1)[1] if "?" in self.path else ""
                fields: Dict[str, Any] = {k: v[-1] for k, v in parse_qs(query).items()}
                if kind.startswith("application/json"):
                    fields.update(json.loads(raw or b"{}"))
                    return fields
                if kind.startswith("multipart/form-data"):
                    fields.update(_multipart(raw, kind))
                elif raw:
                    fields.update({k: v[-1] for k, v in parse_qs(raw.decode("utf-8"), keep_blank_values=True).items()})
                for name, value in list(fields.items()):
                    if not isinstance(value, str):
                        continue
                    if name in JSON_FIELDS:
                        fields[name] = json.loads(value)
                    elif name in INT_FIELDS and value.lstrip("-").isdigit():
                        fields[name] = int(value)
                return fields

            def _answer(self, status: int, body: Dict[str, Any]) -> None:
                data = json.dumps(body, ensure_ascii=False).encode("utf-8")
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a long poll cancelled at shutdown)

        return Handler


def _multipart(raw: bytes, content_type: str) -> Dict[str, str]:
    """Text fields of a multipart body (files are not kept)."""
    boundary = content_type.split("boundary=", 1)[1].strip('"').encode()
    fields: Dict[str, str] = {}
    for part in raw.split(b"--" + boundary):
        head, _, body = part.partition(b"\r\n\r\n")
        if b'name="' not in head:
            continue
        name = head.split(b'name="', 1)[1].split(b'"', 1)[0].decode()
        if b"filename=" not in head:
            fields[name] = body.rstrip(b"\r\n").decode("utf-8")
    return fields
