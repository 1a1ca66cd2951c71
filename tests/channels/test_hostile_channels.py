"""Hostile input on the Telegram webhook, the Zalo webhook and socket.io of a running assistant.

Hypothesis generates requests that are wrong in one place each (a type the API never sends, an
id that is no id, a text that is not text, JSON of any shape, bytes), with the right Telegram
secret and a valid Zalo signature so that the body is really read. What a citizen or an
operator would notice if it broke: a server error, something of a refused request stored in the
conversations or said to somebody, or the assistant not answering the next citizen. Hand-picked
cases add what generators rarely hit (lone surrogates, NUL, zero-width and right-to-left marks,
10,000 characters, a body over MAX_REQUEST_BYTES), and a flood on each channel is told once and
then dropped, without touching another citizen.
"""

from __future__ import annotations

import itertools
import json
import random
import sqlite3
import time
import urllib.error
import urllib.request
from typing import Any, Callable, Dict, Iterator, List, Tuple, Union

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ROOT, Assistant
from tests.fakes.telegram_api import FakeTelegramApi, callback_update, text_update
from tests.fakes.widget import Widget
from tests.fakes.zalo_api import FakeZaloApi, signature, signed_event, zalo_event

pytestmark = pytest.mark.integration

TOKEN = "123:TEST"
SECRET = "hostile-Secret_42"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
OA_SECRET = "oasecret"
LIMIT, WINDOW_S = 3, 3600          # the rate limit of this stack: 3 messages per sender per hour
TEXTS = yaml.safe_load((ROOT / "data" / "texts" / "channels.yml").read_text(encoding="utf-8"))["messages"]
VIETNAMESE = set("ạảãáàặẳẵắằậẩẫấầẹẻẽéèệểễếềịỉĩíìọỏõóòộổỗốồợởỡớờụủũúùựửữứừỵỷỹýỳđ")
SENT_METHODS = ("sendMessage", "sendPhoto", "answerCallbackQuery")

_update_ids = itertools.count(random.randrange(10 ** 6, 10 ** 8))
_chat_ids = itertools.count(random.randrange(10 ** 6, 10 ** 8))


class Stack:
    """One assistant with the three channels, a fake Bot API and a fake Zalo API."""

    def __init__(self) -> None:
        (ROOT / "results").mkdir(exist_ok=True)
        self.telegram = FakeTelegramApi(TOKEN).start()
        self.zalo = FakeZaloApi(app_id="app1", app_secret="appsecret", access_token="tok1",
                                refresh_token="ref1").start()
        self.assistant = Assistant(extra_env={
            "TELEGRAM_TOKEN": TOKEN, "TELEGRAM_API_URL": self.telegram.api_url, "TELEGRAM_MODE": "webhook",
            "TELEGRAM_SECRET_TOKEN": SECRET, "TELEGRAM_WEBHOOK_URL": "https://tro-ly.example.invalid/webhooks/telegram",
            "ZALO_APP_ID": "app1", "ZALO_APP_SECRET": "appsecret", "ZALO_OA_SECRET_KEY": OA_SECRET,
            "ZALO_ACCESS_TOKEN": "tok1", "ZALO_REFRESH_TOKEN": "ref1",
            "ZALO_API_URL": self.zalo.url, "ZALO_OAUTH_URL": self.zalo.url,
            "RATE_LIMIT_MESSAGES": str(LIMIT), "RATE_LIMIT_WINDOW_S": str(WINDOW_S),
        })

    def stop(self) -> None:
        self.assistant.stop()
        self.telegram.stop()
        self.zalo.stop()


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    started = Stack()
    try:
        started.assistant.wait_ready()
        started.telegram.wait_for_call("setWebhook", timeout=60)
        yield started
    finally:
        started.stop()


# --- talking to the channels ------------------------------------------------------------------


