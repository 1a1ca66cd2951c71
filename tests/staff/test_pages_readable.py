"""Every staff page in headless Chromium over a busy dataset (tests/staff/seed_more.py),
failing on what made the pages unusable for an official: an empty place name, an internal id
or slug, an untranslated code, a payload, a bar without its name, empty axes. A screenshot of
each page is kept under results/ (the README shows two of them)."""

from __future__ import annotations

import re
from typing import Iterator

import pytest
import yaml
from playwright.sync_api import Browser, Page, expect

from tests.staff.conftest import ADMIN, ROOT

RESULTS = ROOT / "results"
RANGE = "start=2026-03-01&end=2026-03-11"
PAGES = [
    ("tong-quan", "/"), ("y-dinh", "/intents"), ("thu-tuc", "/procedures"),
    ("thu-tuc-chua-co", "/missing-procedures"), ("chua-hieu", "/not-understood"),
    ("nop-truc-tuyen-thu-tuc", "/funnel?by=procedure"), ("nop-truc-tuyen-linh-vuc", "/funnel?by=field"),
    ("nop-truc-tuyen-dia-ban", "/funnel?by=locality"), ("ly-do-thu-tuc", "/offline?by=procedure"),
    ("ly-do-dia-ban", "/offline?by=locality"), ("tra-cuu", "/lookups"), ("gap-can-bo", "/handoffs"),
    ("hai-long-y-dinh", "/satisfaction?by=intent"), ("hai-long-thu-tuc", "/satisfaction?by=procedure"),
    ("thoi-gian", "/latency"), ("hoi-thoai", "/conversations"),
]

