"""The staff app in headless Chromium: log in, charts drawn, filters, CSV download, masking."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.staff.conftest import ADMIN, ROOT

SCREENSHOT = ROOT / "results" / "staff-overview.png"

# How many pixels of a canvas are not transparent: > 0 once Chart.js has drawn on it.
PAINTED = """canvas => {
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < data.length; i += 4) { if (data[i] !== 0) painted++; }
  return painted;
}"""


@pytest.fixture
def page(browser: Browser, staff_app) -> Iterator[Page]:
    context = browser.new_context(base_url=staff_app.base, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh",
                                  viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    tab = context.new_page()
    errors = []
    tab.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.errors = errors
    yield tab
    context.close()


def log_in(page: Page) -> None:
    page.goto("/?start=2026-03-10&end=2026-03-11")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label("Tên đăng nhập").fill(ADMIN[0])
    page.get_by_label("Mật khẩu").fill(ADMIN[1])
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("heading", name="Tổng quan")).to_be_visible()


def test_overview_charts_filters_and_csv_download(page: Page, tmp_path: Path) -> None:
    log_in(page)  # back on the page asked for, with its filters
    assert "start=2026-03-10" in page.url
    expect(page.locator('[data-kpi="messages"]')).to_have_text("14")
    canvases = page.locator("canvas[data-chart]")
    expect(canvases).to_have_count(2)
    for index in range(2):
        assert canvases.nth(index).evaluate(PAINTED) > 500
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    page.locator("form.filters select[name=channel]").select_option("telegram")
    page.get_by_label("Từ ngày").fill("2026-03-10")
    page.get_by_label("Đến ngày").fill("2026-03-10")
    page.get_by_role("button", name="Lọc").click()
    expect(page).to_have_url(re.compile(r"start=2026-03-10&end=2026-03-10&channel=telegram"))
    expect(page.locator('[data-kpi="messages"]')).to_have_text("6")
    assert page.locator("canvas[data-chart]").first.evaluate(PAINTED) > 500

    page.get_by_role("link", name="Người dân hỏi gì").click()  # the filters go along
    expect(page).to_have_url(re.compile(r"/intents\?start=2026-03-10&end=2026-03-10&channel=telegram"))
    assert page.locator("canvas[data-chart]").first.evaluate(PAINTED) > 500
    with page.expect_download() as download:
        page.get_by_role("link", name="Tải bảng CSV").click()
    saved = tmp_path / "intents.csv"
    download.value.save_as(saved)
    rows = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
    assert rows[0][:2] == ["Tên ý định", "Tin nhắn"] and rows[0][-1] == "Mã ý định"  # codes last, named as codes
    intents = {row[-1]: int(row[1]) for row in rows[1:]}
    assert intents == {"greet": 1, "ask_documents": 1, "start_online_service": 1, "nlu_fallback": 1, "inform": 2}
    assert page.errors == []


def test_a_conversation_shows_masked_personal_data(page: Page) -> None:
    log_in(page)
    page.get_by_role("link", name="Hội thoại", exact=True).click()
    expect(page.get_by_role("heading", name="Hội thoại")).to_be_visible()
    page.get_by_role("link", name="#1", exact=True).click()
    expect(page.get_by_role("heading", name="Hội thoại #1")).to_be_visible()
    messages = page.locator("ol.messages li")
    expect(messages).to_have_count(12)
    content = page.locator("ol.messages").inner_text()
    for secret in ("0905123456", "049123456789", "Trần Thị Bích"):
        assert secret not in content
    expect(messages.nth(8)).to_contain_text("***")  # the phone number the citizen typed
    expect(messages.nth(10)).to_contain_text("***")  # the 12-digit ID number
    expect(messages.nth(11)).to_contain_text("Số điện thoại: ***")
    expect(messages.nth(11)).to_contain_text("Số định danh: ***")
    assert page.errors == []
