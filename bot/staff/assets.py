"""The static files of the staff app: only the ones listed, checked when the app starts."""

from __future__ import annotations

from pathlib import Path

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, raw, text

from bot.config import ROOT

STATIC_DIR = ROOT / "web" / "staff"
ASSETS = {
    "staff.css": "text/css; charset=utf-8",
    "staff.js": "application/javascript; charset=utf-8",
    "vendor/chart.umd.js": "application/javascript; charset=utf-8",
}


class MissingAsset(RuntimeError):
    pass


def check_assets(static_dir: Path) -> None:
    missing = [name for name in ASSETS if not (static_dir / name).is_file()]
    if missing:
        hint = " (run `cd web/staff && npm ci && npm run vendor`)" if any("vendor/" in m for m in missing) else ""
        raise MissingAsset(f"missing in {static_dir}: {', '.join(missing)}{hint}")


def blueprint(static_dir: Path) -> Blueprint:
    routes = Blueprint("assets")

    @routes.get("/favicon.ico")
    async def favicon(request: Request) -> HTTPResponse:
        return HTTPResponse(status=204)

    @routes.get("/static/<name:path>")
    async def static(request: Request, name: str) -> HTTPResponse:
        if name not in ASSETS:
            return text("Không tìm thấy.", status=404)
        body = (static_dir / name).read_bytes()
        return raw(body, content_type=ASSETS[name], headers={"Cache-Control": "no-cache"})

    return routes
