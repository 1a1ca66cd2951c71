"""The conversations: a page of the list, and one conversation (masked, the citizen by code)."""

from __future__ import annotations

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.analytics import queries
from bot.staff import views
from bot.staff.routes.pages import filters_of, page_context
from bot.staff.shared import Site, offload


def blueprint(site: Site) -> Blueprint:
    routes = Blueprint("conversations")

    @routes.get("/conversations")
    async def conversation_list(request: Request) -> HTTPResponse:
        f, problems = filters_of(request)
        try:
            number = max(0, min(int(request.args.get("page") or 0), 10_000))
        except ValueError:
            number = 0
        rows = await offload(views.conversation_list, site.engine, f, number)
        known = await offload(queries.channels, site.engine)
        return site.render("conversations.html", rows=rows, number=number, channels=known,
                           **page_context(request, f, problems))

    @routes.get("/conversations/<conversation_id:int>")
    async def conversation(request: Request, conversation_id: int) -> HTTPResponse:
        f, problems = filters_of(request)
        found = await offload(queries.conversation, site.engine, conversation_id)
        if found is None:
            return site.error(404, "missing")
        found["citizen"] = views.citizen_code(found["sender_id"])
        known = await offload(queries.channels, site.engine)
        return site.render("conversation.html", conversation=found, channels=known,
                           **page_context(request, f, problems))

    return routes
