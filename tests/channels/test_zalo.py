"""The Zalo OA channel: signed events into a running assistant, answers out through a fake Zalo API."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, Tuple

import pytest
import yaml

from bot.channels.messages import Button, Message
from bot.channels.zalo import MAX_BUTTONS, TEXT_LIMIT, TITLE_LIMIT, ZaloApi, render
from bot.channels.zalo_tokens import TokenStore, ZaloTokens
from tests.conftest import ROOT, Assistant
from tests.fakes.zalo_api import FakeZaloApi, signed_event, zalo_event

OA_SECRET = "oasecret"
ZALO_TEXTS = yaml.safe_load((ROOT / "data" / "texts" / "zalo.yml").read_text(encoding="utf-8"))["messages"]
NOTIFICATION = {"name": "dossier_status_changed", "entities": {
    "dossier_code": "000.00.12.H46-251104-0007", "status_code": "9", "status_label": "Đã xử lý xong"}}


@pytest.fixture(scope="module")
def fake() -> FakeZaloApi:
    api = FakeZaloApi(app_id="app1", app_secret="appsecret", access_token="tok1", refresh_token="ref1").start()
    yield api
    api.stop()


@pytest.fixture(scope="module")
def zalo_assistant(fake: FakeZaloApi) -> Assistant:
    (ROOT / "results").mkdir(exist_ok=True)
    running = Assistant(extra_env={
        "ZALO_APP_ID": "app1", "ZALO_APP_SECRET": "appsecret", "ZALO_OA_SECRET_KEY": OA_SECRET,
        "ZALO_ACCESS_TOKEN": "tok1", "ZALO_REFRESH_TOKEN": "ref1",
        "ZALO_API_URL": fake.url, "ZALO_OAUTH_URL": fake.url,
    })
    try:
        running.wait_ready()
        yield running
    finally:
        running.stop()


def post(assistant: Assistant, raw: bytes, headers: Dict[str, str]) -> Tuple[int, Any, float]:
    request = urllib.request.Request(f"{assistant.url}/webhooks/zalo/webhook", data=raw, headers=headers)
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, json.loads(reply.read()), time.monotonic() - started
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null"), time.monotonic() - started


def send(assistant: Assistant, event: Dict[str, Any], secret: str = OA_SECRET) -> Tuple[int, Any, float]:
    return post(assistant, *signed_event(event, secret))


def settled(fake: FakeZaloApi, user_id: str, quiet_s: float = 2.0, timeout: float = 30) -> list:
    """The messages to `user_id` once nothing new has come for `quiet_s` seconds."""
    deadline = time.monotonic() + timeout
    seen = fake.sent_to(user_id)
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = fake.sent_to(user_id)
        if len(now) != len(seen):
            seen, quiet_since = now, time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_s:
            break
    return seen


def texts(messages: list) -> str:
    return "\n".join(m.get("text", "") for m in messages)


# --- end to end ----------------------------------------------------------------------------

@pytest.mark.integration
def test_a_question_is_answered_through_zalo_and_the_webhook_answers_at_once(zalo_assistant, fake):
    status, answer, elapsed = send(zalo_assistant, zalo_event("user_send_text", "u-marriage", "đk kết hôn cần j"))
    assert status == 200 and answer == {"status": "accepted"}
    assert elapsed < 1.0, elapsed  # Zalo retries after 2 s
    # While that one is being processed, the next call is answered at once too.
    status, _, elapsed = send(zalo_assistant, zalo_event("user_send_text", "u-busy", "lệ phí làm sổ đỏ"))
    assert status == 200 and elapsed < 1.0, elapsed
    fake.wait_for("u-marriage", 1, timeout=60)
    assert "Đăng ký kết hôn" in texts(settled(fake, "u-marriage", quiet_s=1))
    assert fake.wait_for("u-busy", 1, timeout=60)


@pytest.mark.integration
def test_forged_missing_and_malformed_calls_are_refused_and_nothing_is_sent(zalo_assistant, fake):
    forged = zalo_event("user_send_text", "u-forged", "xin chào")
    assert send(zalo_assistant, forged, secret="not-the-oa-secret")[0] == 401
    raw, headers = signed_event(zalo_event("user_send_text", "u-unsigned", "xin chào"), OA_SECRET)
    del headers["X-ZEvent-Signature"]
    assert post(zalo_assistant, raw, headers)[0] == 401
    raw, headers = signed_event(zalo_event("user_send_text", "u-tampered", "xin chào"), OA_SECRET)
    assert post(zalo_assistant, raw.replace("xin chào".encode(), "tạm biệt".encode()), headers)[0] == 401
    assert post(zalo_assistant, b"{not json", {"X-ZEvent-Signature": "mac=00",
                                                "Content-Type": "application/json"})[0] == 400
    time.sleep(2)
    for user in ("u-forged", "u-unsigned", "u-tampered"):
        assert fake.sent_to(user) == []


@pytest.mark.integration
def test_a_signature_without_the_mac_prefix_is_accepted(zalo_assistant, fake):
    with urllib.request.urlopen(f"{zalo_assistant.url}/webhooks/zalo/", timeout=5) as health:
        assert json.loads(health.read()) == {"status": "ok"}
    raw, headers = signed_event(zalo_event("user_send_text", "u-plain-mac", "xin chào"), OA_SECRET)
    headers["X-ZEvent-Signature"] = headers["X-ZEvent-Signature"][len("mac="):]
    assert post(zalo_assistant, raw, headers)[0] == 200
    assert "trợ lý dịch vụ công" in texts(fake.wait_for("u-plain-mac", 1))


@pytest.mark.integration
def test_a_retried_event_is_answered_once(zalo_assistant, fake):
    once = zalo_event("user_send_text", "u-once", "xin chào", msg_id="retry-control")
    twice = zalo_event("user_send_text", "u-twice", "xin chào", msg_id="retry-1")
    assert send(zalo_assistant, once)[1] == {"status": "accepted"}
    assert send(zalo_assistant, twice)[1] == {"status": "accepted"}
    assert send(zalo_assistant, twice)[1] == {"status": "duplicate"}  # Zalo's retry: same msg_id
    fake.wait_for("u-once", 1, timeout=60)
    fake.wait_for("u-twice", 1, timeout=60)
    expected = len(settled(fake, "u-once"))
    assert expected >= 1 and len(settled(fake, "u-twice")) == expected


@pytest.mark.integration
def test_echoes_other_apps_and_unfollows_get_nothing(zalo_assistant, fake):
    assert send(zalo_assistant, zalo_event("oa_send_text", "u-echo", "Tin của OA"))[1] == {"status": "ignored"}
    assert send(zalo_assistant, zalo_event("user_send_text", "u-other-app", "xin chào", app_id="app2"))[1] \
        == {"status": "ignored"}
    assert send(zalo_assistant, zalo_event("unfollow", "u-left"))[1] == {"status": "ignored"}
    time.sleep(2)
    for user in ("u-echo", "oa-1", "u-other-app", "u-left"):
        assert fake.sent_to(user) == []


@pytest.mark.integration
def test_an_image_gets_the_polite_text_and_a_follow_the_greeting(zalo_assistant, fake):
    assert send(zalo_assistant, zalo_event("user_send_image", "u-photo"))[0] == 200
    assert send(zalo_assistant, zalo_event("user_send_sticker", "u-sticker"))[0] == 200
    assert fake.wait_for("u-photo", 1)[0]["text"] == ZALO_TEXTS["text_only"]
    assert "vui lòng gửi tin nhắn văn bản" in fake.wait_for("u-sticker", 1)[0]["text"]
    assert send(zalo_assistant, zalo_event("follow", "u-new"))[0] == 200
    assert "trợ lý dịch vụ công" in texts(fake.wait_for("u-new", 1))


@pytest.mark.integration
def test_an_expired_token_is_refreshed_once_and_the_new_pair_stored(zalo_assistant, fake):
    before = list(fake.refresh_attempts)
    old_refresh = fake.refresh_token
    fake.expire_token()
    assert send(zalo_assistant, zalo_event("user_send_text", "u-token", "xin chào"))[0] == 200
    assert "trợ lý dịch vụ công" in texts(fake.wait_for("u-token", 1))
    assert fake.refresh_attempts == before + [old_refresh]
    assert not fake.refused_refreshes
    stored = json.loads((zalo_assistant.var / "zalo-tokens.json").read_text(encoding="utf-8"))
    assert (stored["access_token"], stored["refresh_token"]) == (fake.access_token, fake.refresh_token)
    assert stored["refresh_token"] != old_refresh
    # The next answer goes out with the new token, without another refresh.
    before_answer = len(settled(fake, "u-token", quiet_s=1))
    assert send(zalo_assistant, zalo_event("user_send_text", "u-token", "đk kết hôn cần j"))[0] == 200
    fake.wait_for("u-token", before_answer + 1, timeout=60)
    assert "Đăng ký kết hôn" in texts(settled(fake, "u-token", quiet_s=1)[before_answer:])
    assert fake.refresh_attempts == before + [old_refresh]
    assert fake.calls[-1]["token"] == fake.access_token


@pytest.mark.integration
def test_a_dossier_notification_reaches_the_zalo_user(zalo_assistant, fake):
    assert send(zalo_assistant, zalo_event("user_send_text", "u-notify", "xin chào"))[0] == 200
    fake.wait_for("u-notify", 1, timeout=60)
    before = len(settled(fake, "u-notify", quiet_s=1))
    request = urllib.request.Request(
        f"{zalo_assistant.url}/conversations/u-notify/trigger_intent"
        f"?output_channel=latest&token={zalo_assistant.token}",
        data=json.dumps(NOTIFICATION).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as reply:
        assert reply.status == 200
    notice = texts(fake.wait_for("u-notify", before + 1)[before:])
    assert "000.00.12.H46-251104-0007" in notice and "Đã xử lý xong" in notice


# --- rendering -----------------------------------------------------------------------------

def test_a_long_answer_is_split_and_its_buttons_become_quick_replies():
    paragraphs = [f"Bước {i}. " + "Chuẩn bị giấy tờ theo hướng dẫn của cán bộ một cửa. " * 12 for i in range(10)]
    text = "\n\n".join(paragraphs)
    buttons = tuple(Button(f"Lĩnh vực {i}", f'/browse_procedures{{"field": "f{i}"}}') for i in range(6)) + (
        Button("Cổng dịch vụ công quốc gia", "https://dichvucong.gov.vn"),
        Button("Một nhãn rất dài " * 12, "/ask_procedure"),
    )
    bodies = render(Message(text=text, buttons=buttons))

    text_parts = [b for b in bodies if b["text"] not in (ZALO_TEXTS["more_options"], ZALO_TEXTS["choose_option"])]
    assert len(text_parts) >= 3 and all(len(b["text"]) <= TEXT_LIMIT for b in bodies)
    assert " ".join(" ".join(b["text"] for b in text_parts).split()) == " ".join(text.split())
    assert all("attachment" not in b for b in text_parts[:-1])  # buttons only on the last part

    first = text_parts[-1]["attachment"]
    assert first["type"] == "template" and len(first["payload"]["buttons"]) == MAX_BUTTONS
    assert first["payload"]["buttons"][0] == {
        "title": "Lĩnh vực 0", "type": "oa.query.hide", "payload": '/browse_procedures{"field": "f0"}'}
    overflow = bodies[-1]
    assert overflow["text"] == ZALO_TEXTS["more_options"]
    link, long_title = overflow["attachment"]["payload"]["buttons"][1:]
    assert link == {"title": "Cổng dịch vụ công quốc gia", "type": "oa.open.url",
                    "payload": {"url": "https://dichvucong.gov.vn"}}
    assert len(long_title["title"]) <= TITLE_LIMIT and long_title["title"].endswith("…")
    assert long_title["title"].startswith("Một nhãn rất dài")


def test_buttons_without_text_get_a_heading_and_too_many_are_capped():
    bodies = render(Message(buttons=tuple(Button(f"Mục {i}", f"/choose_{i}") for i in range(14))))
    assert [b["text"] for b in bodies] == [ZALO_TEXTS["choose_option"], ZALO_TEXTS["more_options"]]
    assert sum(len(b["attachment"]["payload"]["buttons"]) for b in bodies) == 2 * MAX_BUTTONS


# --- the API client and the token manager, against their own fake --------------------------

@pytest.fixture()
def own_fake() -> FakeZaloApi:
    api = FakeZaloApi().start()
    yield api
    api.stop()


def client(fake: FakeZaloApi, store: TokenStore, refresh_token: str = "ref1") -> ZaloApi:
    tokens = ZaloTokens(app_id="app1", app_secret="appsecret", oauth_url=fake.url, store=store,
                        access_token="tok1", refresh_token=refresh_token)
    return ZaloApi(fake.url, tokens, backoff_s=(0.01, 0.02, 0.04))


async def test_rate_limits_are_retried_and_unreachable_users_are_not(own_fake, tmp_path):
    api = client(own_fake, TokenStore(tmp_path / "tokens.json"))
    try:
        own_fake.fail_next(-32, times=2)
        assert await api.send("u1", {"text": "chào"})
        assert len(own_fake.calls) == 3 and own_fake.texts_to("u1") == ["chào"]
        own_fake.fail_next(-213)
        assert not await api.send("u2", {"text": "chào"})
        assert len(own_fake.calls) == 4  # not following: no retry
    finally:
        await api.close()


async def test_concurrent_expired_sends_refresh_once_and_a_restart_keeps_the_new_pair(own_fake, tmp_path):
    store = TokenStore(tmp_path / "tokens.json")
    api = client(own_fake, store)
    try:
        own_fake.expire_token(-216)
        results = await asyncio.gather(*(api.send(f"u{i}", {"text": "chào"}) for i in range(6)))
        assert all(results)
        assert own_fake.refresh_attempts == ["ref1"] and not own_fake.refused_refreshes
    finally:
        await api.close()
    assert store.load()["refresh_token"] == own_fake.refresh_token == "ref2"
    # A restart with the same settings uses the stored pair, not the spent ref1.
    restarted = client(own_fake, store)
    assert await restarted.tokens.current() == "tok2"
    own_fake.expire_token()
    assert await restarted.send("u9", {"text": "chào"})
    await restarted.close()
    assert own_fake.refresh_attempts == ["ref1", "ref2"] and not own_fake.refused_refreshes


async def test_a_token_expiring_within_the_hour_is_refreshed_before_use(own_fake, tmp_path):
    store = TokenStore(tmp_path / "tokens.json")
    store.save({"access_token": "tok1", "refresh_token": "ref1", "expires_at": time.time() + 600,
                "refresh_expires_at": time.time() + 86400 * 60, "seeded_from": ""})
    api = client(own_fake, store, refresh_token="")
    try:
        assert await api.send("u1", {"text": "chào"})
        assert own_fake.refresh_attempts == ["ref1"] and own_fake.calls[-1]["token"] == "tok2"
    finally:
        await api.close()


async def test_a_refused_refresh_is_reported_not_raised(own_fake, tmp_path):
    api = client(own_fake, TokenStore(tmp_path / "tokens.json"), refresh_token="spent")
    try:
        own_fake.expire_token()
        assert not await api.send("u1", {"text": "chào"})
        assert own_fake.refused_refreshes == ["spent"] and own_fake.sent_to("u1") == []
    finally:
        await api.close()


@pytest.mark.integration
def test_the_webhook_answers_quickly_under_concurrent_calls(zalo_assistant, fake):
    events = [zalo_event("user_send_text", f"u-crowd-{i}", "thủ tục cấp lại căn cước") for i in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda e: send(zalo_assistant, e), events))
    assert all(status == 200 for status, _, _ in results)
    assert max(elapsed for _, _, elapsed in results) < 1.5, [e for _, _, e in results]
    for i in range(8):
        fake.wait_for(f"u-crowd-{i}", 1, timeout=60)
