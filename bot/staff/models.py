"""Tables of the staff app (accounts, sessions, failed logins), in the app database."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, Integer, MetaData, String, Table

metadata = MetaData()

users = Table(
    "staff_users", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),  # viewer | admin
    Column("password_hash", String(255), nullable=False),  # scrypt$n$r$p$salt$hash
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Server-side sessions: the cookie holds a random token, the table only its SHA-256.
sessions = Table(
    "staff_sessions", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_name", String(64), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index("ix_staff_sessions_user", "user_name"),
)

login_failures = Table(
    "staff_login_failures", metadata,
    Column("id", Integer, primary_key=True),
    Column("user_name", String(64), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_staff_login_failures_name_at", "user_name", "at"),
)

ROLES = ("viewer", "admin")
