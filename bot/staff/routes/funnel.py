"""Pages of online submission: the funnel against its targets (admins set them) and the reasons
citizens give for not submitting online."""

from __future__ import annotations

from typing import Any, Dict
from urllib.parse import urlencode

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, redirect

from bot.analytics import filters, online, targets
from bot.staff import auth
from bot.staff.routes.pages import add_pages, page_handler
from bot.staff.security import requires_role
from bot.staff.shared import Site, offload


def can_edit(request: Request) -> Dict[str, Any]:
    return {"can_edit": request.ctx.session.role == "admin"}


def blueprint(site: Site) -> Blueprint:
    routes = Blueprint("funnel")
    routes.add_route(page_handler(site, "/funnel", can_edit), "/funnel", methods=["GET"])
    add_pages(routes, site, "/offline")

    @routes.post("/funnel/targets")
    @requires_role(site, "admin")
    async def edit_target(request: Request) -> HTTPResponse:
        session: auth.Session = request.ctx.session
        scope, key = request.form.get("scope") or "", (request.form.get("key") or "").strip()
        raw_target = (request.form.get("target") or "").strip().replace(",", ".").rstrip("%").strip()
        try:
            share = None if raw_target == "" else float(raw_target) / 100.0
            await offload(targets.set_target, site.engine, scope, key, share, session.user_name)
        except ValueError:
            return site.error(400, "target")
        f, _ = filters.parse_filters(request.form.get("start"), request.form.get("end"), request.form.get("channel"))
        by = scope if scope in online.GROUPINGS else "field"
        return redirect("/funnel?" + urlencode({**f.as_query(), "by": by}), status=303)

    return routes
