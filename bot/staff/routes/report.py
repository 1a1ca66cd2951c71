"""The weekly report for leaders (/report?week=2026-W11), as a page or its tables as CSV."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.analytics import filters, queries
from bot.staff import views
from bot.staff.routes import exports
from bot.staff.routes.pages import page_context
from bot.staff.shared import Site, offload


def week_url(day: dt.date) -> str:
    return "/report?" + urlencode({"week": filters.week_code(day)})


def blueprint(site: Site) -> Blueprint:
    routes = Blueprint("report")

    @routes.get("/report")
    async def weekly_report(request: Request) -> HTTPResponse:
        monday, unreadable = filters.parse_week(request.args.get("week"))
        page = await offload(views.report, site.engine, monday)
        f = page.context["week"]
        if request.args.get("format") == "csv":
            return exports.table_csv(page, request.args.get("table"), "/report", f)
        known = await offload(queries.channels, site.engine)
        return site.render("report.html", page=page, channels=known, week_url=week_url,
                           week_code=filters.week_code(monday), previous=page.context["before"].start,
                           following=f.start + dt.timedelta(days=7), current_week=filters.week_of(filters.today()),
                           **page_context(request, f, ["week"] if unreadable else [], **page.context))

    return routes
