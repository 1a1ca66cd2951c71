"""What every analytics page does: read the filters of the query string, build the page
(views.PAGES), and answer it as HTML or one of its tables as CSV."""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Tuple
from urllib.parse import urlencode

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.analytics import filters, queries
from bot.analytics.filters import Filters
from bot.staff import auth, views
from bot.staff.routes import exports
from bot.staff.shared import Handler, Site, full_path, offload

Options = Callable[[Request], Dict[str, Any]]  # keyword arguments of a page's builder


def filters_of(request: Request) -> Tuple[Filters, List[str]]:
    return filters.parse_filters(request.args.get("start"), request.args.get("end"), request.args.get("channel"))


def page_context(request: Request, f: Filters, problems: List[str], **extra: Any) -> Dict[str, Any]:
    """What base.html needs: the user, the CSRF token, the filters and links that keep them."""
    session: auth.Session = request.ctx.session
    keep = {"by": extra.get("by")} if extra.get("by") else {}

    def url(path: str, **args: Any) -> str:
        query = {**f.as_query(), **{k: v for k, v in args.items() if v is not None}}
        return path + "?" + urlencode(query)

    return {"user": session.user_name, "role": session.role, "csrf_token": session.csrf_token,
            "filters": f, "problems": problems, "url": url, "path": request.path, "keep": keep,
            "current": full_path(request), **extra}


def no_options(request: Request) -> Dict[str, Any]:
    return {}


def page_handler(site: Site, path: str, options: Options = no_options) -> Handler:
    """The handler of a page of views.PAGES."""
    template, build = views.PAGES[path]

    async def handler(request: Request) -> HTTPResponse:
        f, problems = filters_of(request)
        args = {"by": request.args.get("by")}
        page = await offload(build, site.engine, f, args, **options(request))
        if request.args.get("format") == "csv":
            return exports.table_csv(page, request.args.get("table"), path, f)
        known = await offload(queries.channels, site.engine)
        return site.render(template, page=page, channels=known,
                           **page_context(request, f, problems, **page.context))

    handler.__name__ = "page_" + (path.strip("/").replace("-", "_") or "overview")
    return handler


def add_pages(routes: Blueprint, site: Site, *paths: str) -> None:
    for path in paths:
        routes.add_route(page_handler(site, path), path, methods=["GET"])
