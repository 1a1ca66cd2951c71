"""What the staff app's modules share: its database and event source, the templates, the
cookie setting, and running blocking work off the event loop."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable, Coroutine, TypeVar

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sanic.request import Request
from sanic.response import HTTPResponse, html
from sqlalchemy.engine import Engine

from bot.analytics.ingest import Source
from bot.staff import views

T = TypeVar("T")
Handler = Callable[..., Coroutine[Any, Any, HTTPResponse]]  # an async route handler


async def offload(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Database work and scrypt run in a thread: the event loop keeps serving."""
    return await asyncio.get_running_loop().run_in_executor(None, partial(function, *args, **kwargs))


def templates() -> Environment:
    environment = Environment(loader=FileSystemLoader(str(views.TEMPLATES)), autoescape=True,
                              undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    environment.filters["show"] = views.display
    environment.filters["label"] = lambda code, group: views.label(group, code)
    return environment


@dataclass
class Site:
    """One per app: what its route modules are built with."""

    engine: Engine  # the app database: analytics tables and staff accounts
    events: Engine  # where Rasa's events are read from
    source: Source
    templates: Environment
    secure_cookies: bool
    ingest_lock: threading.Lock = field(default_factory=threading.Lock)

    def render(self, template: str, status: int = 200, **context: Any) -> HTTPResponse:
        body = self.templates.get_template(template).render(labels=views.labels(), **context)
        return html(body, status=status, headers={"Cache-Control": "no-store"})

    def error(self, code: int, reason: str) -> HTTPResponse:
        """The error page: reason is csrf, role, target or missing (templates/error.html)."""
        return self.render("error.html", status=code, code=code, reason=reason)


def full_path(request: Request) -> str:
    """The path with its query string, as requested."""
    return request.path + ("?" + request.query_string if request.query_string else "")
