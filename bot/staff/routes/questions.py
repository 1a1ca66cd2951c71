"""Pages of what citizens ask and how the assistant answers: the overview, intents, messages
not understood (also as NLU YAML to label), dossier lookups, hand-offs, satisfaction, latency."""

from __future__ import annotations

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.staff.routes import exports
from bot.staff.routes.pages import add_pages, filters_of, page_handler
from bot.staff.shared import Site


def blueprint(site: Site) -> Blueprint:
    routes = Blueprint("questions")
    add_pages(routes, site, "/", "/intents")
    not_understood = page_handler(site, "/not-understood")

    async def page_not_understood(request: Request) -> HTTPResponse:
        if request.args.get("format") == "yaml":
            f, _ = filters_of(request)
            return await exports.nlu_yaml(site, "/not-understood", f)
        return await not_understood(request)

    routes.add_route(page_not_understood, "/not-understood", methods=["GET"])  # as add_pages: reads a body

    add_pages(routes, site, "/lookups", "/handoffs", "/satisfaction", "/latency")
    return routes
