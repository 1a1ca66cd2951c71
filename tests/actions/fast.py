"""The fast tier's tools: a conversation as a rasa_sdk `Tracker`, an action run on it with a
`CollectingDispatcher`, and what the citizen would see of the answer. No Rasa server, no
model: an action runs in milliseconds in this process.

The fixtures that go with them (a temporary app database, the one-stop sandbox in-process)
are in tests/actions/conftest.py.
"""

from __future__ import annotations

import asyncio
import json
import time
from functools import lru_cache
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot import knowledge
from bot.actions.texts import contact_values, response_text
from bot.config import ROOT
from bot.datafiles import read_yaml
from bot.onestop.client import (DossierFound, DossierNotFound, LookupLocked, LookupOutcome, RequestRejected,
                                VerificationFailed)
from bot.onestop.sandbox import store, validation
from bot.onestop.sandbox.errors import ApiError
from bot.onestop.sandbox.models import init_db, make_engine, session_factory
from bot.onestop.sandbox.reference import DEFAULT_PORTAL_URL

Event = Dict[str, Any]


@lru_cache(maxsize=1)
def domain() -> Dict[str, Any]:
    """The assistant's domain.yml as Rasa hands it to an action (forms, slots, responses)."""
    return dict(read_yaml(ROOT / "domain.yml"))


def parse_data(text: str, intent: str = "inform", confidence: float = 0.9,
               entities: Sequence[Dict[str, Any]] = (), **extra: Any) -> Dict[str, Any]:
    """What the NLU made of a message."""
    message = {"text": text, "intent": {"name": intent, "confidence": confidence}, "entities": list(entities),
               "intent_ranking": [{"name": intent, "confidence": confidence}]}
    message.update(extra)
    return message


def entity(text: str, name: str, value: Optional[str] = None, surface: Optional[str] = None) -> Dict[str, Any]:
    """An entity the NLU found in `text` (at `surface`, by default its value)."""
    surface = surface or value or ""
    start = text.index(surface)
    return {"entity": name, "value": value if value is not None else surface, "start": start,
            "end": start + len(surface)}


def said(text: str, intent: str = "inform", channel: str = "rest", **parse: Any) -> Event:
    return {"event": "user", "text": text, "parse_data": parse_data(text, intent, **parse), "input_channel": channel}


def asked(text: str = "", response: Optional[str] = None, buttons: Sequence[Dict[str, str]] = ()) -> Event:
    """A message of the assistant (`response`: the domain response it came from)."""
    return {"event": "bot", "text": text, "data": {"buttons": list(buttons)},
            "metadata": {"utter_action": response} if response else {}}


def ran(name: str) -> Event:
    return {"event": "action", "name": name}


def tracker(text: str, intent: str = "inform", slots: Optional[Dict[str, Any]] = None, *,
            before: Iterable[Event] = (), sender: str = "fast-1", active_loop: Optional[str] = None,
            channel: str = "rest", confidence: float = 0.9, entities: Sequence[Dict[str, Any]] = (),
            **parse: Any) -> Tracker:
    """A conversation: the events `before`, then the citizen's message `text` (as the NLU read
    it: `intent`, `entities`, anything else of its parse data in `parse`), with these slots."""
    message = parse_data(text, intent, confidence, entities, **parse)
    events = [*before, {"event": "user", "text": text, "parse_data": message, "input_channel": channel}]
    values = dict(slots or {})
    return Tracker(sender, values, message, events, False, None,
                   {"name": active_loop} if active_loop else {}, "action_listen")


def run(action, tracker_: Tracker, domain_: Optional[Dict[str, Any]] = None
        ) -> Tuple[List[Dict[str, Any]], CollectingDispatcher]:
    """The events an action returns and the dispatcher holding what it said."""
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker_, domain() if domain_ is None else domain_))
    return events, dispatcher


def responses(dispatcher: CollectingDispatcher) -> List[Optional[str]]:
    """The domain responses said, in order (None for a text filled by the action itself)."""
    return [m.get("response") for m in dispatcher.messages]


def slots_set(events: Iterable[Dict[str, Any]]) -> Dict[str, Any]:
    """The slots the events set (the last value of each)."""
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def followups(events: Iterable[Dict[str, Any]]) -> List[str]:
    return [e["name"] for e in events if e.get("event") == "followup"]


_MESSAGE_KEYS = {"text", "buttons", "elements", "custom", "template", "response", "image", "attachment"}


def shown(dispatcher: CollectingDispatcher) -> str:
    """Everything the citizen reads: each message's text, or its domain response filled with
    the values the action gave (as Rasa fills it), and the buttons' titles."""
    out = []
    for message in dispatcher.messages:
        if message.get("text"):
            out.append(message["text"])
        elif message.get("response"):
            values = {k: v for k, v in message.items() if k not in _MESSAGE_KEYS}
            out.append(response_text(domain(), message["response"], **values))
        out += [b.get("title", "") for b in message.get("buttons") or []]
    return "\n".join(out)


def contact() -> Dict[str, Any]:
    return contact_values(knowledge.province())


class InProcessSandbox:
    """The one-stop sandbox without its HTTP server: its own tables and store on a SQLite file,
    answering `lookup` as its GET /api/v1/dossiers/{code} does (bot/onestop/sandbox/routes.py),
    mapped to outcomes as the client maps the statuses (bot/onestop/client.py: 404 not found,
    403 verification failed, 423 locked, 400 rejected). `lookups` lists the codes asked."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        init_db(self.engine)
        self.sessions = session_factory(self.engine)
        self.locks: Dict[str, float] = {}
        self.lookups: List[str] = []

    def create(self, **body: Any) -> Dict[str, Any]:
        """A dossier, as POST /sandbox/dossiers creates it from this body."""
        spec = validation.sandbox_dossier(body)
        with self.sessions.begin() as session:
            return store.dossier_json(store.create_sandbox_dossier(session, spec, DEFAULT_PORTAL_URL))

    def lock(self, code: str, seconds: int) -> None:
        """As POST /sandbox/dossiers/{code}/lock: the system refuses lookups of the code a while."""
        self.locks[code] = time.monotonic() + seconds

    def lookup(self, code: str, verification: str) -> LookupOutcome:
        self.lookups.append(code)
        try:
            code, verification = validation.dossier_code(code), validation.verification(verification)
        except ApiError as error:
            return RequestRejected(error.error, dict(error.fields or {}))
        left = self.locks.get(code, 0.0) - time.monotonic()
        if left > 0:
            return LookupLocked(float(int(left) + 1))
        with self.sessions.begin() as session:
            dossier = store.find_dossier(session, code)
            if dossier is None:
                return DossierNotFound()
            if not store.verification_matches(dossier, verification):
                return VerificationFailed()
            return DossierFound(json.loads(json.dumps(store.dossier_json(dossier))))  # as on the wire
