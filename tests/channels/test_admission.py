"""Admission control (bot/channels/admission.py) on a clock of our own, and through the REST
channel of a running assistant: overload is told at once (503, Retry-After), not timed out."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Callable, Iterator, List, Tuple

import aiohttp
import pytest

from bot.channels.admission import FLOOR, Admission
from bot.channels.delivery import channel_texts
from tests.conftest import Assistant
from tests.fakes.telegram_api import FakeTelegramApi
from tests.fakes.zalo_api import FakeZaloApi, signed_event, zalo_event


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def hold(control: Admission, count: int) -> list:
    """`count` messages in flight (the tickets must be kept: a dropped one is left)."""
    tickets = [control.ticket() for _ in range(count)]
    for ticket in tickets:
        ticket.__enter__()
    return tickets


def serve_one_at_a_time(control: Admission, clock: Clock, count: int, seconds_each: float) -> None:
    for _ in range(count):
        with control.ticket():
            clock.now += seconds_each


def test_nothing_is_refused_before_there_is_a_backlog():
    clock = Clock()
    control = Admission(10.0, clock)
    held = hold(control, FLOOR - 1)
    assert control.admit() and len(held) == control.in_flight  # no measurement yet, and fewer than FLOOR in flight


def test_capacity_is_measured_on_busy_time_not_on_idle_time():
    clock = Clock()
    control = Admission(10.0, clock)
    for _ in range(20):  # a message every half second, each taking 50 ms
        serve_one_at_a_time(control, clock, 1, 0.05)
        clock.now += 0.5
    assert control.capacity == pytest.approx(20.0, rel=0.01)
    # a burst now: (in flight + 1) / 20 per second must stay within 10 s: 200 are admitted
    held = []
    admitted = 0
    for _ in range(250):
        if control.admit():
            admitted += 1
            ticket = control.ticket()
            ticket.__enter__()
            held.append(ticket)
    assert admitted == 200 and control.refused == 50
    assert control.predicted_wait() > 10.0


def test_a_server_that_finishes_nothing_for_longer_than_the_promise_refuses():
    clock = Clock()
    control = Admission(10.0, clock)
    serve_one_at_a_time(control, clock, 10, 0.01)  # capacity 100 per second
    held = hold(control, FLOOR)
    assert control.admit()
    clock.now += 11.0  # stuck: nothing has finished for 11 s
    assert not control.admit() and held


def test_waiting_in_the_channel_counts():
    clock = Clock()
    control = Admission(10.0, clock)
    serve_one_at_a_time(control, clock, 10, 0.1)  # 10 per second
    held = hold(control, FLOOR)
    assert control.admit(waited_s=0.0) and held           # 0.9 s
    assert not control.admit(waited_s=9.5)       # 9.5 s already waited + 0.9 s


def test_zero_turns_it_off():
    clock = Clock()
    control = Admission(0.0, clock)
    held = hold(control, 100)
    clock.now += 100
    assert control.admit() and held


# -- through a running assistant -----------------------------------------------------------


@dataclass
class Impatient:
    assistant: Assistant
    telegram: FakeTelegramApi
    zalo: FakeZaloApi

    @property
    def url(self) -> str:
        return self.assistant.url


@pytest.fixture(scope="module")
def impatient() -> Iterator[Impatient]:
    """An assistant that promises answers within 0.2 s: a burst of 40 citizens overloads it.
    Telegram (long polling) and Zalo run against local fakes of their APIs."""
    telegram = FakeTelegramApi("123:TEST").start()
    zalo = FakeZaloApi(app_id="app1", app_secret="appsecret", access_token="tok1", refresh_token="ref1").start()
    running = Assistant({"ADMISSION_MAX_WAIT_S": "0.2", "RATE_LIMIT_MESSAGES": "0",
                         "TELEGRAM_TOKEN": "123:TEST", "TELEGRAM_API_URL": telegram.api_url,
                         "ZALO_APP_ID": "app1", "ZALO_APP_SECRET": "appsecret", "ZALO_OA_SECRET_KEY": "oasecret",
                         "ZALO_ACCESS_TOKEN": "tok1", "ZALO_REFRESH_TOKEN": "ref1",
                         "ZALO_API_URL": zalo.url, "ZALO_OAUTH_URL": zalo.url})
    try:
        running.wait_ready()
        yield Impatient(running, telegram, zalo)
    finally:
        running.stop()
        telegram.stop()
        zalo.stop()


def warm_up(url: str) -> None:
    for i in range(12):  # the server learns how fast it is
        assert post(url, f"warm-{uuid.uuid4().hex[:6]}", "đk kết hôn cần j")[0] == 200


def post(url: str, sender: str, text: str) -> Tuple[int, object, dict]:
    request = urllib.request.Request(f"{url}/webhooks/rest/webhook", headers={"Content-Type": "application/json"},
                                     data=json.dumps({"sender": sender, "message": text}).encode())
    try:
        with urllib.request.urlopen(request, timeout=120) as reply:
            return reply.status, json.loads(reply.read()), dict(reply.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), dict(error.headers)


@pytest.mark.integration
def test_an_overloaded_server_tells_citizens_at_once_and_answers_the_others(impatient):
    warm_up(impatient.url)

    async def burst() -> List[Tuple[int, object, dict, float]]:
        async with aiohttp.ClientSession() as session:
            async def citizen(i: int) -> Tuple[int, object, dict, float]:
                began = time.monotonic()
                async with session.post(f"{impatient.url}/webhooks/rest/webhook", json={
                        "sender": f"burst-{i}", "message": "thủ tục đăng ký khai sinh như thế nào"}) as reply:
                    body = await reply.json(content_type=None)
                    return reply.status, body, dict(reply.headers), time.monotonic() - began
            return await asyncio.gather(*(citizen(i) for i in range(40)))

    results = asyncio.run(burst())
    busy = [r for r in results if r[0] == 503]
    answered = [r for r in results if r[0] == 200]
    assert len(results) == 40 and len(busy) + len(answered) == 40
    assert busy and answered, [r[0] for r in results]
    for status, body, headers, seconds in busy:
        assert headers.get("Retry-After") == "60"
        assert [m["text"] for m in body] == [channel_texts()["busy"]]
        assert seconds < 5  # told at once
    # the refused citizens' messages never reached the conversation: sent again, they are answered
    status, body, _ = post(impatient.url, "burst-0", "lệ phí bao nhiêu")
    assert status == 200 and body


def wait_quiet(count: Callable[[], int], quiet_s: float = 2.0, timeout: float = 120) -> None:
    deadline, last, since = time.monotonic() + timeout, count(), time.monotonic()
    while time.monotonic() - since < quiet_s:
        assert time.monotonic() < deadline, "the channel never went quiet"
        time.sleep(0.2)
        if count() != last:
            last, since = count(), time.monotonic()


@pytest.mark.integration
def test_telegram_and_zalo_citizens_get_the_same_busy_text(impatient):
    warm_up(impatient.url)
    chats = [7_000_000 + i for i in range(40)]
    users = [f"{8_000_000 + i}" for i in range(40)]
    for chat in chats:
        impatient.telegram.push_text(chat, "thủ tục đăng ký khai sinh như thế nào")
    for user in users:
        raw, headers = signed_event(zalo_event("user_send_text", user, "thủ tục đăng ký khai sinh như thế nào"),
                                    "oasecret")
        request = urllib.request.Request(f"{impatient.url}/webhooks/zalo/webhook", data=raw, headers=headers)
        with urllib.request.urlopen(request, timeout=10) as reply:
            assert reply.status == 200
    wait_quiet(lambda: sum(len(impatient.telegram.sent_messages(c)) for c in chats)
               + sum(len(impatient.zalo.sent_to(u)) for u in users))
    busy = channel_texts()["busy"]
    telegram = [[m.get("text", "") for m in impatient.telegram.sent_messages(c)] for c in chats]
    zalo = [impatient.zalo.texts_to(u) for u in users]
    for said in (telegram, zalo):
        assert all(said_to for said_to in said), "a citizen got nothing at all"
        told = [s for s in said if busy in s]
        assert told and len(told) < len(said)
        assert all(s == [busy] for s in told)  # told, and nothing else: the message never reached Rasa
