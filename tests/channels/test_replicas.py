"""Telegram and Zalo webhooks on two Rasa servers behind nginx (production profile).

Telegram redelivers an update and Zalo retries an event; behind the balancer the second delivery
may reach the other server, or both at once. Either way the citizen gets one answer and the
conversation holds the message once. Forged Zalo events and Telegram calls without our secret
are refused by every server, with nothing stored and nothing sent, and do not keep the genuine
event out.
"""

from __future__ import annotations

import itertools
import json
import random
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, Iterator, List, NamedTuple, Set, Tuple

import pytest
import redis
from sqlalchemy import create_engine, text

from tests.conftest import (Assistant, delete_rabbitmq_queue, free_port, free_port_block,
                            temporary_postgres_database, wait_for_rasa)
from tests.fakes.telegram_api import FakeTelegramApi, callback_update, text_update
from tests.fakes.zalo_api import FakeZaloApi, signed_event, zalo_event

pytestmark = pytest.mark.integration

TOKEN = "123:TEST"
SECRET = "replica-Secret_7"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
OA_SECRET = "oasecret"
REDIS_URL = "redis://127.0.0.1:6379/11"
RUN = uuid.uuid4().hex[:10]
QUESTION, ANSWER = "đk kết hôn cần j", "Đăng ký kết hôn"

_update_ids = itertools.count(random.randrange(10 ** 8, 10 ** 9))
_chat_ids = itertools.count(random.randrange(10 ** 6, 10 ** 8))
_used_update_ids: Set[int] = set()


class Replicas(NamedTuple):
    assistant: Assistant
    tracker_url: str
    servers: List[str]          # each Rasa server, then nginx in front of them
    telegram: FakeTelegramApi
    zalo: FakeZaloApi


@pytest.fixture(scope="module")
def replicas() -> Iterator[Replicas]:
    queue = f"test_replicas_{RUN}"
    base = free_port_block()
    telegram, zalo = FakeTelegramApi(TOKEN).start(), FakeZaloApi().start()
    try:
        with temporary_postgres_database() as tracker_url, temporary_postgres_database() as app_url:
            running = Assistant({
                "ASSISTANT_PROFILE": "production", "TRACKER_DB_URL": tracker_url, "APP_DB_URL": app_url,
                "REDIS_URL": REDIS_URL, "RABBITMQ_QUEUE": queue, "ANALYTICS_CONSUMER_PORT": str(free_port()),
                "RASA_SERVERS": "2", "ACTION_SERVERS": "1", "REPLICA_PORT_BASE": str(base),
                "TELEGRAM_TOKEN": TOKEN, "TELEGRAM_API_URL": telegram.api_url, "TELEGRAM_MODE": "webhook",
                "TELEGRAM_SECRET_TOKEN": SECRET, "TELEGRAM_WEBHOOK_URL": "https://tro-ly.example.invalid/tg",
                "ZALO_APP_ID": "app1", "ZALO_APP_SECRET": "appsecret", "ZALO_OA_SECRET_KEY": OA_SECRET,
                "ZALO_ACCESS_TOKEN": "tok1", "ZALO_REFRESH_TOKEN": "ref1",
                "ZALO_API_URL": zalo.url, "ZALO_OAUTH_URL": zalo.url,
            })
            try:
                running.wait_ready(timeout=400)
                for port in (base, base + 1):
                    wait_for_rasa(port, running.token)
                deadline = time.monotonic() + 60
                while len(telegram.calls_to("setWebhook")) < 2:  # both servers connected to the Bot API
                    assert time.monotonic() < deadline, "a Rasa server did not connect to the Bot API"
                    time.sleep(0.2)
                servers = [f"http://127.0.0.1:{port}" for port in (base, base + 1, running.rasa_port)]
                yield Replicas(running, tracker_url, servers, telegram, zalo)
            finally:
                running.stop()
                delete_rabbitmq_queue(queue)
    finally:
        telegram.stop()
        zalo.stop()
        forget_this_runs_events()


def forget_this_runs_events() -> None:
    client = redis.Redis.from_url(REDIS_URL)
    names = [f"assistant:seen:telegram:123:{update_id}" for update_id in _used_update_ids]
    names += list(client.scan_iter(match=f"assistant:seen:zalo:*{RUN}*", count=1000))
    if names:
        client.delete(*names)
    client.close()


