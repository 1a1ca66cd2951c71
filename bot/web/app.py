"""Serves the chat widget (web/) and a demo portal page that embeds it.

Only the files a page needs are routed: no directory is listed and anything else is a 404.
The demo page gets the widget's and Rasa's addresses from the Host header of its own
request, so it works on whatever host the browser used to reach it.
"""

from __future__ import annotations

import html
import itertools
from pathlib import Path
from typing import Dict, Tuple

import yaml
from sanic import Sanic, response
from sanic.headers import parse_host
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.config import ROOT, Settings

WEB_DIR = ROOT / "web"
_names = itertools.count()

# route → (file under web/, content type)
ASSETS: Dict[str, Tuple[str, str]] = {
    "/widget.js": ("widget.js", "application/javascript; charset=utf-8"),
    "/widget.css": ("widget.css", "text/css; charset=utf-8"),
    "/vendor/socket.io.min.js": ("vendor/socket.io.min.js", "application/javascript; charset=utf-8"),
}
DEMO_PAGE = "demo/index.html"
COMMON_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}


class MissingAsset(RuntimeError):
    pass


def check_assets(web_dir: Path) -> None:
    missing = [name for name, _ in ASSETS.values() if not (web_dir / name).is_file()]
    if not (web_dir / DEMO_PAGE).is_file():
        missing.append(DEMO_PAGE)
    if missing:
        hint = " (run `cd web && npm install && npm run vendor`)" if any("vendor/" in m for m in missing) else ""
        raise MissingAsset(f"missing in {web_dir}: {', '.join(missing)}{hint}")


def hotline(settings: Settings) -> Tuple[str, str]:
    profile = yaml.safe_load(settings.province_profile.read_text(encoding="utf-8")) or {}
    line = profile.get("hotline") or {}
    return str(line.get("number", "")), str(line.get("name", ""))


def demo_page(template: str, scheme: str, host: str, port: int | None, rasa_port: int,
              hotline_number: str, hotline_name: str) -> str:
    own = f"{scheme}://{host}" + (f":{port}" if port else "")
    values = {
        "{{WIDGET_ORIGIN}}": own,
        "{{RASA_URL}}": f"{scheme}://{host}:{rasa_port}",
        "{{HOTLINE}}": hotline_number,
        "{{HOTLINE_NAME}}": hotline_name,
    }
    for placeholder, value in values.items():
        template = template.replace(placeholder, html.escape(value, quote=True))
    return template


def content_security_policy(scheme: str, host: str, rasa_port: int) -> str:
    # The demo shows the widget working under a strict policy, as a portal may have one.
    socket_scheme = "wss" if scheme == "https" else "ws"
    rasa = f"{scheme}://{host}:{rasa_port} {socket_scheme}://{host}:{rasa_port}"
    return ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            f"img-src 'self' data: https:; connect-src 'self' {rasa}; form-action 'self'; "
            "base-uri 'none'; frame-ancestors 'self'")


def create_app(settings: Settings, web_dir: Path = WEB_DIR) -> Sanic:
    check_assets(web_dir)
    hotline_number, hotline_name = hotline(settings)
    app = Sanic(f"web_{next(_names)}")

    def asset(name: str, content_type: str):
        async def handler(_: Request) -> HTTPResponse:
            # Read on each request: an edited widget shows without a restart.
            body = (web_dir / name).read_bytes()
            return response.raw(body, content_type=content_type, headers=COMMON_HEADERS)
        return handler

    for route, (name, content_type) in ASSETS.items():
        app.add_route(asset(name, content_type), route, methods=["GET"], name=name.replace("/", "_").replace(".", "_"))

    @app.get("/")
    async def demo(request: Request) -> HTTPResponse:
        host, port = parse_host(request.host)
        if not host:
            return response.text("Bad Host header", status=400)
        scheme = "https" if request.scheme in ("https", "wss") else "http"
        page = demo_page((web_dir / DEMO_PAGE).read_text(encoding="utf-8"), scheme, host, port,
                         settings.rasa_port, hotline_number, hotline_name)
        headers = {**COMMON_HEADERS, "Content-Security-Policy": content_security_policy(scheme, host, settings.rasa_port)}
        return response.html(page, headers=headers)

    @app.get("/health")
    async def health(_: Request) -> HTTPResponse:
        return response.json({"status": "ok"})

    return app