def post(url: str, raw: bytes, headers: Dict[str, str]) -> Tuple[int, Any]:
    request = urllib.request.Request(url, data=raw, headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, _json(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, _json(error.read())


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw or b"null")
    except ValueError:
        return raw.decode("utf-8", "replace")


def to_telegram(stack: Stack, body: Union[bytes, Dict[str, Any]]) -> Tuple[int, Any]:
    """A webhook call as Telegram makes it, right secret included (JSON escapes keep surrogates)."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return post(f"{stack.assistant.url}/webhooks/telegram/webhook", raw, {SECRET_HEADER: SECRET})


def to_zalo(stack: Stack, event: Union[bytes, Dict[str, Any]]) -> Tuple[int, Any]:
    """A webhook call signed as Zalo signs it (bytes: signed as if app1 sent them now)."""
    if isinstance(event, bytes):
        mac = signature("app1", event, str(int(time.time() * 1000)), OA_SECRET)
        return post(f"{stack.assistant.url}/webhooks/zalo/webhook", event, {"X-ZEvent-Signature": f"mac={mac}"})
    raw, headers = signed_event(event, OA_SECRET, ascii_only=True)
    return post(f"{stack.assistant.url}/webhooks/zalo/webhook", raw, headers)


def stored(stack: Stack, sender: Any = None) -> List[Tuple[str, str]]:
    """(sender, text) of the citizens' messages in the tracker store; of one sender if given."""
    db = sqlite3.connect(f"file:{stack.assistant.var / 'rasa-tracker.db'}?mode=ro", uri=True, timeout=10)
    try:
        rows = db.execute("SELECT sender_id, data FROM events WHERE type_name = 'user' ORDER BY id").fetchall()
    finally:
        db.close()
    found = [(sender_id, json.loads(data).get("text")) for sender_id, data in rows]
    return [row for row in found if sender is None or row[0] == str(sender)]


def activity(stack: Stack) -> Tuple[int, int, int]:
    """Messages stored, Bot API calls that send, Zalo message calls: what a refused request must not change."""
    return len(stored(stack)), len(stack.telegram.attempts_to(*SENT_METHODS)), len(stack.zalo.calls)


def settled(stack: Stack, quiet_s: float = 1.0, timeout: float = 60) -> Tuple[int, int, int]:
    """`activity` once nothing has changed for `quiet_s` (answers run in the background)."""
    deadline = time.monotonic() + timeout
    last, since = activity(stack), time.monotonic()
    while time.monotonic() - since < quiet_s:
        assert time.monotonic() < deadline, "the assistant never went quiet"
        time.sleep(0.2)
        now = activity(stack)
        if now != last:
            last, since = now, time.monotonic()
    return last


def fresh_window() -> None:
    """Start a flood well inside one rate-limit window (the limit counts fixed windows)."""
    left = WINDOW_S - time.time() % WINDOW_S
    if left < 20:
        time.sleep(left + 0.5)


def telegram_texts(stack: Stack, chat_id: int, n: int = 1, timeout: float = 60) -> List[str]:
    stack.telegram.wait_for_messages(chat_id, n, timeout)
    return [m["text"] for m in stack.telegram.sent_messages(chat_id)]


def zalo_texts(stack: Stack, user_id: str, n: int = 1, timeout: float = 60) -> List[str]:
    return [m.get("text", "") for m in stack.zalo.wait_for(user_id, n, timeout)]


def polite(texts: List[str]) -> bool:
    """An answer a citizen can read: Vietnamese, no trace of a crash."""
    joined = " ".join(texts)
    return bool(VIETNAMESE & set(joined)) and "Traceback" not in joined and "Exception" not in joined


# --- what hypothesis generates ------------------------------------------------------------------

ANY_TEXT = st.text(alphabet=st.characters(blacklist_categories=()), max_size=120)  # surrogates too
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4),
    max_leaves=10,
)
NOT_INT = JSON.filter(lambda v: not isinstance(v, int) or isinstance(v, bool))
NOT_STR = JSON.filter(lambda v: not isinstance(v, str))
NOT_DICT = JSON.filter(lambda v: not isinstance(v, dict))
# Ids no channel issues: lone surrogates, NUL, control and direction marks, empty, too long, not text.
HOSTILE_IDS = st.one_of(
    st.sampled_from(["", " ", "\ud800", "u\udfff1", "a\x00b", "u\n1", "\u202eu1", "u\u200b1", "[1]",
                     "x" * 10_000, "người-dùng"]),
    JSON.filter(lambda v: not isinstance(v, (str, int)) or isinstance(v, bool)),
)
HOSTILE_TEXTS = {
    "lone-surrogates": "\ud800 đăng ký khai sinh \udfff",
    "zero-width": "đăng\u200bký\u200c khai\u200dsinh\ufeff cần giấy tờ gì",
    "right-to-left": "\u202eđk kết hôn cần j\u202c \u200fمرحبا",
    "nul-and-controls": "xin\x00 chào\x07\x1b[31m",
    "10000-chars": "làm giấy khai sinh ở đâu " * 400,
    "emoji-only": "😀" * 50,
}


