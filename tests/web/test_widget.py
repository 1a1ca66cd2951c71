"""The website widget end to end: the demo page in headless Chromium, the real assistant behind it."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest

from tests.conftest import ROOT, Assistant

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(f"no Chromium at {CHROMIUM} (Debian package `chromium`): the widget tests need a browser",
                allow_module_level=True)

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402

pytestmark = pytest.mark.integration

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
ANSWER_TIMEOUT_MS = 60_000
# Rasa 3.6 calls python-socketio's enter_room without await; from python-socketio 5.10 that
# is a coroutine, so with session_persistence no answer ever reaches the browser.
NO_ANSWER = ("no answer over socket.io: check that python-socketio is 5.9.x or older "
             "(Rasa 3.6's session_request does not await enter_room)")
QUESTION = "thủ tục đăng ký khai sinh như thế nào"
HOSTILE = "<img src=x onerror=alert(1)>"
SCREENSHOT = ROOT / "results" / "widget.png"

BOT = "#dvc-widget .dvc-from-bot .dvc-bubble"
USER = "#dvc-widget .dvc-from-user .dvc-bubble"


@pytest.fixture(scope="module")
def web_url(assistant: Assistant) -> str:
    """The demo page `bot.run` serves beside the assistant (the widget inside it)."""
    return f"http://127.0.0.1:{assistant.web_port}"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def new_page(browser: Browser, width: int = 1280, height: int = 800) -> Tuple[Page, List[str]]:
    """A page in a fresh context (empty storage), and the dialogs it opened.

    Any alert() would mean that script injected through a message ran.
    """
    context = browser.new_context(viewport={"width": width, "height": height}, locale="vi-VN")
    page = context.new_page()
    dialogs: List[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    return page, dialogs


def open_widget(page: Page, web_url: str) -> None:
    page.goto(web_url)
    launcher = page.get_by_role("button", name="Hỏi trợ lý dịch vụ công")
    expect(launcher).to_have_attribute("aria-expanded", "false")
    launcher.click()
    expect(page.get_by_role("dialog", name="Trợ lý dịch vụ công")).to_be_visible()
    expect(page.get_by_label("Câu hỏi của bạn")).to_be_focused()


def ask(page: Page, text: str) -> None:
    box = page.get_by_label("Câu hỏi của bạn")
    box.fill(text)
    box.press("Enter")


def wait_for_answer(page: Page, already: int) -> str:
    """The first assistant message after the `already` ones, once it has arrived."""
    answer = page.locator(BOT).nth(already)
    expect(answer, NO_ANSWER).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    return answer.text_content() or ""


def bot_texts(page: Page) -> List[str]:
    return page.locator(BOT).all_text_contents()


def settled_bot_texts(page: Page, quiet_ms: int = 1500) -> List[str]:
    """The assistant's messages once no more have arrived for `quiet_ms` (answers come in parts)."""
    texts = bot_texts(page)
    while True:
        page.wait_for_timeout(quiet_ms)
        now = bot_texts(page)
        if now == texts:
            return now
        texts = now


def test_assets_are_served_with_their_types_and_nothing_else(web_url: str, assistant: Assistant) -> None:
    def get(path: str):
        try:
            with urllib.request.urlopen(web_url + path, timeout=5) as reply:
                return reply.status, reply.headers.get("Content-Type", ""), reply.read().decode("utf-8")
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get("Content-Type", ""), ""

    assert get("/health")[0] == 200 and json.loads(get("/health")[2]) == {"status": "ok"}
    assert get("/widget.js")[:2] == (200, "application/javascript; charset=utf-8")
    assert get("/widget.css")[:2] == (200, "text/css; charset=utf-8")
    assert get("/vendor/socket.io.min.js")[:2] == (200, "application/javascript; charset=utf-8")
    status, content_type, page = get("/")
    assert (status, content_type) == (200, "text/html; charset=utf-8")
    assert (f'<script src="{web_url}/widget.js" '
            f'data-socket-url="http://127.0.0.1:{assistant.rasa_port}"></script>') in page
    assert "{{" not in page
    for path in ("/vendor/", "/demo/", "/demo/index.html", "/package.json", "/nothing-here"):
        assert get(path)[0] == 404, path


