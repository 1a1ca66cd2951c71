"""Who may see what: the session cookie, logging in and out, the CSRF token of every POST, the
security headers of every response, and the role a route needs.

Every page needs a session except /login and /health (and the static files, which hold no
data); a page without one redirects to /login, a CSV or YAML export answers 401.
"""

from __future__ import annotations

import re
import secrets
from functools import wraps
from typing import Any, Callable, Optional
from urllib.parse import quote

from sanic import Blueprint, Sanic
from sanic.request import Request
from sanic.response import HTTPResponse, redirect, text

from bot.staff import auth
from bot.staff.shared import Handler, Site, full_path, offload

SESSION_COOKIE = "staff_session"
LOGIN_COOKIE = "staff_login"  # CSRF token of the login form, before there is a session
PUBLIC_PATHS = ("/login", "/health", "/favicon.ico")
_LOGIN_TOKEN = re.compile(r"^[A-Za-z0-9_\-]{43}$")
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def safe_next(target: Optional[str]) -> str:
    """Only a path of this site: never //host or a scheme (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def set_cookie(response: HTTPResponse, name: str, value: str, max_age: int, secure: bool, path: str = "/") -> None:
    """Cookies of the app: never readable by scripts, never sent by another site."""
    response.cookies[name] = value
    cookie = response.cookies[name]
    cookie["httponly"] = True
    cookie["samesite"] = "Strict"
    cookie["path"] = path
    cookie["max-age"] = max_age
    if secure:
        cookie["secure"] = True


def wants_data(request: Request) -> bool:
    return request.args.get("format") in ("csv", "yaml") or "application/json" in request.headers.get("accept", "")


def install(app: Sanic, site: Site) -> None:
    """Middleware of every request, whatever its route (or none): the session and the CSRF
    token before, the security headers after."""

    async def authenticate(request: Request) -> Optional[HTTPResponse]:
        if request.path in PUBLIC_PATHS or request.path.startswith("/static/"):
            return None
        session = await offload(auth.session_for, site.engine, request.cookies.get(SESSION_COOKIE))
        if session is None:
            if wants_data(request):
                return text("Cần đăng nhập.", status=401, headers={"WWW-Authenticate": 'Cookie realm="staff"'})
            return redirect("/login?next=" + quote(full_path(request), safe=""), status=303)
        request.ctx.session = session
        if request.method == "POST" and not auth.same_token(request.form.get("csrf_token"), session.csrf_token):
            return site.error(403, "csrf")
        return None

    async def security_headers(request: Request, response: HTTPResponse) -> None:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)

    app.on_request(authenticate)
    app.on_response(security_headers)


def requires_role(site: Site, role: str) -> Callable[[Handler], Handler]:
    """A route only sessions of `role` may use; any other gets the error page (403, role)."""

    def decorate(handler: Handler) -> Handler:
        @wraps(handler)
        async def checked(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
            session: auth.Session = request.ctx.session
            if session.role != role:
                return site.error(403, "role")
            return await handler(request, *args, **kwargs)

        return checked

    return decorate


def blueprint(site: Site) -> Blueprint:
    routes = Blueprint("security")

    def login_page(request: Request, status: int = 200, error: Optional[str] = None,
                   name: str = "") -> HTTPResponse:
        # One token per browser, kept across reloads and tabs (and the favicon request).
        token = request.cookies.get(LOGIN_COOKIE) or ""
        if not _LOGIN_TOKEN.match(token):
            token = secrets.token_urlsafe(32)
        response = site.render("login.html", status=status, error=error, name=name, login_token=token,
                               next=safe_next(request.args.get("next") or request.form.get("next")))
        set_cookie(response, LOGIN_COOKIE, token, 1800, site.secure_cookies, path="/login")
        return response

    @routes.get("/login")
    async def login_form(request: Request) -> HTTPResponse:
        if await offload(auth.session_for, site.engine, request.cookies.get(SESSION_COOKIE)):
            return redirect(safe_next(request.args.get("next")), status=303)
        return login_page(request)

    @routes.post("/login")
    async def login(request: Request) -> HTTPResponse:
        if not auth.same_token(request.form.get("csrf_token"), request.cookies.get(LOGIN_COOKIE)):
            return site.error(403, "csrf")
        name = (request.form.get("name") or "")[:64]
        outcome, session = await offload(auth.log_in, site.engine, name, request.form.get("password") or "")
        if outcome == "locked":
            return login_page(request, status=429, error="locked", name=name)
        if session is None:
            return login_page(request, status=401, error="refused", name=name)
        response = redirect(safe_next(request.form.get("next")), status=303)
        set_cookie(response, SESSION_COOKIE, session.token, auth.SESSION_HOURS * 3600, site.secure_cookies)
        set_cookie(response, LOGIN_COOKIE, "", 0, site.secure_cookies, path="/login")
        return response

    @routes.post("/logout")
    async def logout(request: Request) -> HTTPResponse:
        await offload(auth.log_out, site.engine, request.ctx.session.token)
        response = redirect("/login", status=303)
        set_cookie(response, SESSION_COOKIE, "", 0, site.secure_cookies)
        return response

    return routes
