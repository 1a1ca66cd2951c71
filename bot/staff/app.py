"""The staff analytics web app (Sanic, one worker): create_app wires the configuration, the
security middleware and the blueprints of the routes.

Every page needs a session (security.py); tracker events are ingested in the background
(ingestion.py), so a page (routes/) only ever reads the analytics tables.
"""

from __future__ import annotations

import itertools
import logging
from pathlib import Path

from sanic import Sanic
from sanic.request import Request
from sanic.response import HTTPResponse, text

from bot.analytics import engines
from bot.config import Settings
from bot.staff import assets, ingestion, security, shared
from bot.staff.models import metadata as staff_metadata
from bot.staff.routes import conversations, funnel, procedures, questions, report

logger = logging.getLogger(__name__)
_names = itertools.count()


async def failure(request: Request, error: Exception) -> HTTPResponse:
    status = getattr(error, "status_code", 500) or 500
    if status >= 500:
        logger.exception("staff app error on %s", request.path, exc_info=error)
    return text("Không tìm thấy." if status == 404 else "Đã có lỗi.", status=status)


def create_app(settings: Settings, static_dir: Path = assets.STATIC_DIR, ingest_every_s: float = 5.0) -> Sanic:
    assets.check_assets(static_dir)
    engine = engines.app_engine(settings.app_db_url)
    staff_metadata.create_all(engine)
    events, source = engines.event_source(settings)
    staff = shared.Site(engine, events, source, shared.templates(), settings.staff_secure_cookies)

    app = Sanic(f"staff_{next(_names)}")
    app.config.REQUEST_MAX_SIZE = 64 * 1024  # forms only
    app.ctx.engine = engine
    security.install(app, staff)
    for routes in (ingestion.blueprint(staff, ingest_every_s), assets.blueprint(static_dir),
                   security.blueprint(staff), questions.blueprint(staff), procedures.blueprint(staff),
                   funnel.blueprint(staff), report.blueprint(staff), conversations.blueprint(staff)):
        app.blueprint(routes)
    app.exception(Exception)(failure)
    return app