def test_question_button_and_reload_keep_one_conversation(browser: Browser, web_url: str) -> None:
    page, dialogs = new_page(browser)
    open_widget(page, web_url)
    greeting = len(bot_texts(page))
    # The typing indicator may be shown only briefly: record that it appeared at all.
    page.evaluate("""() => {
        const typing = document.querySelector('#dvc-widget .dvc-typing');
        window.__typingShown = false;
        new MutationObserver(() => { if (!typing.hidden) window.__typingShown = true; })
            .observe(typing, {attributes: true, attributeFilter: ['hidden']});
    }""")

    ask(page, QUESTION)
    expect(page.locator(USER).last).to_contain_text(QUESTION)
    expect(page.locator(BOT).filter(has_text="Đăng ký khai sinh").first, NO_ANSWER).to_be_visible(
        timeout=ANSWER_TIMEOUT_MS)
    assert page.evaluate("window.__typingShown"), "no typing indicator between question and answer"
    expect(page.get_by_text("Trợ lý đang trả lời…")).to_be_hidden()
    link = page.locator("#dvc-widget .dvc-from-bot a.dvc-link").first  # web addresses in answers are links
    expect(link).to_have_attribute("href", re.compile(r"^https://"))
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    assert len(bot_texts(page)) > greeting

    fee_button = page.get_by_role("button", name="Lệ phí", exact=True).last
    expect(fee_button).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    before = len(bot_texts(page))
    fee_button.click()
    expect(page.locator(USER).last).to_have_text(re.compile(r"Lệ phí$"))  # the title, not the payload
    fee_answer = wait_for_answer(page, before)
    assert "lệ phí" in fee_answer.lower(), fee_answer
    assert "/" not in page.locator(USER).last.text_content()  # no intent payload shown to the citizen

    shown = settled_bot_texts(page)
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))

    session_id = page.evaluate("localStorage.getItem('dvc-widget.session_id')")
    assert session_id
    page.reload()
    expect(page.get_by_role("log")).to_be_visible()  # reopened as it was left
    assert bot_texts(page) == shown
    expect(page.locator(USER).first).to_contain_text(QUESTION)
    expect(page.locator(USER).last).to_have_text(re.compile(r"Lệ phí$"))
    assert page.evaluate("localStorage.getItem('dvc-widget.session_id')") == session_id

    # The last message's buttons still work over the reconnected session; older ones no longer act.
    expect(page.get_by_role("button", name="Giấy tờ cần chuẩn bị", exact=True).last).to_be_disabled()
    before = len(bot_texts(page))
    page.locator("#dvc-widget .dvc-message").last.locator("button.dvc-choice").first.click()
    assert wait_for_answer(page, before)
    assert page.evaluate("localStorage.getItem('dvc-widget.session_id')") == session_id
    assert dialogs == []
    page.context.close()


def test_markup_in_a_message_stays_text(browser: Browser, web_url: str) -> None:
    page, dialogs = new_page(browser)
    open_widget(page, web_url)
    before = len(bot_texts(page))
    ask(page, HOSTILE)
    mine = page.locator(USER).last
    expect(mine).to_contain_text(HOSTILE)
    wait_for_answer(page, before)  # the answer is rendered too, then nothing may have been injected
    assert page.locator("#dvc-widget img").count() == 0
    assert page.locator("img[src='x']").count() == 0
    assert mine.evaluate("node => node.querySelectorAll('*').length") == 1  # only the hidden «Bạn:» label
    page.wait_for_timeout(300)
    assert dialogs == []
    page.context.close()