def post(url: str, raw: bytes, headers: Dict[str, str]) -> Tuple[int, Any]:
    request = urllib.request.Request(url, data=raw, headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def update(chat_id: int, message: str) -> bytes:
    update_id = next(_update_ids)
    _used_update_ids.add(update_id)
    return json.dumps(text_update(chat_id, message, update_id=update_id)).encode()


def to_telegram(server: str, raw: bytes, secret: str = SECRET) -> int:
    return post(f"{server}/webhooks/telegram/webhook", raw, {SECRET_HEADER: secret} if secret else {})[0]


def event(user_id: str, message: str = QUESTION, secret: str = OA_SECRET,
          msg_id: str = "") -> Tuple[bytes, Dict[str, str]]:
    body = zalo_event("user_send_text", user_id, message, msg_id=msg_id or f"msg-{RUN}-{next(_chat_ids)}")
    return signed_event(body, secret)


def to_zalo(server: str, signed: Tuple[bytes, Dict[str, str]]) -> Tuple[int, Any]:
    return post(f"{server}/webhooks/zalo/webhook", *signed)


def stored(tracker_url: str, sender: Any) -> List[str]:
    engine = create_engine(tracker_url, future=True)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT data FROM events WHERE sender_id = :s AND type_name = 'user' "
                                           "ORDER BY id").bindparams(s=str(sender))).scalars().all()
    finally:
        engine.dispose()
    return [json.loads(row)["text"] for row in rows]


def quiet(count: Any, quiet_s: float = 2.0, timeout: float = 60) -> Any:
    """count() once it has not changed for `quiet_s`: a second answer would have come by then."""
    deadline = time.monotonic() + timeout
    last, since = count(), time.monotonic()
    while time.monotonic() - since < quiet_s:
        assert time.monotonic() < deadline
        time.sleep(0.1)
        if count() != last:
            last, since = count(), time.monotonic()
    return last


def telegram_answers(replicas: Replicas, chat_id: int) -> List[str]:
    return quiet(lambda: [m["text"] for m in replicas.telegram.sent_messages(chat_id)])


def zalo_answers(replicas: Replicas, user_id: str) -> List[str]:
    return quiet(lambda: [m.get("text", "") for m in replicas.zalo.sent_to(user_id)])


def test_a_zalo_event_delivered_to_one_server_and_retried_to_the_other_is_answered_once(replicas):
    first, second, balancer = replicas.servers
    user = f"z-retry-{RUN}"
    retried = event(user)
    assert to_zalo(first, retried) == (200, {"status": "accepted"})
    replicas.zalo.wait_for(user, 1, timeout=60)
    assert to_zalo(second, retried) == (200, {"status": "duplicate"})
    assert to_zalo(balancer, retried) == (200, {"status": "duplicate"})
    assert sum(ANSWER in answer for answer in zalo_answers(replicas, user)) == 1
    assert stored(replicas.tracker_url, user) == [QUESTION]


def test_a_telegram_update_delivered_to_one_server_and_again_to_the_other_is_answered_once(replicas):
    first, second, balancer = replicas.servers
    chat = next(_chat_ids)
    redelivered = update(chat, QUESTION)
    assert to_telegram(first, redelivered) == 200
    replicas.telegram.wait_for_messages(chat, 1, timeout=60)
    assert to_telegram(second, redelivered) == 200 and to_telegram(balancer, redelivered) == 200
    assert sum(ANSWER in answer for answer in telegram_answers(replicas, chat)) == 1
    assert stored(replicas.tracker_url, chat) == [QUESTION]


def test_the_same_delivery_on_both_servers_at_the_same_moment_is_answered_once(replicas):
    first, second, _ = replicas.servers
    user, chat = f"z-both-{RUN}", next(_chat_ids)
    signed, raw = event(user), update(chat, QUESTION)
    with ThreadPoolExecutor(4) as pool:
        zalo = list(pool.map(lambda server: to_zalo(server, signed), (first, second)))
        telegram = list(pool.map(lambda server: to_telegram(server, raw), (first, second)))
    assert sorted(answer["status"] for _, answer in zalo) == ["accepted", "duplicate"]
    assert telegram == [200, 200]
    replicas.zalo.wait_for(user, 1, timeout=60)
    replicas.telegram.wait_for_messages(chat, 1, timeout=60)
    assert sum(ANSWER in answer for answer in zalo_answers(replicas, user)) == 1
    assert sum(ANSWER in answer for answer in telegram_answers(replicas, chat)) == 1
    assert stored(replicas.tracker_url, user) == [QUESTION] and stored(replicas.tracker_url, chat) == [QUESTION]


