"""A failing tracker store fails the message instead of answering from memory."""

from __future__ import annotations

from typing import Any

from bot.rasa_patches.patch import Patch, Replacements


def _fail(error: Exception) -> None:
    raise error


def _no_memory_fallback() -> Replacements:
    """Rasa wraps every tracker store in FailSafeTrackerStore: when the store cannot be read it
    answers the message from a blank conversation, and when it cannot be written it keeps the
    turn in memory only. Measured with PostgreSQL restarted under traffic
    (tests/test_service_restarts.py): citizens got answers out of context, and answered turns
    never reached the store nor the analytics. With this, the message fails and its channel
    tells the citizen, in Vietnamese, to send it again."""
    from rasa.core.agent import Agent
    from rasa.core.tracker_store import FailSafeTrackerStore

    original = Agent._create_tracker_store

    def create(store: Any, domain: Any) -> Any:
        wrapped = original(store, domain)
        if isinstance(wrapped, FailSafeTrackerStore):
            wrapped._on_tracker_store_error = _fail
        return wrapped

    return {(Agent, "_create_tracker_store"): staticmethod(create)}


NO_MEMORY_FALLBACK = Patch("no_memory_fallback", "a failing tracker store fails the message, no answer from memory",
                           _no_memory_fallback, ("rasa.core.agent:Agent._create_tracker_store",
                                                 "rasa.core.tracker_store:FailSafeTrackerStore"))