def replaced(build: Callable[[], Dict[str, Any]], *path: str) -> Callable[[Any], Dict[str, Any]]:
    """A function putting a value at `path` of a fresh valid body."""
    def put(value: Any) -> Dict[str, Any]:
        body = build()
        holder = body
        for key in path[:-1]:
            holder = holder[key]
        holder[path[-1]] = value
        return body
    return put


def _update() -> Dict[str, Any]:
    return text_update(next(_chat_ids), "xin chào", update_id=next(_update_ids))


def _button() -> Dict[str, Any]:
    return callback_update(next(_chat_ids), "/greet", update_id=next(_update_ids))


TELEGRAM_GARBAGE = st.one_of(
    st.binary(max_size=200),
    JSON.map(lambda value: json.dumps(value).encode()),
    NOT_INT.map(replaced(_update, "update_id")),
    NOT_DICT.map(replaced(_update, "message")),
    NOT_DICT.map(replaced(_update, "message", "chat")),
    NOT_INT.map(replaced(_update, "message", "chat", "id")),
    NOT_INT.map(replaced(_update, "message", "from", "id")),
    NOT_STR.map(replaced(_update, "message", "text")),
    NOT_STR.filter(lambda v: v is not None).map(replaced(_button, "callback_query", "data")),
    NOT_STR.map(replaced(_button, "callback_query", "id")),
)


def _event() -> Dict[str, Any]:
    return zalo_event("user_send_text", f"fz-{next(_chat_ids)}", "xin chào")


def _handled_name(value: Any) -> bool:
    return isinstance(value, str) and (value == "follow" or value.startswith("user_send_"))


ZALO_GARBAGE = st.one_of(
    st.binary(max_size=200),
    st.dictionaries(ANY_TEXT, JSON, max_size=4).map(
        lambda extra: {**extra, "app_id": "app1", "timestamp": str(int(time.time() * 1000))}),
    JSON.filter(lambda v: not _handled_name(v)).map(replaced(_event, "event_name")),
    NOT_DICT.map(replaced(_event, "sender")),
    HOSTILE_IDS.map(replaced(_event, "sender", "id")),
    NOT_DICT.map(replaced(_event, "message")),
    NOT_STR.map(replaced(_event, "message", "text")),
    st.sampled_from(["0", "1", "abc", "", "\ud800", "1e5", str(int(time.time() * 1000) - 2 * 86400_000),
                     str(int(time.time() * 1000) + 2 * 86400_000)]).map(replaced(_event, "timestamp")),
    st.one_of(st.sampled_from(["app2", "", "\ud800"]), NOT_INT).map(replaced(_event, "app_id")),
)

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                                      HealthCheck.data_too_large])


# --- Telegram ---------------------------------------------------------------------------------


def test_telegram_garbage_is_refused_and_nothing_is_stored_or_sent(stack):
    before = settled(stack)
    statuses: Dict[int, int] = {}

    @settings(max_examples=120, **SETTINGS)
    @given(body=TELEGRAM_GARBAGE)
    def post_garbage(body: Union[bytes, Dict[str, Any]]) -> None:
        status, answer = to_telegram(stack, body)
        statuses[status] = statuses.get(status, 0) + 1
        assert status in (200, 400), (status, answer, body)
        assert isinstance(answer, dict) and answer["ok"] is (status == 200), answer

    post_garbage()
    assert statuses.get(400), statuses  # the bodies were read, not turned away at the door
    assert settled(stack) == before, "a refused update was stored or answered"
    chat = next(_chat_ids)
    assert to_telegram(stack, text_update(chat, "xin chào", update_id=next(_update_ids)))[0] == 200
    assert "Xin chào" in telegram_texts(stack, chat)[0]


