"""The migrations build exactly the tables the code declares, on SQLite and on PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, create_engine, insert, inspect, select

from bot.migrations import schema as migrate
from bot.store.db import engine_for, now
from bot.store.models import subscriptions

ROOT = Path(__file__).resolve().parents[2]


def differences(url: str) -> list:
    engine = create_engine(url, future=True)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            declared = MetaData()
            for metadata in migrate.schema_metadata():
                for table in metadata.tables.values():
                    table.to_metadata(declared)
            return [d for d in compare_metadata(context, declared)
                    if not (d[0] == "remove_table" and d[1].name == "alembic_version")]
    finally:
        engine.dispose()


def all_tables() -> set:
    return {table for metadata in migrate.schema_metadata() for table in metadata.tables}


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'app.db'}"
    return request.getfixturevalue("postgres_database")


def test_migrations_build_the_declared_schema(empty_database):
    assert not migrate.is_current(empty_database)
    assert migrate.upgrade(empty_database) == migrate.head()
    assert migrate.is_current(empty_database)
    engine = create_engine(empty_database, future=True)
    assert all_tables() <= set(inspect(engine).get_table_names())
    engine.dispose()
    assert differences(empty_database) == []
    assert migrate.upgrade(empty_database) == migrate.head()  # a second run changes nothing


def test_a_database_made_before_migrations_is_adopted_with_its_rows(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = engine_for(url)  # the embedded default creates its tables directly
    with engine.begin() as connection:
        connection.execute(insert(subscriptions).values(sender_id="s", channel="rest",
                                                        dossier_code="000.00.14.H46-261123-0015", created_at=now()))
    migrate.upgrade(url)
    assert migrate.is_current(url)
    with engine.connect() as connection:
        assert connection.execute(select(subscriptions.c.sender_id)).scalars().all() == ["s"]


def test_the_check_command_tells_the_operator_what_to_run(tmp_path):
    url = f"sqlite:///{tmp_path / 'app.db'}"

    def run(command: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "bot.migrations", command, "--url", url],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)

    refused = run("check")
    assert refused.returncode == 1 and "python -m bot.migrations migrate" in refused.stderr
    assert run("migrate").returncode == 0
    checked = run("check")
    assert checked.returncode == 0 and migrate.head() in checked.stdout
