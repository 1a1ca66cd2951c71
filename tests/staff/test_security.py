"""Getting past the staff app's login: cookies that are not a live session, and paths, methods
and proxy headers that might reach a page without one. Against the app as a real subprocess."""

from __future__ import annotations

import datetime as dt
import hashlib
import http.client
import secrets
from typing import Dict, Optional

import pytest
from sqlalchemy import create_engine, insert, select, update

from bot import clock
from bot.staff import auth
from bot.staff.models import sessions
from tests.staff.conftest import ADMIN, PERIOD, VIEWER, Reply

# What only a logged-in page shows: the logout button and the seeded data.
SIGNED_IN = ("Đăng xuất", "Tổng quan", "data-kpi=")


def raw(staff_app, method: str, target: str, headers: Optional[Dict[str, str]] = None) -> Reply:
    """One request exactly as written: no normalisation of the path, any method and headers."""
    connection = http.client.HTTPConnection("127.0.0.1", staff_app.port, timeout=20)
    connection.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
    for name, value in {"Host": f"127.0.0.1:{staff_app.port}", **(headers or {})}.items():
        connection.putheader(name, value)
    connection.endheaders()
    response = connection.getresponse()
    reply = Reply(response.status, {k.lower(): v for k, v in response.getheaders()},
                  response.headers.get_all("Set-Cookie") or [], response.read())
    connection.close()
    return reply


def refused(reply: Reply) -> bool:
    """No page, no data: sent to the login page, asked to log in, or nothing there."""
    body = reply.body.decode("utf-8", "replace")
    if any(mark in body for mark in SIGNED_IN) or "text/csv" in reply.headers.get("content-type", ""):
        return False
    if reply.status == 303:
        return reply.headers["location"].startswith("/login")
    return reply.status in (400, 401, 403, 404, 405)


def engine(staff_app):
    return create_engine(staff_app.app_db_url, future=True)


def cookie(token: str) -> Dict[str, str]:
    return {"Cookie": f"staff_session={token}"}


# -- cookies that are not a live session ---------------------------------------------------

def test_a_live_session_cookie_reaches_the_pages(staff_app, viewer):
    # The control for every test below: the same requests with a real cookie do get in.
    token = viewer.cookies["staff_session"]
    assert raw(staff_app, "GET", "/?start=2026-03-10&end=2026-03-11", cookie(token)).status == 200
    assert not refused(raw(staff_app, "GET", "/intents?format=csv", cookie(token)))


def test_random_and_tampered_session_cookies_are_refused(staff_app, viewer):
    token = viewer.cookies["staff_session"]
    flipped = ("A" if token[0] != "A" else "B") + token[1:]
    # (Spaces or quotes around the value are the same cookie to any parser, so they are not here.)
    forged = [secrets.token_urlsafe(32), flipped, token[:-1], token + "A", token.upper(), token.lower(),
              token + token, "", "null", "' OR '1'='1", "a" * 129, token[:16], token.replace("-", "+")]
    for value in (v for v in forged if v != token):
        for path in ("/", "/intents?format=csv", "/conversations/1"):
            reply = raw(staff_app, "GET", path, cookie(value))
            assert refused(reply), (value, path, reply.status)
    assert raw(staff_app, "GET", "/", cookie(token)).status == 200  # the real one still works


def test_values_the_database_holds_are_not_session_cookies(staff_app, viewer):
    """A leaked table (token hashes, CSRF tokens) or the login form's cookie opens nothing."""
    token = viewer.cookies["staff_session"]
    with engine(staff_app).connect() as connection:
        row = connection.execute(select(sessions).where(
            sessions.c.token_hash == hashlib.sha256(token.encode()).hexdigest())).mappings().one()
    login_cookie = staff_app.client()
    login_cookie.get("/login")
    for value in (row["token_hash"], row["csrf_token"], login_cookie.cookies["staff_login"]):
        assert refused(raw(staff_app, "GET", "/", cookie(value))), value


def test_an_expired_session_is_refused(staff_app):
    client = staff_app.client()
    assert client.login(*VIEWER).status == 303
    token = client.cookies["staff_session"]
    assert client.get("/", **PERIOD).status == 200
    with engine(staff_app).begin() as connection:
        connection.execute(update(sessions).where(sessions.c.token_hash == hashlib.sha256(token.encode()).hexdigest())
                           .values(expires_at=clock.now() - dt.timedelta(seconds=1)))
    assert refused(client.get("/", **PERIOD))
    assert refused(client.get("/intents", format="csv", **PERIOD))