def test_keyboard_and_screen_reader_use(browser: Browser, web_url: str) -> None:
    page, _ = new_page(browser)
    page.goto(web_url)
    launcher = page.get_by_role("button", name="Hỏi trợ lý dịch vụ công")
    assert launcher.evaluate("node => node.tagName") == "BUTTON"
    launcher.focus()
    page.keyboard.press("Enter")
    expect(launcher).to_have_attribute("aria-expanded", "true")

    log = page.get_by_role("log")
    expect(log).to_have_attribute("aria-live", "polite")
    box = page.get_by_label("Câu hỏi của bạn")
    expect(box).to_be_focused()
    expect(box).to_have_attribute("placeholder", "Nhập câu hỏi…")
    expect(page.get_by_role("button", name="Gửi", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Đóng cửa sổ trò chuyện")).to_be_visible()

    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()
    expect(launcher).to_have_attribute("aria-expanded", "false")
    expect(launcher).to_be_focused()
    page.context.close()


def test_phone_sized_screen(browser: Browser, web_url: str) -> None:
    page, _ = new_page(browser, 375, 700)
    open_widget(page, web_url)
    panel = page.get_by_role("dialog", name="Trợ lý dịch vụ công")
    box = panel.bounding_box()
    assert box is not None
    assert (box["x"], box["y"], box["width"], box["height"]) == (0, 0, 375, 700)
    send = page.get_by_role("button", name="Gửi", exact=True)
    send_box = send.bounding_box()
    assert send_box is not None and send_box["x"] + send_box["width"] <= 375
    assert send_box["y"] + send_box["height"] <= 700

    before = len(bot_texts(page))
    page.get_by_label("Câu hỏi của bạn").fill(QUESTION)
    send.click()
    expect(page.locator(BOT).filter(has_text="Đăng ký khai sinh").first, NO_ANSWER).to_be_visible(
        timeout=ANSWER_TIMEOUT_MS)
    assert len(bot_texts(page)) > before

    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(page.get_by_role("button", name="Hỏi trợ lý dịch vụ công")).to_be_visible()
    page.context.close()


def _luminance(rgb: str) -> float:
    channels = [int(c) / 255 for c in re.findall(r"\d+", rgb)[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(one: str, other: str) -> float:
    lighter, darker = sorted((_luminance(one), _luminance(other)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_an_answer_reads_well_on_a_phone(browser: Browser, web_url: str) -> None:
    """Links end where the address ends, phone numbers call, targets are a finger wide, a new
    answer shows its first line, and the field and the focus ring can be seen (WCAG 2.1 AA)."""
    page, _ = new_page(browser, 375, 560)  # a small phone: an overview is taller than the log
    open_widget(page, web_url)
    ask(page, "cho tôi gặp cán bộ")
    expect(page.locator("#dvc-widget a.dvc-tel").first, NO_ANSWER).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    settled_bot_texts(page)
    for href in page.locator("#dvc-widget .dvc-from-bot a.dvc-link").evaluate_all("ns => ns.map(n => n.href)"):
        assert not re.search(r"[.,;:)]$", href), href
    tel = page.locator("#dvc-widget a.dvc-tel").first.get_attribute("href") or ""
    assert re.fullmatch(r"tel:\d{4,11}", tel), tel

    ask(page, QUESTION)  # an overview with choices
    choice = page.locator("#dvc-widget button.dvc-choice").last
    expect(choice).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    settled_bot_texts(page)
    assert all(box["height"] >= 44 for box in (b.bounding_box() for b in page.locator(
        "#dvc-widget button.dvc-choice:not([disabled]), #dvc-widget .dvc-send, #dvc-widget .dvc-close").all()) if box)
    start = page.evaluate("""() => {
        const log = document.querySelector('#dvc-widget .dvc-log');
        const rows = [...log.querySelectorAll('.dvc-message')];
        const lastUser = rows.map(r => r.classList.contains('dvc-from-user')).lastIndexOf(true);
        const first = rows[lastUser + 1];
        return {top: first.getBoundingClientRect().top - log.getBoundingClientRect().top,
                height: log.clientHeight};
    }""")
    assert 0 <= start["top"] < start["height"] / 2, start  # the answer's first line is in view
    page.screenshot(path=str(ROOT / "results" / "widget-phone.png"))

    box = page.get_by_label("Câu hỏi của bạn")
    assert contrast(box.evaluate("n => getComputedStyle(n).borderTopColor"), "rgb(255, 255, 255)") >= 3
    box.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    ring = box.evaluate("n => getComputedStyle(n).outlineColor")
    assert contrast(ring, "rgb(255, 255, 255)") >= 3, ring
    page.context.close()
