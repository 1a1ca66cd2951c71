"""Downloads: a table of a page as CSV (?format=csv&table=…), the not-understood messages as
Rasa NLU YAML (?format=yaml), named after the page and the period."""

from __future__ import annotations

from typing import Optional

from sanic.response import HTTPResponse, raw

from bot.analytics import nlu_export, queries
from bot.analytics.filters import Filters
from bot.staff import views
from bot.staff.shared import Site, offload

NLU_EXPORT_LIMIT = 20_000


def download(body: str, content_type: str, name: str) -> HTTPResponse:
    return raw(body.encode("utf-8"), content_type=content_type,
               headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


def table_csv(page: views.Page, table_name: Optional[str], path: str, f: Filters) -> HTTPResponse:
    """One table of the page (the first when `table_name` names none of them)."""
    table = views.table_rows(page, table_name)
    return download(views.to_csv(table), "text/csv; charset=utf-8", views.export_name(path, table.name, f))


async def nlu_yaml(site: Site, path: str, f: Filters) -> HTTPResponse:
    missed = await offload(queries.not_understood, site.engine, f, NLU_EXPORT_LIMIT)
    return download(nlu_export.nlu_yaml(row["text"] for row in missed),
                    "application/x-yaml; charset=utf-8", views.export_name(path, "nlu", f, "yml"))