def test_a_session_of_a_removed_or_reset_account_is_refused(staff_app):
    database = engine(staff_app)
    auth.add_user(database, "tam-thoi", "admin", "mat-khau-tam-thoi-1")
    removed = staff_app.client()
    assert removed.login("tam-thoi", "mat-khau-tam-thoi-1").status == 303
    reset = staff_app.client()
    assert reset.login("tam-thoi", "mat-khau-tam-thoi-1").status == 303
    assert reset.get("/", **PERIOD).status == 200

    auth.add_user(database, "tam-thoi", "viewer", "mat-khau-moi-hoan-toan", replace=True)
    assert refused(reset.get("/", **PERIOD))
    assert auth.remove_user(database, "tam-thoi")
    assert refused(removed.get("/", **PERIOD))
    # A session row left behind for a name without an account opens nothing either.
    orphan = secrets.token_urlsafe(32)
    with database.begin() as connection:
        connection.execute(insert(sessions).values(
            token_hash=hashlib.sha256(orphan.encode()).hexdigest(), user_name="tam-thoi", csrf_token="x" * 43,
            created_at=clock.now(), expires_at=clock.now() + dt.timedelta(hours=1)))
    assert refused(raw(staff_app, "GET", "/", cookie(orphan)))


def test_another_users_csrf_token_does_not_pass_for_mine(viewer, admin):
    """The token is the session's: a viewer cannot borrow the admin's (nor the admin the viewer's)."""
    form = {"scope": "field", "key": "ho_tich", "target": "70", **PERIOD}
    assert admin.post("/funnel/targets", {**form, "csrf_token": viewer.csrf()}).status == 403
    assert viewer.post("/funnel/targets", {**form, "csrf_token": admin.csrf()}).status == 403
    assert viewer.post("/logout", {"csrf_token": admin.csrf()}).status == 403
    assert viewer.get("/", **PERIOD).status == 200 and admin.get("/", **PERIOD).status == 200


def test_a_planted_session_cookie_is_replaced_at_login(staff_app):
    """No session fixation: the cookie a third party set before the login is never the session."""
    client = staff_app.client()
    planted = secrets.token_urlsafe(32)
    client.cookies["staff_session"] = planted
    assert client.login(*ADMIN).status == 303
    assert client.cookies["staff_session"] != planted
    assert refused(raw(staff_app, "GET", "/", cookie(planted)))


# -- paths, methods and headers without a session -------------------------------------------

TRICKS = [
    "/%2e%2e/intents", "/%2E%2E/conversations/1", "/./intents", "/login/../intents", "/login/..%2fintents",
    "/login%2f..%2fintents", "/static/../intents", "/static/%2e%2e/intents", "/static/..%2f..%2fconversations/1",
    "/static//../intents", "/health/../conversations/1", "//intents", "//conversations/1", "///",
    "/intents/", "/intents.", "/intents%2e", "/intents/.", "/intents/..", "/conversations/1.",
    "/conversations/1/", "/conversations/01", "/conversations/+1", "/INTENTS", "/%69ntents", "/intents;/login",
    "/intents?/login", "/intents#/login", "/login;/../intents", "/favicon.ico/../intents", "/funnel\\..\\login",
    "/intents?format=csv&next=/login", "http://127.0.0.1/intents", "/static/staff.css/../../intents",
]


@pytest.mark.parametrize("target", TRICKS)
def test_path_tricks_do_not_reach_a_page_without_a_session(staff_app, target):
    reply = raw(staff_app, "GET", target)
    assert refused(reply), (target, reply.status, reply.headers.get("location"), reply.text[:200])


@pytest.mark.parametrize("method", ["HEAD", "OPTIONS", "GET", "POST", "PUT", "DELETE", "PATCH", "TRACE"])
def test_no_method_reaches_a_page_without_a_session(staff_app, method):
    for path in ("/", "/intents", "/conversations/1", "/funnel/targets", "/ingest", "/not-understood?format=yaml"):
        reply = raw(staff_app, method, path, {"Content-Length": "0"})
        assert refused(reply), (method, path, reply.status, reply.text[:200])


PROXY_HEADERS = [
    {"X-Forwarded-For": "127.0.0.1"}, {"X-Real-IP": "127.0.0.1"}, {"X-Forwarded-Host": "localhost"},
    {"X-Forwarded-Proto": "https"}, {"X-Forwarded-Prefix": "/login"}, {"X-Forwarded-Path": "/login"},
    {"X-Original-URL": "/login"}, {"X-Rewrite-URL": "/login"}, {"X-Forwarded-User": ADMIN[0]},
    {"X-Remote-User": ADMIN[0]}, {"Forwarded": "for=127.0.0.1;proto=https;host=localhost"},
    {"X-HTTP-Method-Override": "GET"}, {"Authorization": f"Basic {ADMIN[0]}:{ADMIN[1]}"},
    {"Referer": "http://127.0.0.1/login"},
]


@pytest.mark.parametrize("headers", PROXY_HEADERS, ids=lambda headers: next(iter(headers)))
def test_proxy_and_identity_headers_do_not_stand_in_for_a_session(staff_app, headers):
    for path in ("/", "/intents?format=csv", "/conversations/1"):
        reply = raw(staff_app, "GET", path, headers)
        assert refused(reply), (headers, path, reply.status)
