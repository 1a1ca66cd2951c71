"""The two databases of the analytics: the app database (its tables) and Rasa's tracker store."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Tuple

from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

from bot.analytics.ingest import BROKER, TRACKER, Source
from bot.analytics.models import metadata
from bot.config import Settings
from bot.store.db import add_missing_columns, engine_for


@lru_cache(maxsize=4)
def app_engine(url: str) -> Engine:
    """The assistant's database with the analytics tables (embedded default: create_all; a
    file made by an older version gets the nullable columns added since, as the migrations
    add them in production)."""
    engine = engine_for(url)
    metadata.create_all(engine)
    add_missing_columns(engine, metadata)
    return engine


@lru_cache(maxsize=4)
def tracker_engine(url: str) -> Engine:
    """Rasa's tracker store: read, and pruned by retention; its schema belongs to Rasa."""
    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    return create_engine(url, future=True, pool_pre_ping=True)


def event_source(settings: Settings) -> Tuple[Engine, Source]:
    """Where the ingestion reads Rasa's events: the tracker store (embedded default) or, in
    production, the copies the RabbitMQ consumer stored in the app database."""
    if settings.production:
        return app_engine(settings.app_db_url), BROKER
    return tracker_engine(settings.tracker_db_url), TRACKER