# What an official must never read: ids and slugs, codes, payloads, English measures.
SNAKE = re.compile(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b")
PLACE_SLUG = re.compile(r"\b(?:cu|phuong|xa|dac-khu)-[a-z0-9]+(?:-[a-z0-9]+)+\b")
PAYLOAD = re.compile(r"(?:^|\s)/[a-z_]+(?:\{|\s|$)", re.M)
ENGLISH = re.compile(r"\b(?:greet|goodbye|thank|affirm|deny|inform|restart|rest|socketio|cmdline|p50|p95|"
                     r"found|locked|useful|not_useful|intent|fallback)\b|\(ms\)", re.I)

# For each bar chart: how many category labels Chart.js drew, and the pixels per label.
BAR_LABELS = """canvas => {
  const chart = canvas.chart;
  if (!chart || chart.config.type !== 'bar') return null;
  const axis = chart.options.indexAxis === 'y' ? chart.scales.y : chart.scales.x;
  return {labels: chart.data.labels.length, ticks: axis.ticks.length,
          span: (axis.bottom - axis.top) || (axis.right - axis.left), horizontal: chart.options.indexAxis === 'y'};
}"""


@pytest.fixture(scope="module")
def page(browser: Browser, busy_staff_app) -> Iterator[Page]:
    context = browser.new_context(base_url=busy_staff_app.base, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh",
                                  viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    errors = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    tab.errors = errors
    tab.goto("/login")
    tab.get_by_label("Tên đăng nhập").fill(ADMIN[0])
    tab.get_by_label("Mật khẩu").fill(ADMIN[1])
    tab.get_by_role("button", name="Đăng nhập").click()
    expect(tab.get_by_role("heading", name="Tổng quan")).to_be_visible()
    RESULTS.mkdir(exist_ok=True)
    yield tab
    context.close()


def unreadable(text: str) -> list:
    return [m.group(0) for pattern in (SNAKE, PLACE_SLUG, PAYLOAD, ENGLISH) for m in pattern.finditer(text)]


def check_page(page: Page, name: str) -> str:
    main = page.locator("main").inner_text()
    assert unreadable(main) == [], (name, unreadable(main))
    for figure in page.locator("figure.chart").all():
        canvas = figure.locator("canvas")
        if canvas.count() == 0:
            expect(figure.locator(".empty")).to_have_text(re.compile("Chưa có số liệu"))
            continue
        drawn = canvas.evaluate(BAR_LABELS)
        if drawn:
            assert drawn["ticks"] == drawn["labels"], (name, figure.inner_text(), drawn)  # every bar named
            if drawn["horizontal"]:
                assert drawn["span"] / drawn["labels"] >= 14, (name, drawn)  # rows tall enough to read
    page.screenshot(path=str(RESULTS / f"staff-{name}.png"), full_page=True)
    assert page.errors == [], page.errors
    return main


@pytest.mark.parametrize("name, path", PAGES)
def test_every_page_is_readable(page: Page, name: str, path: str) -> None:
    page.goto(path + ("&" if "?" in path else "?") + RANGE)
    check_page(page, name)


def test_places_are_todays_units_former_districts_or_unknown(page: Page) -> None:
    for path, table in (("/funnel?by=locality", "funnel"), ("/offline?by=locality", "offline")):
        page.goto(f"{path}&{RANGE}")
        places = page.locator(f"table[data-table={table}] tbody tr td:first-child").all_inner_texts()
        assert places and all(p.strip() and p.strip() != "—" for p in places), places
        assert "huyện Duy Xuyên (cũ)" in places and "thành phố Hội An (cũ)" in places
        assert places[-1] == "Không rõ địa bàn"  # leaders read the places first
        assert len(places) == len(set(places))  # one row per place, however it was typed
    page.goto(f"/funnel?by=locality&{RANGE}")
    duy_xuyen = page.locator("tr", has_text="huyện Duy Xuyên (cũ)")
    expect(duy_xuyen).to_contain_text("25,0 %")  # its target, beside its progress
    expect(page.locator("tr", has_text="Không rõ địa bàn").locator("input")).to_have_count(0)


def test_why_offline_shows_the_citizens_words(page: Page) -> None:
    page.goto(f"/offline?by=locality&{RANGE}")
    expect(page.locator("table[data-table=words]")).to_contain_text("tại thấy phức tạp quá")
    other = page.locator("table[data-table=other]")
    expect(other).to_contain_text("mạng ở nhà yếu lắm, toàn rớt")
    expect(other).to_contain_text("để con tôi làm giúp khi nó về")


def test_satisfaction_counts_typed_thanks(page: Page) -> None:
    page.goto(f"/satisfaction?by=procedure&{RANGE}")
    row = page.locator("tr", has_text="Cấp đổi Giấy chứng nhận quyền sử dụng đất")
    headers = page.locator("table[data-table=ratings] th").all_inner_texts()
    cells = row.locator("td").all_inner_texts()
    assert cells[headers.index("Trong đó gõ lời cảm ơn")] == "2"  # the seeded one and the ingested one


def test_the_viewer_shows_what_the_citizen_saw_and_pressed(page: Page) -> None:
    page.goto(f"/conversations?{RANGE}")
    page.locator("tr", has_text="Khung chat trên website").first.get_by_role("link").first.click()
    viewer = page.locator("ol.messages")
    expect(viewer).to_contain_text("Bấm nút «Hữu ích»")
    expect(viewer).to_contain_text("Bấm nút «Hộ tịch»")
    expect(viewer).to_contain_text("Bấm nút: Bắt đầu lại")  # a payload no button offered
    expect(page.locator("ul.offered li")).to_contain_text(["Hộ tịch", "Đất đai", "Hữu ích", "Chưa hữu ích"])
    check_page(page, "mot-hoi-thoai")


def test_the_procedures_page_shows_national_codes(page: Page) -> None:
    page.goto(f"/procedures?{RANGE}")
    table = page.locator("table[data-table=procedures]")
    expect(table.locator("tr", has_text="Cấp đổi Giấy chứng nhận")).to_contain_text("1.012783")
    expect(table).not_to_contain_text("giấy phép")


def test_the_weekly_report_prints_clean(page: Page) -> None:
    page.goto("/report?week=2026-W11")
    main = check_page(page, "bao-cao-tuan")
    assert "09/03/2026" in main and "15/03/2026" in main
    fields = page.locator("table[data-table=field]")
    expect(fields).to_contain_text("Hộ tịch")
    expect(fields).to_contain_text("điểm %")  # the change from the week before
    places = page.locator("table[data-table=locality] tbody tr td:first-child").all_inner_texts()
    assert "huyện Duy Xuyên (cũ)" in places and places[-1] == "Không rõ địa bàn"
    page.emulate_media(media="print")
    page.screenshot(path=str(RESULTS / "staff-bao-cao-tuan-in.png"), full_page=True)
    expect(page.locator("nav.sections")).to_be_hidden()
    expect(page.get_by_role("button", name=re.compile("In báo cáo"))).to_be_hidden()
    page.pdf(path=str(RESULTS / "bao-cao-tuan.pdf"), format="A4", landscape=True, print_background=True)
    page.emulate_media(media="screen")
    assert (RESULTS / "bao-cao-tuan.pdf").stat().st_size > 10_000


def test_every_intent_has_a_vietnamese_name() -> None:
    from bot.staff import views

    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    intents = [i if isinstance(i, str) else next(iter(i)) for i in domain["intents"]]
    for intent in intents + ["nlu_fallback", "restart", "session_start"]:
        name = views.label("intents", intent)
        assert name != intent and not unreadable(name), intent


def test_masking_in_the_viewer_hides_the_number_not_the_sentence(page: Page) -> None:
    from bot.staff.views import citizen_code

    page.goto(f"/conversations?{RANGE}&channel=zalo")
    page.locator("tr", has_text=citizen_code("zalo-6006")).get_by_role("link").first.click()
    viewer = page.locator("ol.messages")
    expect(viewer).to_contain_text("tôi không nhớ 4 số cuối, hồ sơ trễ hẹn cả tháng rồi mà không ai gọi")
    expect(viewer).to_contain_text("số cuối là *** nhưng sao vẫn chưa xong")
    assert "5678" not in viewer.inner_text()


def test_a_range_without_data_says_so_instead_of_drawing_empty_axes(page: Page) -> None:
    for path in ("/", "/procedures", "/funnel?by=procedure", "/offline", "/satisfaction", "/lookups"):
        page.goto(path + ("&" if "?" in path else "?") + "start=2025-01-01&end=2025-01-07")
        figures = page.locator("figure.chart")
        assert figures.count() > 0, path
        expect(page.locator("figure.chart canvas"), path).to_have_count(0)
        for figure in figures.all():
            expect(figure.locator(".empty")).to_have_text(re.compile("Chưa có số liệu"))
