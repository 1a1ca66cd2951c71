"""Shared clients of a process, built on first use from the settings (never at import)."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy.engine import Engine

from bot.config import load_settings
from bot.onestop.client import OneStopClient
from bot.store.db import engine_for


@lru_cache(maxsize=1)
def onestop() -> OneStopClient:
    settings = load_settings()
    return OneStopClient(
        settings.onestop_url,
        settings.onestop_token,
        connect_timeout_s=settings.onestop_connect_timeout_s,
        read_timeout_s=settings.onestop_read_timeout_s,
    )


def app_db() -> Engine:
    return engine_for(load_settings().app_db_url)
