"""The staff analytics web app (Sanic, one worker).

Every page needs a session except /login and /health (and the static files, which hold no
data); a page without one redirects to /login, a CSV or YAML export answers 401. Every POST
carries the session's CSRF token. Tracker events are ingested in the background every few
seconds, so a page only ever reads the analytics tables.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import logging
import re
import secrets
import threading
from functools import partial
from pathlib import Path
from typing import Any, Callable, Dict, Optional
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sanic import Sanic
from sanic.request import Request
from sanic.response import HTTPResponse, html, json, raw, redirect, text
from sqlalchemy.engine import Engine

from bot.analytics import engines, filters, ingest, nlu_export, online, queries, targets
from bot.config import ROOT, Settings
from bot.staff import auth, views
from bot.staff.models import metadata as staff_metadata

logger = logging.getLogger(__name__)
STATIC_DIR = ROOT / "web" / "staff"
SESSION_COOKIE = "staff_session"
LOGIN_COOKIE = "staff_login"  # CSRF token of the login form, before there is a session
PUBLIC_PATHS = ("/login", "/health", "/favicon.ico")
_LOGIN_TOKEN = re.compile(r"^[A-Za-z0-9_\-]{43}$")
ASSETS = {
    "staff.css": "text/css; charset=utf-8",
    "staff.js": "application/javascript; charset=utf-8",
    "vendor/chart.umd.js": "application/javascript; charset=utf-8",
}
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
NLU_EXPORT_LIMIT = 20_000
_names = itertools.count()


class MissingAsset(RuntimeError):
    pass


def check_assets(static_dir: Path) -> None:
    missing = [name for name in ASSETS if not (static_dir / name).is_file()]
    if missing:
        hint = " (run `cd web/staff && npm ci && npm run vendor`)" if any("vendor/" in m for m in missing) else ""
        raise MissingAsset(f"missing in {static_dir}: {', '.join(missing)}{hint}")


async def offload(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Database work and scrypt run in a thread: the event loop keeps serving."""
    return await asyncio.get_running_loop().run_in_executor(None, partial(function, *args, **kwargs))


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


