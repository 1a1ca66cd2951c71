"""HTTP tests of the staff app running as a real subprocess."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import subprocess
import sys

import pytest
import yaml
from sqlalchemy import create_engine, func, inspect, select

from bot import clock
from bot.staff import views
from tests.analytics import seed
from tests.staff.conftest import ADMIN, LOCKABLE, PERIOD, ROOT, VIEWER

PAGES = [*views.PAGES, "/conversations", "/conversations/1"]


def read_csv(reply) -> list:
    assert reply.headers["content-type"] == "text/csv; charset=utf-8"
    assert reply.headers["content-disposition"].startswith("attachment;")
    return list(csv.reader(io.StringIO(reply.body.decode("utf-8-sig"))))


def row_counts(url: str) -> dict:
    engine = create_engine(url, future=True)
    try:
        with engine.connect() as connection:
            from sqlalchemy import MetaData

            tables = MetaData()
            tables.reflect(connection)
            return {name: connection.execute(select(func.count()).select_from(table)).scalar_one()
                    for name, table in tables.tables.items()
                    if not name.startswith("staff_")}  # sessions come and go with logins
    finally:
        engine.dispose()


def test_health_and_the_login_page_are_public(staff_app):
    client = staff_app.client()
    assert client.get("/health").status == 200
    page = client.get("/login")
    assert page.status == 200 and "Đăng nhập" in page.text and "Mật khẩu" in page.text


@pytest.mark.parametrize("path", PAGES)
def test_every_page_and_export_needs_a_session(staff_app, path):
    client = staff_app.client()
    page = client.get(path, **PERIOD)
    assert page.status == 303 and page.headers["location"].startswith("/login?next=")
    assert client.get(path, format="csv", **PERIOD).status == 401
    assert "Tổng quan" not in page.text


def test_exports_and_forms_without_a_session_are_refused(staff_app):
    client = staff_app.client()
    assert client.get("/not-understood", format="yaml").status == 401
    reply = client.post("/funnel/targets", {"scope": "field", "key": "ho_tich", "target": "90"})
    assert reply.status in (303, 401) and "/login" in reply.headers.get("location", "/login")


def test_a_wrong_password_is_refused(staff_app):
    client = staff_app.client()
    reply = client.login(ADMIN[0], "not-the-password")
    assert reply.status == 401 and "không đúng" in reply.text
    assert "staff_session" not in client.cookies
    assert client.login("nobody-here", "whatever-password").status == 401
    assert client.get("/").status == 303


def test_login_sets_a_strict_http_only_cookie_and_logout_ends_the_session(staff_app):
    client = staff_app.client()
    reply = client.login(*VIEWER)
    assert reply.status == 303 and reply.headers["location"] == "/"
    session_cookie = next(c for c in reply.set_cookies if c.startswith("staff_session="))
    for flag in ("HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=28800"):
        assert flag in session_cookie
    assert "Secure" not in session_cookie  # STAFF_SECURE_COOKIES=false in the test
    page = client.get("/", **PERIOD)
    assert page.status == 200 and "Tổng quan" in page.text and "canbo" in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    token = client.cookies["staff_session"]

    assert client.post("/logout", {"csrf_token": client.csrf()}).status == 303
    stale = staff_app.client()
    stale.cookies["staff_session"] = token
    assert stale.get("/").status == 303


def test_the_login_form_needs_its_token(staff_app):
    client = staff_app.client()
    client.get("/login")
    assert client.post("/login", {"name": ADMIN[0], "password": ADMIN[1]}).status == 403
    assert client.post("/login", {"csrf_token": "forged", "name": ADMIN[0], "password": ADMIN[1]}).status == 403


def test_forms_without_the_csrf_token_are_forbidden(admin):
    form = {"scope": "field", "key": "ho_tich", "target": "90"}
    assert admin.post("/funnel/targets", form).status == 403
    assert admin.post("/funnel/targets", {**form, "csrf_token": "forged"}).status == 403
    assert admin.post("/logout", {}).status == 403
    assert admin.post("/ingest", {}).status == 403
    assert admin.get("/", **PERIOD).status == 200  # still logged in


def test_a_viewer_cannot_edit_targets_and_an_admin_can(viewer, admin):
    form = {"scope": "field", "key": "ho_tich", "target": "50", **PERIOD}
    refused = viewer.post("/funnel/targets", {**form, "csrf_token": viewer.csrf()})
    assert refused.status == 403 and "quản trị" in refused.text
    assert 'name="target"' not in viewer.get("/funnel", by="field", **PERIOD).text

    accepted = admin.post("/funnel/targets", {**form, "csrf_token": admin.csrf()})
    assert accepted.status == 303 and accepted.headers["location"].startswith("/funnel?")
    assert 'name="target"' in admin.get("/funnel", by="field", **PERIOD).text
    rows = read_csv(admin.get("/funnel", format="csv", by="field", **PERIOD))
    header = rows[0]
    ho_tich = next(r for r in rows if r[header.index("Mã (nội bộ)")] == "ho_tich")
    assert ho_tich[header.index("Chỉ tiêu")] == "0.5"
    assert ho_tich[header.index("Tỉ lệ nộp (đã nộp ÷ xem thủ tục)")] == "0.3333"
    bad = admin.post("/funnel/targets", {**form, "target": "150", "csrf_token": admin.csrf()})
    assert bad.status == 400


def test_sql_injection_in_filters_answers_normally_and_drops_nothing(staff_app, admin):
    before = row_counts(staff_app.app_db_url)
    tracker_before = row_counts(staff_app.tracker_db_url)
    attacks = [{"channel": "' OR 1=1 --"}, {"start": "2026-01-01'; DROP TABLE x; --"},
               {"end": "2026-03-11; DROP TABLE analytics_messages; --"},
               {"channel": "x--", "by": "procedure' UNION SELECT password_hash FROM staff_users --"},
               {"table": "days; DROP TABLE funnel_events"}]
    for attack in attacks:
        for path in ("/", "/intents", "/funnel", "/offline", "/not-understood", "/conversations"):
            assert admin.get(path, **attack).status == 200, (path, attack)
        assert admin.get("/latency", format="csv", **attack).status == 200
    page = admin.get("/", **{"channel": "' OR 1=1 --", **PERIOD})
    assert "Kênh không hợp lệ" in page.text and 'data-kpi="messages">14<' in page.text
    page = admin.get("/", **{"channel": "x--", **PERIOD})
    assert 'data-kpi="messages">0<' in page.text  # a bound value that matches no channel
    nasty_key = "ho_tich'); DROP TABLE analytics_targets; --"
    assert admin.post("/funnel/targets", {"scope": "locality", "key": nasty_key, "target": "10",
                                          "csrf_token": admin.csrf()}).status == 303
    after = row_counts(staff_app.app_db_url)
    assert after.pop("analytics_targets") == before.pop("analytics_targets", 0) + 1
    assert after == before
    assert row_counts(staff_app.tracker_db_url) == tracker_before
    assert "x" not in inspect(create_engine(staff_app.app_db_url)).get_table_names()


def test_csv_exports_have_their_rows(admin):
    rows = read_csv(admin.get("/", format="csv", **PERIOD))
    assert rows[0] == ["Ngày", "Kênh", "Cuộc trò chuyện", "Tin nhắn"]
    assert rows[1:] == [["2026-03-10", "Ứng dụng tích hợp (kết nối trực tiếp)", "1", "3"], ["2026-03-10", "Telegram", "1", "6"],
                        ["2026-03-11", "Telegram", "1", "1"], ["2026-03-11", "Zalo OA", "1", "4"]]
    telegram = read_csv(admin.get("/", format="csv", channel="telegram", **PERIOD))
    assert [r[1] for r in telegram[1:]] == ["Telegram", "Telegram"]
    reasons = read_csv(admin.get("/offline", format="csv", by="locality", **PERIOD))
    code, total = reasons[0].index("Mã (nội bộ)"), reasons[0].index("Tổng")
    assert {r[code]: r[total] for r in reasons[1:]} == {"xa-nui-thanh": "2", "phuong-tam-ky": "1"}
    assert [r[0] for r in reasons[1:]] == ["xã Núi Thành", "phường Tam Kỳ"]
    missed = read_csv(admin.get("/not-understood", format="csv", table="messages", **PERIOD))
    assert [r[2] for r in missed[1:]] == ["tên tôi là ***, số điện thoại ***, hỏi về đất", "abc xyz lung tung quá"]
    lookups = read_csv(admin.get("/lookups", format="csv", **PERIOD))
    code, count = lookups[0].index("Mã kết quả"), lookups[0].index("Lượt tra cứu")
    assert {r[code]: r[count] for r in lookups[1:]}["system_down"] == "1"


def test_the_nlu_export_is_rasa_yaml(admin):
    reply = admin.get("/not-understood", format="yaml", **PERIOD)
    assert reply.status == 200 and reply.headers["content-type"].startswith("application/x-yaml")
    data = yaml.safe_load(reply.text)
    assert data["version"] == "3.1"
    assert data["nlu"][0]["intent"] == "TODO_LABEL"
    assert "- abc xyz lung tung quá" in data["nlu"][0]["examples"].splitlines()
    assert "0912" not in reply.text


def test_every_page_renders_in_vietnamese_and_keeps_the_filters(admin):
    for path in PAGES:
        page = admin.get(path, channel="telegram", **PERIOD)
        assert page.status == 200, path
        assert 'lang="vi"' in page.text and "Đăng xuất" in page.text
        assert 'href="/intents?start=2026-03-10&amp;end=2026-03-11&amp;channel=telegram"' in page.text, path
    assert admin.get("/conversations/99999").status == 404


def test_the_conversation_view_masks_personal_data(admin):
    page = admin.get("/conversations/1", **PERIOD)
    assert page.status == 200
    for secret in ("0905123456", "049123456789", "Trần Thị Bích"):
        assert secret not in page.text
    assert page.text.count("***") >= 5
    assert "tg-1001" not in admin.get("/conversations", **PERIOD).text  # citizens appear by code


def test_repeated_wrong_passwords_lock_the_name_for_a_while(staff_app):
    client = staff_app.client()
    for _ in range(4):
        assert client.login(LOCKABLE[0], "wrong-password-x").status == 401
    assert client.login(LOCKABLE[0], "wrong-password-x").status == 429  # the fifth failure locks
    locked = client.login(LOCKABLE[0], LOCKABLE[1])
    assert locked.status == 429 and "tạm khóa" in locked.text
    assert staff_app.client().login(*VIEWER).status == 303  # other names are not affected


def test_on_demand_ingestion(admin):
    reply = admin.post("/ingest", {"csrf_token": admin.csrf(), "next": "/intents?start=2026-03-10"})
    assert reply.status == 303 and reply.headers["location"] == "/intents?start=2026-03-10"
    evil = admin.post("/ingest", {"csrf_token": admin.csrf(), "next": "//evil.example/"})
    assert evil.headers["location"] == "/"


# -- in-process: passwords, sessions and the users command ----------------------------------

def test_passwords_are_salted_scrypt_hashes():
    from bot.staff import auth

    first, second = auth.hash_password("mot-mat-khau-dai"), auth.hash_password("mot-mat-khau-dai")
    assert first.startswith("scrypt$16384$8$1$") and first != second
    assert auth.verify_password("mot-mat-khau-dai", first)
    assert not auth.verify_password("mot-mat-khau-dai!", first)
    assert not auth.verify_password("x", "md5$abc")


def test_sessions_expire(tmp_path):
    from sqlalchemy import update

    from bot.analytics.engines import app_engine
    from bot.staff import auth
    from bot.staff.models import metadata, sessions

    engine = app_engine(f"sqlite:///{tmp_path / 'a.db'}")
    metadata.create_all(engine)
    auth.add_user(engine, "an", "viewer", "mat-khau-du-dai")
    outcome, session = auth.log_in(engine, "An ", "mat-khau-du-dai")
    assert outcome == "ok" and auth.session_for(engine, session.token).role == "viewer"
    with engine.begin() as connection:
        connection.execute(update(sessions).values(expires_at=clock.now() - dt.timedelta(seconds=1)))
    assert auth.session_for(engine, session.token) is None
    assert auth.remove_user(engine, "an") and auth.log_in(engine, "an", "mat-khau-du-dai")[0] == "refused"


def test_the_users_command(tmp_path, monkeypatch, capsys):
    env = {**os.environ, "APP_DB_URL": f"sqlite:///{tmp_path / 'a.db'}", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "bot.staff", "users", "add", "Lan", "--role", "admin"],
                          input="mot-mat-khau-rat-dai\n", text=True, capture_output=True, env=env, cwd=ROOT,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    from bot.staff.__main__ import main

    monkeypatch.setenv("APP_DB_URL", env["APP_DB_URL"])
    monkeypatch.setattr(sys, "stdin", io.StringIO("ngan\n"))
    assert main(["users", "add", "binh", "--role", "viewer"]) == 1
    assert "at least 10" in capsys.readouterr().err
    monkeypatch.setattr(sys, "stdin", io.StringIO("mot-mat-khau-rat-dai\n"))
    assert main(["users", "add", "lan", "--role", "viewer"]) == 1  # exists
    assert main(["users", "list"]) == 0
    assert "lan\tadmin" in capsys.readouterr().out
    assert main(["users", "remove", "lan"]) == 0
    assert main(["users", "remove", "lan"]) == 1


def test_cookies_are_secure_when_configured():
    from sanic.response import HTTPResponse

    from bot.staff.security import set_cookie

    response = HTTPResponse()
    set_cookie(response, "staff_session", "token", 28800, secure=True)
    header = str(response.cookies["staff_session"])
    for flag in ("HttpOnly", "SameSite=Strict", "Path=/", "Secure", "Max-Age=28800"):
        assert flag in header


def test_lookup_lockouts_are_listed_for_staff(viewer):
    page = viewer.get("/lookups", **PERIOD).text
    assert "Khóa tra cứu" in page and seed.LOCKED_CODE in page
    assert "Mã hồ sơ (mọi người dân, mọi kênh)" in page and "Một người dân" in page and "Đã hết hạn" in page
    rows = read_csv(viewer.get("/lookups", format="csv", table="locks", **PERIOD))
    assert rows[0][:3] == ["Khóa lúc", "Khóa đến", "Trạng thái"]
    assert {(r[3], r[4], r[5]) for r in rows[1:]} == {
        ("Mã hồ sơ (mọi người dân, mọi kênh)", seed.LOCKED_CODE, "10"),
        ("Một người dân", views.citizen_code("rest-2002"), "5")}  # never the channel's id
    assert "rest-2002" not in page


def test_the_weekly_report_and_its_exports(admin):
    page = admin.get("/report", week="2026-W11")
    assert page.status == 200 and "Báo cáo tuần" in page.text and "09/03/2026" in page.text
    assert 'href="/report?week=2026-W10"' in page.text  # the week before, one click away
    fields = read_csv(admin.get("/report", week="2026-W11", format="csv", table="field"))
    assert fields[0][:3] == ["Lĩnh vực", "Xem thủ tục", "Đã nộp"] and fields[0][-1] == "Mã (nội bộ)"
    ho_tich = next(r for r in fields if r[-1] == "ho_tich")
    assert ho_tich[:3] == ["Hộ tịch", "3", "1"]
    places = read_csv(admin.get("/report", week="2026-W11", format="csv", table="locality"))
    assert places[0][0] == "Địa bàn" and {r[0] for r in places[1:]} == {"phường Tam Kỳ", "xã Núi Thành"}
    unreadable = admin.get("/report", week="tuần này")
    assert unreadable.status == 200 and "Tuần không đúng dạng" in unreadable.text
