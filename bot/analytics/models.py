"""Tables of the staff analytics, kept in the assistant's database (APP_DB_URL).

Only masked text is stored here: what staff read never holds a phone number, an ID
number or a name. Days are local days (Asia/Ho_Chi_Minh) computed once at ingestion, so
"per day" groups the same way on SQLite and PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import (BigInteger, Boolean, Column, Date, DateTime, Float, Index, Integer,
                        MetaData, String, Table, Text, UniqueConstraint)

metadata = MetaData()

# The last tracker event id read; one row per source ("tracker").
checkpoint = Table(
    "analytics_checkpoint", metadata,
    Column("source", String(32), primary_key=True),
    Column("last_event_id", BigInteger, nullable=False, default=0),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# One row per user or bot message of the tracker; the facts describe user messages.
messages = Table(
    "analytics_messages", metadata,
    Column("id", Integer, primary_key=True),
    Column("event_id", BigInteger, nullable=False, unique=True),  # tracker events.id
    Column("conversation_id", Integer, nullable=False),
    Column("sender_id", String(255), nullable=False),
    Column("actor", String(8), nullable=False),  # user | bot
    Column("channel", String(64)),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("day", Date, nullable=False),
    Column("intent", String(128)),
    Column("confidence", Float),
    Column("procedure", String(128)),
    Column("locality", String(255)),
    Column("fallback", Boolean, nullable=False, default=False),
    Column("text", Text),  # masked
    Column("latency_ms", Float),  # user message → next bot message of the sender
    # Not understood: the two likeliest intents and their confidences, JSON [[intent, conf], …]
    Column("guesses", Text),
    # Bot messages: the titles of the buttons offered (JSON list). User messages: whether the
    # text is the title of a button pressed (its payload is not what the citizen saw).
    Column("buttons", Text),
    Column("pressed", Boolean),
    Index("ix_analytics_messages_day_actor", "day", "actor"),
    Index("ix_analytics_messages_conversation", "conversation_id", "event_id"),
)

# One row per sender id (Rasa's conversation), plus what ingestion must carry between
# batches: the slots in force, the last user message and the question the bot last asked.
conversations = Table(
    "analytics_conversations", metadata,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False, unique=True),
    Column("channel", String(64)),
    Column("first_at", DateTime(timezone=True), nullable=False),
    Column("last_at", DateTime(timezone=True), nullable=False),
    Column("first_day", Date, nullable=False),
    Column("last_day", Date, nullable=False),
    Column("message_count", Integer, nullable=False, default=0),
    Column("procedure", String(128)),
    Column("locality", String(255)),
    Column("last_user_event_id", BigInteger),
    Column("last_user_at", DateTime(timezone=True)),
    Column("awaiting_reply", Boolean, nullable=False, default=False),
    Column("prompt", String(32)),  # the form question the next user message answers
    Column("last_action", String(64)),  # the assistant's last action (a thanks after an answer rates it)
    Index("ix_analytics_conversations_last_day", "last_day"),
)

# Requests for a human (intent human_handoff) and complaints (intent complain).
handoffs = Table(
    "analytics_handoffs", metadata,
    Column("id", Integer, primary_key=True),
    Column("event_id", BigInteger, nullable=False, unique=True),
    Column("conversation_id", Integer, nullable=False),
    Column("sender_id", String(255), nullable=False),
    Column("channel", String(64)),
    Column("kind", String(32), nullable=False),  # human_handoff | complain
    Column("at", DateTime(timezone=True), nullable=False),
    Column("day", Date, nullable=False),
    Column("procedure", String(128)),
    Column("text", Text),  # masked
    Index("ix_analytics_handoffs_day", "day"),
)

# Dossier lookups, from the slot lookup_outcome set after each one.
lookups = Table(
    "analytics_lookups", metadata,
    Column("id", Integer, primary_key=True),
    Column("event_id", BigInteger, nullable=False, unique=True),
    Column("conversation_id", Integer, nullable=False),
    Column("sender_id", String(255), nullable=False),
    Column("channel", String(64)),
    Column("outcome", String(32), nullable=False),  # found | not_found | verification_failed | system_down | locked
    Column("at", DateTime(timezone=True), nullable=False),
    Column("day", Date, nullable=False),
    Index("ix_analytics_lookups_day", "day"),
)

# Procedures asked about without detailed guidance, from the slot unmet_procedure: a directory
# entry the assistant only routes, or "?" when nothing matched (then the citizen's words say what).
unmet = Table(
    "analytics_unmet", metadata,
    Column("id", Integer, primary_key=True),
    Column("event_id", BigInteger, nullable=False, unique=True),
    Column("conversation_id", Integer, nullable=False),
    Column("sender_id", String(255), nullable=False),
    Column("channel", String(64)),
    Column("procedure", String(128)),  # the directory entry; NULL when nothing matched
    Column("text", Text),  # the citizen's question, masked
    Column("at", DateTime(timezone=True), nullable=False),
    Column("day", Date, nullable=False),
    Index("ix_analytics_unmet_day", "day"),
)

# Target share of online dossiers, per field or per locality; edited by admins.
targets = Table(
    "analytics_targets", metadata,
    Column("id", Integer, primary_key=True),
    Column("scope", String(16), nullable=False),  # field | locality
    Column("key", String(255), nullable=False),
    Column("target_share", Float, nullable=False),  # 0..1
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("updated_by", String(64)),
    UniqueConstraint("scope", "key", name="uq_analytics_targets_scope_key"),
)

# Secrets of the analytics (the key that hashes sender ids when anonymising).
secret_values = Table(
    "analytics_secrets", metadata,
    Column("name", String(64), primary_key=True),
    Column("value", String(255), nullable=False),
)

TARGET_SCOPES = ("field", "locality")


def rasa_event_columns() -> list:
    """The columns of Rasa's SQLTrackerStore events table, after its id."""
    return [Column("sender_id", String(255), nullable=False), Column("type_name", String(255), nullable=False),
            Column("timestamp", Float), Column("intent_name", String(255)), Column("action_name", String(255)),
            Column("data", Text)]


# Production: the events Rasa publishes to RabbitMQ, as the consumer received them, in the
# columns of Rasa's own events table so that one ingestion reads either. `digest` (SHA-256 of
# the message body) makes a redelivered message a no-op.
broker_events = Table(
    "analytics_broker_events", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("digest", String(64), nullable=False, unique=True),
    *rasa_event_columns(),
    Column("received_at", DateTime(timezone=True), nullable=False),
)

# Rasa's SQLTrackerStore table, read (and pruned by retention), never created here.
tracker_metadata = MetaData()
tracker_events = Table(
    "events", tracker_metadata,
    Column("id", Integer, primary_key=True),
    *rasa_event_columns(),
)