MALFORMED_UPDATES = {
    "malformed": b"{not json", "empty": b"", "null": b"null", "array": b"[]", "string": b'"update"',
    "nested-100k": b"[" * 50_000 + b"]" * 50_000,
    "update-id-string": b'{"update_id": "7"}', "update-id-float": b'{"update_id": 7.5}',
    "update-id-true": b'{"update_id": true, "message": {"message_id": 1, "date": 1, '
                      b'"chat": {"id": 42, "type": "private"}, "text": "xin chao"}}',
    "message-array": b'{"update_id": 99, "message": [1, 2]}',
    "chat-string": b'{"update_id": 99, "message": {"message_id": 1, "date": 1, "chat": "42", "text": "x"}}',
    "chat-id-string": b'{"update_id": 99, "message": {"message_id": 1, "date": 1, '
                      b'"chat": {"id": "42", "type": "private"}, "text": "xin chao"}}',
    "no-chat": b'{"update_id": 99, "message": {"message_id": 1, "date": 1, '
               b'"from": {"id": 42, "is_bot": false, "first_name": "x"}, "text": "xin chao"}}',
    "date-string": b'{"update_id": 99, "message": {"message_id": 1, "date": "today", '
                   b'"chat": {"id": 42, "type": "private"}}}',
    "entities-string": b'{"update_id": 99, "message": {"message_id": 1, "date": 1, '
                       b'"chat": {"id": 42, "type": "private"}, "text": "xin chao", "entities": "bold"}}',
    "button-data-list": json.dumps(replaced(_button, "callback_query", "data")([1])).encode(),
}


def test_telegram_malformed_updates_get_a_400(stack):
    before = settled(stack, quiet_s=0.5)
    for name, raw in MALFORMED_UPDATES.items():
        status, answer = to_telegram(stack, raw)
        assert (status, answer) == (400, {"ok": False, "error": "body must be a Telegram update"}), name
    assert settled(stack) == before


def test_telegram_hostile_text_is_answered_politely(stack):
    chats = {name: next(_chat_ids) for name in HOSTILE_TEXTS}
    for name, text in HOSTILE_TEXTS.items():
        assert to_telegram(stack, text_update(chats[name], text, update_id=next(_update_ids)))[0] == 200, name
    for name, chat in chats.items():
        texts = telegram_texts(stack, chat)
        assert polite(texts), (name, texts)
    assert "Đăng ký khai sinh" in " ".join(telegram_texts(stack, chats["10000-chars"]))


def test_telegram_oversized_body_gets_413_and_the_citizen_is_answered_after(stack):
    chat = next(_chat_ids)
    before = settled(stack, quiet_s=0.5)
    status, _ = to_telegram(stack, text_update(chat, "a" * 1_100_000, update_id=next(_update_ids)))
    assert status == 413
    assert settled(stack, quiet_s=0.5) == before
    assert to_telegram(stack, text_update(chat, "xin chào", update_id=next(_update_ids)))[0] == 200
    assert "Xin chào" in telegram_texts(stack, chat)[0]


# --- Zalo ---------------------------------------------------------------------------------------


def test_zalo_garbage_is_ignored_and_nothing_is_stored_or_sent(stack):
    before = settled(stack)
    statuses: Dict[Any, int] = {}

    @settings(max_examples=120, **SETTINGS)
    @given(event=ZALO_GARBAGE)
    def post_garbage(event: Union[bytes, Dict[str, Any]]) -> None:
        status, answer = to_zalo(stack, event)
        key = answer.get("status", status) if isinstance(answer, dict) else status
        statuses[key] = statuses.get(key, 0) + 1
        assert status in (200, 400, 401), (status, answer, event)
        assert status != 200 or answer == {"status": "ignored"}, (answer, event)

    post_garbage()
    assert statuses.get("ignored", 0) >= 30, statuses  # signed: the events were read and judged
    assert settled(stack) == before, "an ignored event was stored or answered"
    user = f"fz-after-{next(_chat_ids)}"
    assert to_zalo(stack, zalo_event("user_send_text", user, "xin chào")) == (200, {"status": "accepted"})
    assert "trợ lý dịch vụ công" in " ".join(zalo_texts(stack, user))


MALFORMED_EVENTS = {"malformed": b"{not json", "empty": b"", "array": b"[]", "null": b"null",
                    "nested-100k": b"[" * 50_000 + b"]" * 50_000, "not-utf8": b"\xff\xfe\x00",
                    "surrogate-ids": b'{"app_id": "\\ud800", "timestamp": "\\udfff"}'}