def test_forged_calls_are_refused_by_every_server_and_do_not_keep_the_genuine_one_out(replicas):
    users = {server: f"z-forged-{RUN}-{n}" for n, server in enumerate(replicas.servers)}
    chats = {server: next(_chat_ids) for server in replicas.servers}
    updates = {server: update(chats[server], QUESTION) for server in replicas.servers}
    sent_before = len(replicas.telegram.attempts_to("sendMessage"))
    for server in replicas.servers:
        msg_id = f"msg-{RUN}-forged-{users[server]}"
        assert to_zalo(server, event(users[server], secret="not-the-oa-secret", msg_id=msg_id))[0] == 401
        raw, headers = event(users[server], msg_id=msg_id)
        assert to_zalo(server, (raw.replace(QUESTION.encode(), "xin chào".encode()), headers))[0] == 401
        assert to_telegram(server, updates[server], secret="wrong") == 403
        assert to_telegram(server, updates[server], secret="") == 403
    time.sleep(2)
    for server in replicas.servers:
        assert replicas.zalo.sent_to(users[server]) == [] and replicas.telegram.sent_messages(chats[server]) == []
        assert stored(replicas.tracker_url, users[server]) == [] == stored(replicas.tracker_url, chats[server])
    assert len(replicas.telegram.attempts_to("sendMessage")) == sent_before
    # The genuine event with the same msg_id, and the same update with the right secret, are answered.
    server = replicas.servers[1]
    genuine = event(users[server], msg_id=f"msg-{RUN}-forged-{users[server]}")
    assert to_zalo(server, genuine) == (200, {"status": "accepted"})
    assert ANSWER in " ".join(m.get("text", "") for m in replicas.zalo.wait_for(users[server], 1, timeout=60))
    assert to_telegram(replicas.servers[0], updates[server]) == 200
    assert ANSWER in replicas.telegram.wait_for_messages(chats[server], 1, timeout=60)[0]["text"]


def test_production_keeps_the_log_of_handled_events_in_redis_not_on_the_server(replicas):
    user = f"z-where-{RUN}"
    msg_id = f"msg-{RUN}-where"
    assert to_zalo(replicas.servers[0], event(user, msg_id=msg_id)) == (200, {"status": "accepted"})
    ttl = redis.Redis.from_url(REDIS_URL).ttl(f"assistant:seen:zalo:msg:{msg_id}")
    assert 23 * 3600 < ttl <= 24 * 3600
    assert not (replicas.assistant.var / "zalo-events.sqlite3").exists()
    replicas.zalo.wait_for(user, 1, timeout=60)


def test_a_telegram_button_sent_by_one_server_works_when_pressed_on_the_other(replicas):
    """Payloads over 64 bytes travel as keys; the map lives in PostgreSQL, not on a server."""
    first, second, _ = replicas.servers
    chat = next(_chat_ids)
    assert to_telegram(first, update(chat, "đăng ký thường trú ở Duy Xuyên thì nộp ở đâu")) == 200
    # Who handles it, then which commune (the choices): two messages.
    sent = replicas.telegram.wait_for_messages(chat, 2, timeout=60)
    buttons = [(b["text"], b.get("callback_data", "")) for m in sent
               for row in (m.get("reply_markup") or {}).get("inline_keyboard", []) for b in row]
    keyed = [(title, data) for title, data in buttons if data.startswith("p:")]
    assert keyed, f"precondition: an answer with a payload over 64 bytes ({buttons})"
    title, key = keyed[0]
    before = len(replicas.telegram.sent_messages(chat))
    pressed = json.dumps(callback_update(chat, key, update_id=next(_update_ids))).encode()
    assert to_telegram(second, pressed) == 200
    answers = quiet(lambda: [m["text"] for m in replicas.telegram.sent_messages(chat)])[before:]
    assert answers and "gõ lại" not in " ".join(answers)  # not "this button expired, type again"
    place = title.split(" ", 1)[-1]  # "xã Duy Nghĩa" → the commune's name is in the answer
    assert place in " ".join(answers), answers
    assert not (replicas.assistant.var / "telegram-buttons.sqlite3").exists()


def test_both_servers_refresh_the_zalo_token_once_and_share_the_new_pair(replicas):
    """An expired access token seen by both servers at once: one refresh (the refresh token
    works once), and both go on with the new pair, kept in PostgreSQL."""
    first, second, _ = replicas.servers
    replicas.zalo.expire_token()
    refreshes_before = len(replicas.zalo.refresh_attempts)
    users = {first: f"z-token-{RUN}-a", second: f"z-token-{RUN}-b"}
    with ThreadPoolExecutor(2) as pool:
        assert all(r[0] == 200 for r in pool.map(lambda s: to_zalo(s, event(users[s])), (first, second)))
    for user in users.values():
        assert ANSWER in " ".join(m.get("text", "") for m in replicas.zalo.wait_for(user, 1, timeout=60))
    assert len(replicas.zalo.refresh_attempts) - refreshes_before == 1
    assert replicas.zalo.refused_refreshes == []
    # the next message on either server uses the new token without refreshing again
    for server in (first, second):
        user = f"z-token-{RUN}-again-{server[-4:]}"
        assert to_zalo(server, event(user))[0] == 200
        replicas.zalo.wait_for(user, 1, timeout=60)
    assert len(replicas.zalo.refresh_attempts) - refreshes_before == 1
    assert not (replicas.assistant.var / "zalo-tokens.json").exists()
