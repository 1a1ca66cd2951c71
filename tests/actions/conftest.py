"""Fixtures of the fast tier (tests/actions/test_fast_*.py): the assistant's database and the
one-stop sandbox, both temporary and in this process. Nothing here starts a process."""

from __future__ import annotations

import pytest

from bot import services
from tests.actions.fast import InProcessSandbox


@pytest.fixture
def app_db(tmp_path, monkeypatch):
    monkeypatch.setenv("APP_DB_URL", f"sqlite:///{tmp_path / 'assistant.db'}")
    yield services.app_db()


@pytest.fixture
def onestop(tmp_path, monkeypatch) -> InProcessSandbox:
    """The one-stop system the actions call (`services.onestop()`): the sandbox in-process."""
    sandbox = InProcessSandbox(f"sqlite:///{tmp_path / 'onestop.db'}")
    monkeypatch.setattr(services, "onestop", lambda: sandbox)
    yield sandbox
    sandbox.engine.dispose()


@pytest.fixture(scope="session")
def knowledge_loaded() -> None:
    """The data files the actions answer from, read once for the session (several seconds of
    YAML: the catalogue, the directory, the localities). Charged here, to the first fast test's
    setup, rather than to whichever test happens to read each of them first."""
    from bot import knowledge
    from bot.actions.places import place_markers, place_texts
    from bot.actions.procedures import outside_words, question_words
    from bot.actions.steering import steering
    from tests.actions.fast import domain

    for load in (steering, knowledge.catalogue, knowledge.directory, knowledge.resolver, knowledge.localities,
                 knowledge.province, knowledge.procedure_texts, knowledge.dossier_texts, knowledge.feedback_texts,
                 question_words, outside_words, place_markers, place_texts, domain):
        load()
