"""The Telegram channel: rendering, then the real PTB code against a fake Bot API and a running assistant."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from typing import Any, Dict, Iterator, List, Tuple

import pytest

from bot.channels.messages import Button, Message
from bot.channels.telegram import (
    BUTTON_STORE,
    CALLBACK_DATA_LIMIT,
    TEXT_LIMIT,
    ButtonPayloads,
    TelegramOutput,
    key_for,
    keyboard,
    render,
)
from tests.conftest import ROOT, Assistant
from tests.fakes.telegram_api import FakeTelegramApi, photo_update, text_update

TOKEN = "123:TEST"
SECRET = "webhook-Secret_for-tests-42"
LONG_PAYLOAD = '/ask_documents{"procedure": "khai_sinh", "locality": "Phường Hội An, thành phố Đà Nẵng"}'
NOTIFICATION = {"name": "dossier_status_changed",
                "entities": {"dossier_code": "000.00.12.H46-251104-0007", "status_code": "9",
                             "status_label": "Đã xử lý xong"}}


def callback_data_of(sent: Dict[str, Any]) -> List[Tuple[str, str]]:
    rows = (sent.get("reply_markup") or {}).get("inline_keyboard", [])
    return [(button["text"], button.get("callback_data", "")) for row in rows for button in row]


# --- rendering ------------------------------------------------------------------------------


def test_buttons_become_an_inline_keyboard_one_per_row(tmp_path):
    payloads = ButtonPayloads(tmp_path / BUTTON_STORE)
    markup = keyboard((Button("Lệ phí", '/ask_fee{"procedure": "khai_sinh"}'),
                       Button("Giấy tờ", LONG_PAYLOAD),
                       Button("Cổng dịch vụ công", "https://dichvucong.gov.vn")), payloads)
    rows = markup.inline_keyboard
    assert [len(row) for row in rows] == [1, 1, 1]
    assert rows[0][0].callback_data == '/ask_fee{"procedure": "khai_sinh"}'
    assert rows[1][0].callback_data == key_for(LONG_PAYLOAD)
    assert rows[2][0].url == "https://dichvucong.gov.vn" and rows[2][0].callback_data is None
    assert all(1 <= len(row[0].callback_data.encode()) <= CALLBACK_DATA_LIMIT for row in rows[:2])


def test_a_long_payload_maps_to_a_short_key_and_back_even_after_a_restart(tmp_path):
    assert len(LONG_PAYLOAD.encode("utf-8")) > CALLBACK_DATA_LIMIT
    first = ButtonPayloads(tmp_path / BUTTON_STORE)
    key = first.callback_data(LONG_PAYLOAD)
    assert key.startswith("p:") and len(key.encode()) <= CALLBACK_DATA_LIMIT
    assert first.payload(key) == LONG_PAYLOAD
    after_restart = ButtonPayloads(tmp_path / BUTTON_STORE)
    assert after_restart.callback_data(LONG_PAYLOAD) == key  # derived, not counted
    assert after_restart.payload(key) == LONG_PAYLOAD


def test_short_payloads_pass_through_and_only_known_keys_resolve(tmp_path):
    payloads = ButtonPayloads(None)
    assert payloads.callback_data("/greet") == "/greet"
    assert payloads.payload("/greet") == "/greet"
    # A short payload that looks like a key is mapped too, so a key is never ambiguous.
    assert payloads.callback_data("p:abc") == key_for("p:abc")
    assert payloads.payload(key_for("p:abc")) == "p:abc"
    assert payloads.payload("p:unknown") is None


def test_the_memory_map_is_bounded_and_the_file_keeps_the_rest(tmp_path):
    in_memory_only = ButtonPayloads(None, capacity=2)
    keys = [in_memory_only.callback_data(f"{LONG_PAYLOAD} {n}") for n in range(3)]
    assert len(in_memory_only._memory) == 2
    assert in_memory_only.payload(keys[0]) is None
    assert in_memory_only.payload(keys[2]) == f"{LONG_PAYLOAD} 2"
    stored = ButtonPayloads(tmp_path / BUTTON_STORE, capacity=2)
    keys = [stored.callback_data(f"{LONG_PAYLOAD} {n}") for n in range(3)]
    assert stored.payload(keys[0]) == f"{LONG_PAYLOAD} 0"


def test_a_long_answer_is_split_with_the_keyboard_on_the_last_part():
    text = "\n\n".join(f"Đoạn {n}. " + "giấy tờ cần chuẩn bị " * 60 for n in range(10))
    assert len(text) > 2 * TEXT_LIMIT
    parts = render(Message(text=text, buttons=(Button("Lệ phí", "/ask_fee"),)), ButtonPayloads(None))
    assert len(parts) >= 3
    assert all(len(part) <= TEXT_LIMIT for part, _ in parts)
    assert [markup is not None for _, markup in parts] == [False] * (len(parts) - 1) + [True]
    assert " ".join(" ".join(p for p, _ in parts).split()) == " ".join(text.split())


def test_emoji_count_twice_against_the_telegram_limit():
    parts = render(Message(text="📋" * 3000), ButtonPayloads(None))
    assert all(len(part.encode("utf-16-le")) // 2 <= TEXT_LIMIT for part, _ in parts)
    assert "".join(p for p, _ in parts) == "📋" * 3000


def test_buttons_without_text_still_get_a_text():
    [(text, markup)] = render(Message(buttons=(Button("Có", "/affirm"),)), ButtonPayloads(None))
    assert text and markup is not None


# --- the output channel against the fake Bot API ---------------------------------------------


@pytest.fixture
def bot_api() -> Iterator[FakeTelegramApi]:
    api = FakeTelegramApi(TOKEN).start()
    yield api
    api.stop()


async def test_the_output_channel_sends_split_messages_and_survives_api_errors(bot_api, tmp_path):
    from telegram.ext import AIORateLimiter, ExtBot

    bot = ExtBot(TOKEN, base_url=bot_api.api_url, rate_limiter=AIORateLimiter())
    await bot.initialize()
    try:
        output = TelegramOutput(bot, ButtonPayloads(tmp_path / BUTTON_STORE))
        long_text = "\n\n".join("Bước %d: " % n + "nộp hồ sơ " * 100 for n in range(9))
        await output.send_response("77", {"text": long_text, "buttons": [
            {"title": "Giấy tờ", "payload": LONG_PAYLOAD}, {"title": "Cổng", "payload": "https://dichvucong.gov.vn"}]})
        sent = bot_api.sent_messages(77)
        assert len(sent) == 3 and all(len(m["text"]) <= TEXT_LIMIT for m in sent)
        assert [bool(m.get("reply_markup")) for m in sent] == [False, False, True]
        assert callback_data_of(sent[-1])[0] == ("Giấy tờ", key_for(LONG_PAYLOAD))

        bot_api.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
        bot_api.fail_next("sendMessage", 400, "Bad Request: chat not found")
        await output.send_text_message("77", "một")  # logged, not raised
        await output.send_text_message("77", "hai")
        await output.send_text_message("77", "ba")
        assert [m["text"] for m in bot_api.sent_messages(77)[3:]] == ["ba"]
    finally:
        await bot.shutdown()


def test_a_wrong_token_gets_telegrams_404(bot_api):
    request = urllib.request.Request(f"http://127.0.0.1:{bot_api.port}/bot999:WRONG/getMe", data=b"", method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 404 and json.loads(refused.value.read())["ok"] is False


def settings_for(**changes: Any):
    from dataclasses import replace

    from bot.config import load_settings

    return replace(load_settings(), **{"telegram_token": TOKEN, **changes})


@pytest.mark.parametrize("changes", [
    {"telegram_mode": "hook"},
    {"telegram_mode": "webhook", "telegram_secret_token": "", "telegram_webhook_url": "https://x.invalid/w"},
    {"telegram_mode": "webhook", "telegram_secret_token": "có dấu", "telegram_webhook_url": "https://x.invalid/w"},
    {"telegram_mode": "webhook", "telegram_secret_token": SECRET, "telegram_webhook_url": ""},
], ids=["unknown-mode", "no-secret", "bad-secret", "no-url"])
def test_a_misconfigured_channel_refuses_to_start(changes):
    from rasa.shared.exceptions import RasaException

    from bot.channels.telegram import TelegramInput

    with pytest.raises(RasaException):
        TelegramInput(settings_for(**changes))


async def test_a_rejected_token_leaves_the_channel_off_and_out_of_the_log(bot_api, caplog):
    from bot.channels.telegram import TelegramInput

    channel = TelegramInput(settings_for(telegram_token="999:SECRET-TOKEN", telegram_api_url=bot_api.api_url))
    await asyncio.wait_for(channel._connect(), 10)  # gives up instead of raising
    assert not channel.ready.is_set()
    assert "rejected TELEGRAM_TOKEN" in caplog.text and "SECRET-TOKEN" not in caplog.text


async def test_an_unreachable_bot_api_is_retried_without_crashing(caplog):
    from tests.conftest import free_port

    from bot.channels.telegram import TelegramInput

    channel = TelegramInput(settings_for(telegram_api_url=f"http://127.0.0.1:{free_port()}/bot"))
    connecting = asyncio.create_task(channel._connect())
    await asyncio.sleep(1.5)
    assert not connecting.done() and "retrying" in caplog.text and TOKEN not in caplog.text
    connecting.cancel()
    await asyncio.gather(connecting, return_exceptions=True)
    await channel._close()


# --- end to end: a running assistant ---------------------------------------------------------


class Stack:
    def __init__(self) -> None:
        (ROOT / "results").mkdir(exist_ok=True)
        self.polling_api = FakeTelegramApi(TOKEN).start()
        self.webhook_api = FakeTelegramApi(TOKEN).start()
        # Both start at once: each needs about 20 s to load the model.
        self.polling = Assistant(extra_env={"TELEGRAM_TOKEN": TOKEN, "TELEGRAM_API_URL": self.polling_api.api_url})
        self.webhook = Assistant(extra_env={
            "TELEGRAM_TOKEN": TOKEN, "TELEGRAM_API_URL": self.webhook_api.api_url, "TELEGRAM_MODE": "webhook",
            "TELEGRAM_SECRET_TOKEN": SECRET,
            "TELEGRAM_WEBHOOK_URL": "https://tro-ly.example.invalid/webhooks/telegram/webhook"})

    def stop(self) -> None:
        for assistant in (self.polling, self.webhook):
            assistant.stop()
        self.polling_api.stop()
        self.webhook_api.stop()


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    started = Stack()
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
def polling(stack) -> Tuple[Assistant, FakeTelegramApi]:
    stack.polling.wait_ready()
    return stack.polling, stack.polling_api


@pytest.fixture(scope="module")
def webhook(stack) -> Tuple[Assistant, FakeTelegramApi]:
    stack.webhook.wait_ready()
    stack.webhook_api.wait_for_call("setWebhook", timeout=30)
    return stack.webhook, stack.webhook_api


def ask(api: FakeTelegramApi, chat_id: int, text: str, timeout: float = 30) -> Dict[str, Any]:
    """Sends a text and returns the first new message of the bot to that chat."""
    before = len(api.sent_messages(chat_id))
    api.push_text(chat_id, text)
    return api.wait_for_messages(chat_id, before + 1, timeout)[before]


def wait_for_text(api: FakeTelegramApi, chat_id: int, fragment: str, after: int = 0,
                  timeout: float = 30) -> Dict[str, Any]:
    """The first message to the chat, from index `after` on, that contains `fragment`."""
    deadline = time.monotonic() + timeout
    while True:
        for message in api.sent_messages(chat_id)[after:]:
            if fragment in message.get("text", ""):
                return message
        assert time.monotonic() < deadline, f"no {fragment!r} in {api.sent_messages(chat_id)[after:]}"
        time.sleep(0.1)


@pytest.mark.integration
def test_start_greets_and_says_what_the_assistant_can_do(polling):
    _, api = polling
    reply = ask(api, 5001, "/start", timeout=60)  # the first update also waits for polling to start
    assert "Xin chào" in reply["text"] and "tra cứu tình trạng hồ sơ" in reply["text"]
    assert "Tra cứu hồ sơ" in [title for title, _ in callback_data_of(reply)]
    commands = api.calls_to("setMyCommands")[-1]["commands"]
    assert [c["command"] for c in commands] == ["start", "help"]
    assert api.calls_to("deleteWebhook"), "polling starts by removing any webhook"


@pytest.mark.integration
def test_help_lists_what_the_assistant_can_do(polling):
    _, api = polling
    reply = ask(api, 5002, "/help")["text"]
    assert "Tra cứu tình trạng hồ sơ" in reply and "Nộp hồ sơ trực tuyến" in reply and "/start" in reply


@pytest.mark.integration
def test_a_teencode_question_gets_the_procedure(polling):
    _, api = polling
    assert "Đăng ký kết hôn" in ask(api, 5003, "đk kết hôn cần j")["text"]


@pytest.mark.integration
def test_an_overview_offers_buttons_and_a_press_answers_it(polling):
    _, api = polling
    overview = ask(api, 5004, "thủ tục đăng ký khai sinh như thế nào")
    buttons = callback_data_of(overview)
    assert buttons and all(1 <= len(data.encode("utf-8")) <= CALLBACK_DATA_LIMIT for _, data in buttons)
    documents = dict(buttons)["Giấy tờ cần chuẩn bị"]
    answered = len(api.calls_to("answerCallbackQuery"))
    before = len(api.sent_messages(5004))
    api.push_callback(5004, documents)
    reply = wait_for_text(api, 5004, "Giấy tờ cần chuẩn bị", after=before)
    assert "Giấy tờ cần chuẩn bị" in reply["text"] and "Đăng ký khai sinh" in reply["text"]
    assert len(api.calls_to("answerCallbackQuery")) > answered


@pytest.mark.integration
def test_a_mapped_long_payload_is_found_in_the_store_after_a_restart(polling):
    assistant, api = polling
    # Written by "an earlier run" into the store under the assistant's var directory.
    key = ButtonPayloads(assistant.var / BUTTON_STORE).callback_data(LONG_PAYLOAD)
    api.push_callback(5005, key)
    reply = wait_for_text(api, 5005, "Giấy tờ cần chuẩn bị")
    assert "Giấy tờ cần chuẩn bị" in reply["text"] and "Đăng ký khai sinh" in reply["text"]


@pytest.mark.integration
def test_an_unknown_key_asks_to_type_again(polling):
    _, api = polling
    api.push_callback(5006, key_for("a payload nobody ever sent " * 5))
    wait_for_text(api, 5006, "gõ lại câu hỏi")


@pytest.mark.integration
def test_photos_and_stickers_get_a_polite_request_for_text(polling):
    _, api = polling
    api.push_photo(5007)
    api.push_sticker(5007)
    replies = api.wait_for_messages(5007, 2)
    assert all("vui lòng gửi tin nhắn văn bản" in m["text"] for m in replies)
    time.sleep(0.5)
    assert len(api.sent_messages(5007)) == 2


@pytest.mark.integration
def test_a_dossier_notification_reaches_the_telegram_chat(polling):
    assistant, api = polling
    ask(api, 5008, "/start")
    before = len(api.sent_messages(5008))
    request = urllib.request.Request(
        f"{assistant.url}/conversations/5008/trigger_intent?output_channel=latest&token={assistant.token}",
        data=json.dumps(NOTIFICATION).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as reply:
        assert reply.status == 200
    notice = wait_for_text(api, 5008, "000.00.12.H46-251104-0007", after=before)["text"]
    assert "Đã xử lý xong" in notice


@pytest.mark.integration
def test_a_bot_api_error_is_logged_and_the_next_message_goes_through(polling):
    _, api = polling
    api.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    api.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    api.push_text(5009, "xin chào")
    time.sleep(3)
    assert "Xin chào" in ask(api, 5009, "xin chào")["text"]


@pytest.mark.integration
def test_the_channel_reports_its_health(polling):
    assistant, _ = polling
    with urllib.request.urlopen(f"{assistant.url}/webhooks/telegram/", timeout=5) as reply:
        assert json.loads(reply.read()) == {"status": "ok", "mode": "polling", "connected": True}


def post_update(assistant: Assistant, update: Dict[str, Any], headers: Dict[str, str]) -> int:
    request = urllib.request.Request(f"{assistant.url}/webhooks/telegram/webhook", data=json.dumps(update).encode(),
                                     headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.integration
def test_webhook_mode_registers_the_webhook_with_its_secret(webhook):
    _, api = webhook
    registered = api.calls_to("setWebhook")[-1]
    assert registered["url"] == "https://tro-ly.example.invalid/webhooks/telegram/webhook"
    assert registered["secret_token"] == SECRET
    assert registered["allowed_updates"] == ["message", "callback_query"]
    assert not api.calls_to("getUpdates")


@pytest.mark.integration
@pytest.mark.parametrize("headers", [{}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"},
                                     {"X-Telegram-Bot-Api-Secret-Token": SECRET[:-1]}],
                         ids=["no-header", "wrong", "almost"])
def test_webhook_calls_without_the_secret_are_refused(webhook, headers):
    assistant, api = webhook
    assert post_update(assistant, text_update(6001, "xin chào", update_id=int(time.time() * 1000)), headers) == 403
    time.sleep(1.5)
    assert api.sent_messages(6001) == []


@pytest.mark.integration
def test_webhook_calls_with_the_secret_are_answered_once(webhook):
    assistant, api = webhook
    header = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    assert post_update(assistant, text_update(6002, "đk kết hôn cần j", update_id=7001), header) == 200
    assert "Đăng ký kết hôn" in api.wait_for_messages(6002, 1)[0]["text"]
    assert post_update(assistant, text_update(6002, "đk kết hôn cần j", update_id=7001), header) == 200  # redelivery
    assert post_update(assistant, photo_update(6002, update_id=7002), header) == 200
    deadline = time.monotonic() + 30
    while not any("vui lòng gửi tin nhắn văn bản" in m["text"] for m in api.sent_messages(6002)):
        assert time.monotonic() < deadline, api.sent_messages(6002)
        time.sleep(0.2)
    # One chat's updates are handled in order, so a second answer would have come first.
    assert sum("Đăng ký kết hôn" in m["text"] for m in api.sent_messages(6002)) == 1
