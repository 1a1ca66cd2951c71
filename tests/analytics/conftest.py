"""Fixtures of the analytics tests: a tracker store written by Rasa and an app database."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from bot.analytics import engines, ingest
from tests.analytics import seed


@pytest.fixture
def stores(tmp_path: Path) -> SimpleNamespace:
    tracker_url = f"sqlite:///{tmp_path / 'rasa-tracker.db'}"
    app_url = f"sqlite:///{tmp_path / 'assistant.db'}"
    return SimpleNamespace(tracker_url=tracker_url, app_url=app_url, app=engines.app_engine(app_url),
                           tracker=engines.tracker_engine(tracker_url))


@pytest.fixture
async def seeded(stores: SimpleNamespace) -> SimpleNamespace:
    """Both parts of the conversations, the app tables, and one ingestion."""
    await seed.seed_all(stores.tracker_url, stores.app)
    ingest.ingest(stores.app, stores.tracker)
    return stores