def test_zalo_malformed_bodies_are_refused(stack):
    before = settled(stack, quiet_s=0.5)
    for name, raw in MALFORMED_EVENTS.items():
        status, answer = to_zalo(stack, raw)
        assert status in (400, 401) and "error" in answer, (name, status, answer)
    assert settled(stack) == before


def test_zalo_hostile_text_is_answered_politely(stack):
    users = {name: f"fz-text-{next(_chat_ids)}" for name in HOSTILE_TEXTS}
    for name, text in HOSTILE_TEXTS.items():
        assert to_zalo(stack, zalo_event("user_send_text", users[name], text))[1] == {"status": "accepted"}, name
    for name, user in users.items():
        texts = zalo_texts(stack, user)
        assert polite(texts), (name, texts)
    settled(stack)
    assert "Đăng ký khai sinh" in " ".join(m.get("text", "") for m in stack.zalo.sent_to(users["10000-chars"]))


def test_zalo_hostile_message_ids_are_answered_once(stack):
    users = {}
    for msg_id in ("\ud800", "m\x00", "x" * 10_000, "[1]"):
        user = users[msg_id] = f"fz-msgid-{next(_chat_ids)}"
        event = zalo_event("user_send_text", user, "xin chào", msg_id=msg_id)
        assert to_zalo(stack, event) == (200, {"status": "accepted"})
        assert to_zalo(stack, event) == (200, {"status": "duplicate"})  # Zalo's retry
    settled(stack)
    for user in users.values():
        assert "trợ lý dịch vụ công" in " ".join(m.get("text", "") for m in stack.zalo.sent_to(user))
        assert [text for _, text in stored(stack, user)] == ["xin chào"]


def test_a_captured_zalo_event_replayed_two_days_later_is_ignored(stack):
    user = f"fz-old-{next(_chat_ids)}"
    event = zalo_event("user_send_text", user, "xin chào")
    event["timestamp"] = str(int(time.time() * 1000) - 2 * 86400_000)
    assert to_zalo(stack, event) == (200, {"status": "ignored"})
    time.sleep(1)
    assert stack.zalo.sent_to(user) == [] and stored(stack, user) == []


def test_zalo_oversized_body_gets_413_and_the_citizen_is_answered_after(stack):
    user = f"fz-big-{next(_chat_ids)}"
    before = settled(stack, quiet_s=0.5)
    assert to_zalo(stack, zalo_event("user_send_text", user, "a" * 1_100_000))[0] == 413
    assert settled(stack, quiet_s=0.5) == before
    assert to_zalo(stack, zalo_event("user_send_text", user, "xin chào"))[1] == {"status": "accepted"}
    assert "trợ lý dịch vụ công" in " ".join(zalo_texts(stack, user))


# --- socket.io (the website widget) -------------------------------------------------------------


@pytest.fixture(scope="module")
def widget(stack) -> Iterator[Widget]:
    client = Widget(stack.assistant.url)
    yield client
    client.close()


def _json_object(value: Any) -> bool:
    try:
        return isinstance(json.loads(value), dict)
    except (TypeError, ValueError, RecursionError):
        return False


def socket_garbage(session_id: str) -> st.SearchStrategy:
    bad_session = st.one_of(NOT_STR, st.text(min_size=129, max_size=300),
                            st.text(alphabet=st.characters(whitelist_categories=("Cs", "Cc", "Zs")), min_size=1))
    return st.one_of(
        NOT_DICT,
        NOT_STR.map(lambda message: {"message": message, "session_id": session_id}),
        bad_session.map(lambda bad: {"message": "xin chào", "session_id": bad}),
        st.one_of(NOT_DICT.filter(lambda v: v is not None and not _json_object(v)), st.just("not json"),
                  st.just("[1, 2]")).map(
            lambda metadata: {"message": "xin chào", "session_id": session_id, "metadata": metadata}),
    )


