"""Incremental ingestion of Rasa's events into the analytics tables.

The events come from one of two sources with the same columns: Rasa's tracker store (the
embedded default: one Rasa server, ids in commit order) or, in production, the events Rasa
published to RabbitMQ as the consumer stored them (bot/analytics/consumer.py: one writer, so
ids again follow arrival; several Rasa servers committing to PostgreSQL would not give that).
Each batch reads only the events with an id above the source's checkpoint and is written in
one transaction with the new checkpoint, so a crash or a second run never counts an event
twice. The checkpoint row is updated first in that transaction: it serialises concurrent
runs (the app's background task, `python -m bot.analytics ingest`) on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, overload

from sqlalchemy import Table, and_, delete, insert, inspect, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from bot import knowledge
from bot.clock import LOCAL_TZ, now
from bot.privacy import mask_message, mask_text, prompt_of
from bot.analytics.models import (broker_events, checkpoint, conversations, handoffs, lookups, messages, unmet,
                                  tracker_events)
from bot.store.models import answer_ratings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Source:
    name: str    # its checkpoint row
    table: Table


TRACKER = Source("tracker", tracker_events)
BROKER = Source("broker", broker_events)
BATCH_SIZE = 200
# SQLite has no queue for its write lock: a writer that finds it taken polls with growing sleeps
# (up to 100 ms). Back-to-back batches held the embedded database's lock for a whole run (0.7 s,
# every 5 s under `make bench`: every message needing the action server waited, p99 725 ms
# against 236 ms without the ingestion). The background run pauses between batches longer than
# such a poll, so the action server's writes get their turn.
BACKGROUND_PAUSE_S = 0.15
FALLBACK_INTENT = "nlu_fallback"
CLARIFY_ACTION = "action_clarify_intent"
HANDOFF_INTENTS = ("human_handoff", "complain")
UNMATCHED = "?"  # unmet_procedure when nothing matched (bot/actions/procedures.py)
LISTEN = "action_listen"
THANKS = "thank"
# A thanks typed right after these counts as a "useful" rating of their answer.
ANSWER_ACTIONS = ("action_answer_procedure", "action_procedure_details")
# The questions a rating is grouped by (the aspect asked), as bot/actions/feedback.py records them.
ASPECT_INTENTS = ("ask_documents", "ask_fee", "ask_processing_time", "ask_agency", "ask_online_service",
                  "ask_procedure")
LOOKUP_OUTCOMES = ("found", "not_found", "verification_failed", "system_down", "locked")


@dataclass
class IngestResult:
    events: int = 0
    batches: int = 0
    last_event_id: int = 0


@overload
def utc(moment: dt.datetime) -> dt.datetime: ...
@overload
def utc(moment: None) -> None: ...
@overload
def utc(moment: Optional[dt.datetime]) -> Optional[dt.datetime]: ...
def utc(moment: Optional[dt.datetime]) -> Optional[dt.datetime]:
    """SQLite gives naive datetimes back: everything stored here is UTC."""
    if moment is None:
        return None
    return moment.replace(tzinfo=dt.timezone.utc) if moment.tzinfo is None else moment


def local_day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(LOCAL_TZ).date()


def place_key(named: Optional[str]) -> Optional[str]:
    """The place a citizen named, as counted: today's unit, the former district or commune
    named, or None (bot/localities.py); the words themselves when the places cannot be read."""
    if named is None:
        return None
    try:
        return knowledge.localities().place_key(named)
    except Exception:  # noqa: BLE001 - a place is a nicety; the conversation still counts
        logger.exception("place %r not resolved", named)
        return named


def _load_names() -> None:
    try:
        knowledge.localities(), knowledge.catalogue(), knowledge.directory()
    except Exception:  # noqa: BLE001 - then places and procedures are kept as set
        logger.exception("the data files of places and procedures could not be read")


def known_procedure(value: str) -> bool:
    """A procedure of the catalogue or the directory (not words an entity picked up)."""
    try:
        return knowledge.catalogue().get(value) is not None or knowledge.directory().get(value) is not None
    except Exception:  # noqa: BLE001 - without the data files, keep what was set
        return True


def read_checkpoint(engine: Engine, source: Source = TRACKER) -> int:
    with engine.connect() as connection:
        value = connection.execute(
            select(checkpoint.c.last_event_id).where(checkpoint.c.source == source.name)).scalar()
    return int(value or 0)


def _ensure_checkpoint(engine: Engine, source: Source) -> None:
    with engine.connect() as connection:
        exists = connection.execute(
            select(checkpoint.c.source).where(checkpoint.c.source == source.name)).first()
    if exists:
        return
    try:
        with engine.begin() as connection:
            connection.execute(insert(checkpoint).values(source=source.name, last_event_id=0, updated_at=now()))
    except IntegrityError:
        pass  # another run created it


def ingest(app: Engine, events: Engine, batch_size: int = BATCH_SIZE,
           max_batches: Optional[int] = None, source: Source = TRACKER, pause_s: float = 0.0) -> IngestResult:
    """Read the events added to `source` (in the database `events`) since the last run;
    returns how many were read. `pause_s`: the wait between two batches, the database's
    write lock released (BACKGROUND_PAUSE_S for runs nobody waits for)."""
    result = IngestResult()
    table, name = source.table, source.name
    if not inspect(events).has_table(table.name):
        return result  # Rasa has not stored a conversation yet
    _ensure_checkpoint(app, source)
    _load_names()  # seconds on first use: never while holding the database's write lock
    while max_batches is None or result.batches < max_batches:
        with app.begin() as connection:
            # Taking the checkpoint row's write lock first serialises concurrent runs.
            connection.execute(update(checkpoint).where(checkpoint.c.source == name).values(updated_at=now()))
            last = int(connection.execute(
                select(checkpoint.c.last_event_id).where(checkpoint.c.source == name)).scalar() or 0)
            with events.connect() as reader:
                rows = reader.execute(
                    select(table).where(table.c.id > last).order_by(table.c.id).limit(batch_size)
                ).mappings().all()
            result.last_event_id = last
            if not rows:
                break
            _Batch(connection).run(rows)
            result.last_event_id = int(rows[-1]["id"])
            connection.execute(update(checkpoint).where(checkpoint.c.source == name)
                               .values(last_event_id=result.last_event_id, updated_at=now()))
        result.events += len(rows)
        result.batches += 1
        if len(rows) < batch_size:
            break
        if pause_s > 0 and (max_batches is None or result.batches < max_batches):
            time.sleep(pause_s)
    return result


GUESSES = 2


def guesses(parse: Dict[str, Any]) -> Optional[str]:
    """The likeliest intents other than the fallback, with their confidences (JSON)."""
    ranked = [[str(r["name"]), round(float(r.get("confidence") or 0.0), 2)]
              for r in parse.get("intent_ranking") or [] if r.get("name") and r["name"] != FALLBACK_INTENT]
    return json.dumps(ranked[:GUESSES], ensure_ascii=False) if ranked else None


class _Batch:
    """One batch of tracker events, turned into rows of the analytics tables."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.conversations: Dict[str, Dict[str, Any]] = {}
        self.new_messages: Dict[int, Dict[str, Any]] = {}
        self.old_message_changes: Dict[int, Dict[str, Any]] = {}
        self.new_handoffs: List[Dict[str, Any]] = []
        self.new_lookups: List[Dict[str, Any]] = []
        self.new_unmet: List[Dict[str, Any]] = []
        self.new_ratings: List[Dict[str, Any]] = []
        self.offered: Dict[int, List[List[str]]] = {}  # conversation → the latest buttons offered

    def run(self, rows) -> None:
        senders = sorted({row["sender_id"] for row in rows})
        for row in self.connection.execute(
                select(conversations).where(conversations.c.sender_id.in_(senders))).mappings():
            conversation = dict(row)
            for key in ("first_at", "last_at", "last_user_at"):
                conversation[key] = utc(conversation[key])
            self.conversations[conversation["sender_id"]] = conversation
        for row in rows:
            try:
                data = json.loads(row["data"] or "{}")
            except (TypeError, ValueError):
                logger.warning("tracker event %s is not JSON; skipped", row["id"])
                continue
            timestamp = row["timestamp"] if row["timestamp"] is not None else data.get("timestamp")
            if timestamp is None:
                continue
            at = dt.datetime.fromtimestamp(float(timestamp), dt.timezone.utc)
            conversation = self._conversation(row["sender_id"], at)
            handler = getattr(self, f"_on_{row['type_name']}", None)
            if handler:
                handler(row, data, conversation, at)
        self._write()

    def _conversation(self, sender_id: str, at: dt.datetime) -> Dict[str, Any]:
        conversation = self.conversations.get(sender_id)
        if conversation is None:
            values = {"sender_id": sender_id, "channel": None, "first_at": at, "last_at": at,
                      "first_day": local_day(at), "last_day": local_day(at), "message_count": 0,
                      "procedure": None, "locality": None, "last_user_event_id": None,
                      "last_user_at": None, "awaiting_reply": False, "prompt": None, "last_action": None}
            new_id = self.connection.execute(insert(conversations).values(**values)).inserted_primary_key[0]
            conversation = {"id": new_id, **values}
            self.conversations[sender_id] = conversation
        return conversation

    def _change_message(self, event_id: Optional[int], **changes: Any) -> None:
        if event_id is None:
            return
        if event_id in self.new_messages:
            self.new_messages[event_id].update(changes)
        else:
            self.old_message_changes.setdefault(event_id, {}).update(changes)

    @staticmethod
    def _touch(conversation: Dict[str, Any], at: dt.datetime) -> None:
        if at > conversation["last_at"]:
            conversation["last_at"], conversation["last_day"] = at, local_day(at)
        if at < conversation["first_at"]:
            conversation["first_at"], conversation["first_day"] = at, local_day(at)

    def _message(self, row, conversation, at, actor: str, **facts: Any) -> Dict[str, Any]:
        message = {"event_id": int(row["id"]), "conversation_id": conversation["id"],
                   "sender_id": row["sender_id"], "actor": actor, "channel": conversation["channel"],
                   "at": at, "day": local_day(at), "intent": None, "confidence": None,
                   "procedure": None, "locality": None, "fallback": False, "text": None,
                   "latency_ms": None, "guesses": None, "buttons": None, "pressed": None}
        message.update(facts)
        self.new_messages[message["event_id"]] = message
        return message

    # -- one handler per Rasa event type ------------------------------------------------

    def _on_user(self, row, data, conversation, at) -> None:
        parse = data.get("parse_data") or {}
        intent = (parse.get("intent") or {}).get("name") or row["intent_name"]
        confidence = (parse.get("intent") or {}).get("confidence")
        channel = data.get("input_channel") or conversation["channel"]
        if not conversation["channel"] and channel:
            conversation["channel"] = channel
        prompt = conversation["prompt"]
        text = mask_message(data.get("text"), prompt)
        pressed = None
        if (data.get("text") or "").startswith("/"):  # a button: what the citizen saw is its title
            pressed = True
            text = self._title_of(conversation, data["text"]) or text
        # The answer to a form question is read from the text: not a failure to understand.
        fallback = intent == FALLBACK_INTENT and prompt is None
        self._message(row, conversation, at, "user", channel=channel, intent=intent,
                      confidence=float(confidence) if confidence is not None else None,
                      procedure=conversation["procedure"], locality=conversation["locality"],
                      fallback=fallback, text=text, guesses=guesses(parse) if fallback else None,
                      pressed=pressed)
        if intent == THANKS and conversation.get("last_action") in ANSWER_ACTIONS:
            self._typed_thanks(row, conversation, channel, at)
        if intent in HANDOFF_INTENTS:
            self.new_handoffs.append({
                "event_id": int(row["id"]), "conversation_id": conversation["id"],
                "sender_id": row["sender_id"], "channel": channel, "kind": intent, "at": at,
                "day": local_day(at), "procedure": conversation["procedure"], "text": text})
        conversation.update(prompt=None, last_user_event_id=int(row["id"]), last_user_at=at,
                            awaiting_reply=True, message_count=conversation["message_count"] + 1)
        self._touch(conversation, at)

    def _on_bot(self, row, data, conversation, at) -> None:
        metadata = data.get("metadata") or {}
        latency = None
        if conversation["awaiting_reply"] and conversation["last_user_at"] is not None:
            latency = max(0.0, (at - conversation["last_user_at"]).total_seconds() * 1000.0)
            self._change_message(conversation["last_user_event_id"], latency_ms=latency)
            conversation["awaiting_reply"] = False
        offered = [[str(b.get("title") or ""), str(b.get("payload") or "")]
                   for b in (data.get("data") or {}).get("buttons") or [] if isinstance(b, dict)]
        self._message(row, conversation, at, "bot", text=mask_text(data.get("text")),
                      buttons=json.dumps(offered, ensure_ascii=False) if offered else None)
        if offered:
            self.offered[conversation["id"]] = offered
        conversation["prompt"] = prompt_of(data.get("text"), metadata.get("utter_action"))
        self._touch(conversation, at)

    def _on_action(self, row, data, conversation, at) -> None:
        name = data.get("name") or row["action_name"]
        if name and name != LISTEN:
            conversation["last_action"] = str(name)[:64]
        if name == CLARIFY_ACTION and conversation["last_user_event_id"] is not None:
            self._change_message(conversation["last_user_event_id"], fallback=True)

    def _on_slot(self, row, data, conversation, at) -> None:
        name, value = data.get("name"), data.get("value")
        if name in ("procedure", "locality"):
            value = str(value)[:255] if value not in (None, "") else None
            if name == "locality":
                value = place_key(value)
            elif value is not None and not known_procedure(value):
                return  # the words of an entity ("giấy phép"); the action sets the id it found
            conversation[name] = value
            # The slot set after a message says what that message was about.
            if value is not None and conversation["last_user_event_id"] is not None:
                self._change_message(conversation["last_user_event_id"], **{name: value})
        elif name == "unmet_procedure" and value:
            self._not_a_complaint(conversation["last_user_event_id"])
            self.new_unmet.append({
                "event_id": int(row["id"]), "conversation_id": conversation["id"],
                "sender_id": row["sender_id"], "channel": conversation["channel"],
                "procedure": None if value == UNMATCHED else str(value)[:128],
                "text": self._user_text(conversation["last_user_event_id"]), "at": at, "day": local_day(at)})
        elif name == "lookup_outcome" and value in LOOKUP_OUTCOMES:
            self.new_lookups.append({
                "event_id": int(row["id"]), "conversation_id": conversation["id"],
                "sender_id": row["sender_id"], "channel": conversation["channel"],
                "outcome": value, "at": at, "day": local_day(at)})

    def _typed_thanks(self, row, conversation: Dict[str, Any], channel: Optional[str], at: dt.datetime) -> None:
        """"Em cảm ơn ạ, rất hữu ích" right after an answer rates it, as the button would."""
        asked = self._user_field(conversation["last_user_event_id"], "intent")
        self.new_ratings.append({
            "sender_id": row["sender_id"], "channel": channel, "rating": "useful", "typed": True, "at": at,
            "intent": asked if asked in ASPECT_INTENTS else None, "procedure_id": conversation["procedure"]})

    def _not_a_complaint(self, event_id: Optional[int]) -> None:
        """A question about a procedure the assistant does not cover, read as a complaint by
        the NLU, was answered as a question: it is not counted as a complaint."""
        if event_id is None:
            return
        self.new_handoffs = [h for h in self.new_handoffs if not (h["event_id"] == event_id and h["kind"] == "complain")]
        self.connection.execute(delete(handoffs).where(and_(handoffs.c.event_id == event_id,
                                                            handoffs.c.kind == "complain")))

    def _title_of(self, conversation: Dict[str, Any], payload: str) -> Optional[str]:
        """The title of the button whose payload this is, among the latest buttons offered
        (this batch, else the conversation's stored messages)."""
        offered = self.offered.get(conversation["id"])
        if offered is None:
            stored = self.connection.execute(
                select(messages.c.buttons).where(and_(messages.c.conversation_id == conversation["id"],
                                                      messages.c.buttons.isnot(None)))
                .order_by(messages.c.event_id.desc()).limit(1)).scalar()
            offered = json.loads(stored) if stored else []
        return next((title for title, sent in offered if sent == payload and title), None)

    def _user_text(self, event_id: Optional[int]) -> Optional[str]:
        """The (masked) question a slot answers: from this batch, or from an earlier one."""
        return self._user_field(event_id, "text")

    def _user_field(self, event_id: Optional[int], column: str) -> Any:
        if event_id is None:
            return None
        if event_id in self.new_messages:
            return self.new_messages[event_id][column]
        return self.connection.execute(select(messages.c[column]).where(messages.c.event_id == event_id)).scalar()

    def _on_restart(self, row, data, conversation, at) -> None:
        conversation.update(procedure=None, locality=None, prompt=None)

    def _on_session_started(self, row, data, conversation, at) -> None:
        conversation["prompt"] = None

    # -- writing ------------------------------------------------------------------------

    def _write(self) -> None:
        connection = self.connection
        if self.new_messages:
            connection.execute(insert(messages), list(self.new_messages.values()))
        for event_id, changes in self.old_message_changes.items():
            connection.execute(update(messages).where(messages.c.event_id == event_id).values(**changes))
        if self.new_handoffs:
            connection.execute(insert(handoffs), self.new_handoffs)
        if self.new_lookups:
            connection.execute(insert(lookups), self.new_lookups)
        if self.new_unmet:
            connection.execute(insert(unmet), self.new_unmet)
        if self.new_ratings:
            connection.execute(insert(answer_ratings), self.new_ratings)
        for conversation in self.conversations.values():
            values = {k: v for k, v in conversation.items() if k not in ("id", "sender_id")}
            connection.execute(update(conversations).where(conversations.c.id == conversation["id"]).values(**values))
