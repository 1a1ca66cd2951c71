"""Pages of procedures: the ones citizens ask about, and the ones asked for that the assistant
does not have yet."""

from __future__ import annotations

from sanic import Blueprint

from bot.staff.routes.pages import add_pages
from bot.staff.shared import Site


def blueprint(site: Site) -> Blueprint:
    routes = Blueprint("procedures")
    add_pages(routes, site, "/procedures", "/missing-procedures")
    return routes
