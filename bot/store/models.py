"""Tables of the assistant's database (SQLAlchemy 1.4 in 2.0 style)."""

from __future__ import annotations

from sqlalchemy import (Boolean, Column, DateTime, Index, Integer, MetaData, String, Table, Text,
                        UniqueConstraint)

metadata = MetaData()

# The values the code columns hold.
FUNNEL_STAGES = ("procedure_viewed", "online_guidance", "draft_created", "submitted")
LOCK_SCOPES = ("dossier", "sender", "onestop")
OFFLINE_REASONS = ("no_vneid", "dont_know_how", "no_scanner", "want_in_person", "not_online", "other")
RATINGS = ("useful", "not_useful")

subscriptions = Table(
    "subscriptions", metadata,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(128), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("dossier_code", String(32), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True)),
    UniqueConstraint("sender_id", "dossier_code", name="uq_subscription_sender_code"),
)

# Failed dossier lookups (unknown code or wrong verification value), per sender and per code:
# lookups are locked per sender and, across every sender and channel, per dossier code.
lookup_failures = Table(
    "lookup_failures", metadata,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(128), nullable=False),
    Column("dossier_code", String(64), nullable=False),
    Column("channel", String(32)),
    Column("at", DateTime(timezone=True), nullable=False),
    # A verified lookup forgives its sender's failures; they still count against the code.
    Column("forgiven", Boolean, nullable=False, default=False),
    Index("ix_lookup_failures_sender_at", "sender_id", "at"),
    Index("ix_lookup_failures_code_at", "dossier_code", "at"),
)

# Lookups refused until `until`: for one dossier code (everyone), one sender, or because the
# one-stop system itself refused the code (scope "onestop").
lookup_locks = Table(
    "lookup_locks", metadata,
    Column("id", Integer, primary_key=True),
    Column("scope", String(16), nullable=False),   # dossier | sender | onestop
    Column("key", String(128), nullable=False),    # the dossier code or the sender id
    Column("channel", String(32)),                 # of the failure that set the lock
    Column("failures", Integer, nullable=False),
    Column("locked_at", DateTime(timezone=True), nullable=False),
    Column("until", DateTime(timezone=True), nullable=False),
    Index("ix_lookup_locks_scope_key_until", "scope", "key", "until"),
)

delivered_events = Table(
    "delivered_events", metadata,
    Column("event_id", String(64), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
)

funnel_events = Table(
    "funnel_events", metadata,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(128), nullable=False),
    Column("channel", String(32)),
    Column("procedure_id", String(64), nullable=False),
    Column("field", String(64)),
    Column("locality", String(128)),
    Column("stage", String(32), nullable=False),
    Column("dossier_code", String(32)),
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_funnel_events_stage_at", "stage", "at"),
)

# Why a citizen did not take the online path (asked when they decline it).
offline_reasons = Table(
    "offline_reasons", metadata,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(128), nullable=False),
    Column("channel", String(32)),
    Column("procedure_id", String(64)),
    Column("field", String(64)),
    Column("locality", String(128)),
    Column("reason", String(32), nullable=False),
    Column("text", Text),  # the reason as the citizen typed it (masked); NULL for a button
    Column("at", DateTime(timezone=True), nullable=False),
)

# "Câu trả lời có hữu ích không?" answers, per intent and procedure of the rated answer.
answer_ratings = Table(
    "answer_ratings", metadata,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(128), nullable=False),
    Column("channel", String(32)),
    Column("intent", String(64)),
    Column("procedure_id", String(64)),
    Column("rating", String(16), nullable=False),  # useful | not_useful
    Column("typed", Boolean),  # thanks typed right after an answer, not a button
    Column("at", DateTime(timezone=True), nullable=False),
)

# Channel state that every Rasa server of a deployment must share (production: PostgreSQL).
# Telegram buttons whose payload is too long for callback_data, by their short key.
telegram_buttons = Table(
    "telegram_buttons", metadata,
    Column("key", String(32), primary_key=True),
    Column("payload", Text, nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=False),
    Index("ix_telegram_buttons_sent_at", "sent_at"),
)

# The Zalo OA's token pair (JSON), replaced in one transaction; a refresh token works once.
zalo_tokens = Table(
    "zalo_tokens", metadata,
    Column("name", String(32), primary_key=True),
    Column("record", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