def test_socketio_garbage_is_dropped_and_the_same_connection_is_answered_after(stack, widget):
    before = settled(stack)

    @settings(max_examples=60, **SETTINGS)
    @given(data=st.data())
    def emit_garbage(data: st.DataObject) -> None:
        event = data.draw(st.sampled_from(["user_uttered", "session_request"]))
        payload = data.draw(socket_garbage(widget.session_id) if event == "user_uttered" else JSON)
        widget.client.call(event, payload, timeout=10)  # the acknowledgement: the server has handled it

    emit_garbage()
    assert settled(stack) == before, "a dropped event was stored"
    assert widget.received == [], "a dropped event was answered"
    assert any("Xin chào" in text for text in widget.say("xin chào"))


def test_socketio_hostile_text_is_answered_politely(stack):
    for name, text in HOSTILE_TEXTS.items():
        citizen = Widget(stack.assistant.url)  # a session per case: the limit is 3 messages per session
        try:
            texts = citizen.say(text)
        finally:
            citizen.close()
        assert polite(texts), (name, texts)
        if name == "10000-chars":
            assert "Đăng ký khai sinh" in " ".join(texts)


def test_socketio_oversized_message_gets_413_and_the_connection_goes_on(stack):
    citizen = Widget(stack.assistant.url)
    try:
        before = settled(stack, quiet_s=0.5)
        # What the client would POST for one user_uttered over long polling, over MAX_REQUEST_BYTES.
        packet = "42" + json.dumps(["user_uttered", {"message": "a" * 1_100_000, "session_id": citizen.session_id}])
        status, _ = post(f"{stack.assistant.url}/socket.io/?EIO=4&transport=polling&sid={citizen.client.eio.sid}",
                         packet.encode(), {"Content-Type": "text/plain;charset=UTF-8"})
        assert status == 413
        assert settled(stack) == before and citizen.received == []
        assert any("Xin chào" in text for text in citizen.say("xin chào"))
    finally:
        citizen.close()


# --- floods: told once, then dropped, nobody else touched -----------------------------------------


def test_a_telegram_flood_is_told_once_and_not_stored(stack):
    flooder, neighbour = next(_chat_ids), next(_chat_ids)
    fresh_window()
    for i in range(LIMIT + 3):
        assert to_telegram(stack, text_update(flooder, f"xin chào {i}", update_id=next(_update_ids)))[0] == 200
    settled(stack)
    texts = [m["text"] for m in stack.telegram.sent_messages(flooder)]
    assert texts.count(TEXTS["rate_limited"]) == 1 and texts[-1] == TEXTS["rate_limited"], texts
    assert [text for _, text in stored(stack, flooder)] == [f"xin chào {i}" for i in range(LIMIT)]
    assert to_telegram(stack, text_update(neighbour, "xin chào", update_id=next(_update_ids)))[0] == 200
    assert "Xin chào" in telegram_texts(stack, neighbour)[0]


def test_a_zalo_flood_is_told_once_and_not_stored(stack):
    flooder, neighbour = f"fz-flood-{next(_chat_ids)}", f"fz-calm-{next(_chat_ids)}"
    fresh_window()
    for i in range(LIMIT + 3):
        assert to_zalo(stack, zalo_event("user_send_text", flooder, f"xin chào {i}"))[1] == {"status": "accepted"}
    settled(stack)
    texts = [m.get("text", "") for m in stack.zalo.sent_to(flooder)]
    assert texts.count(TEXTS["rate_limited"]) == 1, texts
    assert sorted(text for _, text in stored(stack, flooder)) == [f"xin chào {i}" for i in range(LIMIT)]
    assert to_zalo(stack, zalo_event("user_send_text", neighbour, "xin chào"))[1] == {"status": "accepted"}
    assert "trợ lý dịch vụ công" in " ".join(zalo_texts(stack, neighbour))


def test_a_socketio_flood_is_told_once_and_not_stored(stack):
    flooder, neighbour = Widget(stack.assistant.url), Widget(stack.assistant.url)
    try:
        fresh_window()
        for i in range(LIMIT + 3):
            flooder.emit({"message": f"xin chào {i}", "session_id": flooder.session_id})
        settled(stack)
        texts = [m.get("text", "") for m in flooder.received]
        assert texts.count(TEXTS["rate_limited"]) == 1 and texts[-1] == TEXTS["rate_limited"], texts
        assert [text for _, text in stored(stack, flooder.session_id)] == [f"xin chào {i}" for i in range(LIMIT)]
        assert any("Xin chào" in text for text in neighbour.say("xin chào"))
    finally:
        flooder.close()
        neighbour.close()