def create_app(settings: Settings, static_dir: Path = STATIC_DIR, ingest_every_s: float = 5.0) -> Sanic:
    check_assets(static_dir)
    engine: Engine = engines.app_engine(settings.app_db_url)
    staff_metadata.create_all(engine)
    events, source = engines.event_source(settings)
    ingest_lock = threading.Lock()
    secure = settings.staff_secure_cookies
    templates = Environment(loader=FileSystemLoader(str(views.TEMPLATES)), autoescape=True,
                            undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    templates.filters["show"] = views.display
    templates.filters["label"] = lambda code, group: views.label(group, code)

    app = Sanic(f"staff_{next(_names)}")
    app.config.REQUEST_MAX_SIZE = 64 * 1024  # forms only
    app.ctx.engine = engine

    def run_ingestion() -> ingest.IngestResult:
        with ingest_lock:
            return ingest.ingest(engine, events, source=source)

    async def ingest_forever() -> None:
        while True:
            try:
                await offload(run_ingestion)
            except Exception:  # noqa: BLE001 - a failed run is retried at the next tick
                logger.exception("ingestion of Rasa's events failed")
            await asyncio.sleep(ingest_every_s)

    @app.after_server_start
    async def start_ingestion(app: Sanic, _loop) -> None:
        app.ctx.ingestion = asyncio.ensure_future(ingest_forever())

    @app.before_server_stop
    async def stop_ingestion(app: Sanic, _loop) -> None:
        task = getattr(app.ctx, "ingestion", None)
        if task:
            task.cancel()

    # -- cookies and rendering ----------------------------------------------------------

    def render(template: str, status: int = 200, **context: Any) -> HTTPResponse:
        body = templates.get_template(template).render(labels=views.labels(), **context)
        return html(body, status=status, headers={"Cache-Control": "no-store"})

    def page_context(request: Request, f: filters.Filters, problems, **extra: Any) -> Dict[str, Any]:
        session: auth.Session = request.ctx.session
        keep = {"by": extra.get("by")} if extra.get("by") else {}

        def url(path: str, **args: Any) -> str:
            query = {**f.as_query(), **{k: v for k, v in args.items() if v is not None}}
            return path + "?" + urlencode(query)

        return {"user": session.user_name, "role": session.role, "csrf_token": session.csrf_token,
                "filters": f, "problems": problems, "url": url, "path": request.path, "keep": keep,
                "current": request.path + ("?" + request.query_string if request.query_string else ""),
                **extra}

    def filters_of(request: Request):
        return filters.parse_filters(request.args.get("start"), request.args.get("end"),
                                     request.args.get("channel"))

    # -- authentication -----------------------------------------------------------------

    @app.on_request
    async def authenticate(request: Request) -> Optional[HTTPResponse]:
        if request.path in PUBLIC_PATHS or request.path.startswith("/static/"):
            return None
        session = await offload(auth.session_for, engine, request.cookies.get(SESSION_COOKIE))
        if session is None:
            if wants_data(request):
                return text("Cần đăng nhập.", status=401, headers={"WWW-Authenticate": 'Cookie realm="staff"'})
            target = request.path + ("?" + request.query_string if request.query_string else "")
            return redirect("/login?next=" + quote(target, safe=""), status=303)
        request.ctx.session = session
        if request.method == "POST" and not auth.same_token(request.form.get("csrf_token"), session.csrf_token):
            return render("error.html", status=403, code=403, reason="csrf")
        return None

    @app.on_response
    async def security_headers(request: Request, response: HTTPResponse) -> None:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)

    @app.get("/health")
    async def health(request: Request) -> HTTPResponse:
        try:
            checkpoint = await offload(ingest.read_checkpoint, engine, source)
        except Exception:  # noqa: BLE001
            return json({"status": "database unavailable"}, status=503)
        return json({"status": "ok", "last_event_id": checkpoint})

    @app.get("/favicon.ico")
    async def favicon(request: Request) -> HTTPResponse:
        return HTTPResponse(status=204)

    @app.get("/login")
    async def login_form(request: Request) -> HTTPResponse:
        if await offload(auth.session_for, engine, request.cookies.get(SESSION_COOKIE)):
            return redirect(safe_next(request.args.get("next")), status=303)
        return login_page(request)

    def login_page(request: Request, status: int = 200, error: Optional[str] = None,
                   name: str = "") -> HTTPResponse:
        # One token per browser, kept across reloads and tabs (and the favicon request).
        token = request.cookies.get(LOGIN_COOKIE) or ""
        if not _LOGIN_TOKEN.match(token):
            token = secrets.token_urlsafe(32)
        response = render("login.html", status=status, error=error, name=name, login_token=token,
                          next=safe_next(request.args.get("next") or request.form.get("next")))
        set_cookie(response, LOGIN_COOKIE, token, 1800, secure, path="/login")
        return response

    @app.post("/login")
    async def login(request: Request) -> HTTPResponse:
        if not auth.same_token(request.form.get("csrf_token"), request.cookies.get(LOGIN_COOKIE)):
            return render("error.html", status=403, code=403, reason="csrf")
        name = (request.form.get("name") or "")[:64]
        outcome, session = await offload(auth.log_in, engine, name, request.form.get("password") or "")
        if outcome == "locked":
            return login_page(request, status=429, error="locked", name=name)
        if session is None:
            return login_page(request, status=401, error="refused", name=name)
        response = redirect(safe_next(request.form.get("next")), status=303)
        set_cookie(response, SESSION_COOKIE, session.token, auth.SESSION_HOURS * 3600, secure)
        set_cookie(response, LOGIN_COOKIE, "", 0, secure, path="/login")
        return response

    @app.post("/logout")
    async def logout(request: Request) -> HTTPResponse:
        await offload(auth.log_out, engine, request.ctx.session.token)
        response = redirect("/login", status=303)
        set_cookie(response, SESSION_COOKIE, "", 0, secure)
        return response

    # -- the analytics pages ------------------------------------------------------------

    def download(body: str, content_type: str, name: str) -> HTTPResponse:
        return raw(body.encode("utf-8"), content_type=content_type,
                   headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})

    def page_handler(path: str, template: str, build: Callable[..., views.Page]):
        async def handler(request: Request) -> HTTPResponse:
            f, problems = filters_of(request)
            wanted = request.args.get("format")
            if wanted == "yaml" and path == "/not-understood":
                missed = await offload(queries.not_understood, engine, f, NLU_EXPORT_LIMIT)
                return download(nlu_export.nlu_yaml(row["text"] for row in missed),
                                "application/x-yaml; charset=utf-8", views.export_name(path, "nlu", f, "yml"))
            args = {"by": request.args.get("by")}
            kwargs = {"can_edit": request.ctx.session.role == "admin"} if path == "/funnel" else {}
            page = await offload(build, engine, f, args, **kwargs)
            if wanted == "csv":
                table = views.table_rows(page, request.args.get("table"))
                return download(views.to_csv(table), "text/csv; charset=utf-8",
                                views.export_name(path, table.name, f))
            known = await offload(queries.channels, engine)
            return render(template, page=page, channels=known,
                          **page_context(request, f, problems, **page.context))

        handler.__name__ = "page_" + (path.strip("/").replace("-", "_") or "overview")
        return handler

    for path, (template, build) in views.PAGES.items():
        app.add_route(page_handler(path, template, build), path, methods=["GET"])

    @app.get("/report")
    async def weekly_report(request: Request) -> HTTPResponse:
        monday, unreadable = filters.parse_week(request.args.get("week"))
        page = await offload(views.report, engine, monday)
        f = page.context["week"]
        if request.args.get("format") == "csv":
            table = views.table_rows(page, request.args.get("table"))
            return download(views.to_csv(table), "text/csv; charset=utf-8",
                            views.export_name("/report", table.name, f))
        known = await offload(queries.channels, engine)

        def week_url(day: dt.date) -> str:
            return "/report?" + urlencode({"week": filters.week_code(day)})

        return render("report.html", page=page, channels=known, week_url=week_url, week_code=filters.week_code(monday),
                      previous=page.context["before"].start, following=f.start + dt.timedelta(days=7),
                      current_week=filters.week_of(filters.today()),
                      **page_context(request, f, ["week"] if unreadable else [], **page.context))

    @app.post("/funnel/targets")
    async def edit_target(request: Request) -> HTTPResponse:
        session: auth.Session = request.ctx.session
        if session.role != "admin":
            return render("error.html", status=403, code=403, reason="role")
        scope, key = request.form.get("scope") or "", (request.form.get("key") or "").strip()
        raw_target = (request.form.get("target") or "").strip().replace(",", ".").rstrip("%").strip()
        try:
            share = None if raw_target == "" else float(raw_target) / 100.0
            await offload(targets.set_target, engine, scope, key, share, session.user_name)
        except ValueError:
            return render("error.html", status=400, code=400, reason="target")
        f, _ = filters.parse_filters(request.form.get("start"), request.form.get("end"), request.form.get("channel"))
        by = scope if scope in online.GROUPINGS else "field"
        return redirect("/funnel?" + urlencode({**f.as_query(), "by": by}), status=303)

    @app.post("/ingest")
    async def ingest_now(request: Request) -> HTTPResponse:
        await offload(run_ingestion)
        return redirect(safe_next(request.form.get("next")), status=303)

    # -- conversations ------------------------------------------------------------------

    @app.get("/conversations")
    async def conversation_list(request: Request) -> HTTPResponse:
        f, problems = filters_of(request)
        try:
            number = max(0, min(int(request.args.get("page") or 0), 10_000))
        except ValueError:
            number = 0
        rows = await offload(views.conversation_list, engine, f, number)
        known = await offload(queries.channels, engine)
        return render("conversations.html", rows=rows, number=number, channels=known,
                      **page_context(request, f, problems))

    @app.get("/conversations/<conversation_id:int>")
    async def conversation(request: Request, conversation_id: int) -> HTTPResponse:
        f, problems = filters_of(request)
        found = await offload(queries.conversation, engine, conversation_id)
        if found is None:
            return render("error.html", status=404, code=404, reason="missing")
        found["citizen"] = views.citizen_code(found["sender_id"])
        known = await offload(queries.channels, engine)
        return render("conversation.html", conversation=found, channels=known,
                      **page_context(request, f, problems))

    # -- static files: only the ones listed ---------------------------------------------

    @app.get("/static/<name:path>")
    async def static(request: Request, name: str) -> HTTPResponse:
        if name not in ASSETS:
            return text("Không tìm thấy.", status=404)
        body = (static_dir / name).read_bytes()
        return raw(body, content_type=ASSETS[name], headers={"Cache-Control": "no-cache"})

    @app.exception(Exception)
    async def failure(request: Request, error: Exception) -> HTTPResponse:
        status = getattr(error, "status_code", 500) or 500
        if status >= 500:
            logger.exception("staff app error on %s", request.path, exc_info=error)
        return text("Không tìm thấy." if status == 404 else "Đã có lỗi.", status=status)

    return app
