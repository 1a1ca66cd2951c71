"""The assistant's database schema under alembic: upgrade, check, and what the schema is.

Production (PostgreSQL) runs `python -m bot.migrations migrate` (bot.run does it before starting
the services in the production profile); the embedded default's SQLite files are created
directly from the same tables. tests/store/test_migrations.py checks that the migrations
build exactly these tables on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, create_engine, inspect

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
BASELINE = "0001"  # the schema as the embedded default created it before migrations existed


def schema_metadata() -> List[MetaData]:
    """Every table of the assistant's database: its own, the analytics' and the staff app's."""
    from bot.analytics.models import metadata as analytics
    from bot.staff.models import metadata as staff
    from bot.store.models import metadata as store

    return [store, analytics, staff]


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head() -> str:
    found = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    if found is None:
        raise RuntimeError("no migration in bot/migrations/versions")
    return found


def current(url: str) -> Optional[str]:
    engine = create_engine(url, future=True)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def upgrade(url: str) -> str:
    """Bring the database to the newest revision; a database created before migrations
    (tables, no alembic_version) is first stamped at the baseline it matches."""
    engine = create_engine(url, future=True)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    config = alembic_config(url)
    if "alembic_version" not in tables and "subscriptions" in tables:
        command.stamp(config, BASELINE)
    command.upgrade(config, "head")
    return head()


def is_current(url: str) -> bool:
    return current(url) == head()
