"""Staff accounts, passwords (scrypt), server-side sessions and login rate limiting."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from functools import lru_cache
from typing import List, Optional

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Engine

from bot.clock import now
from bot.staff.models import ROLES, login_failures, sessions, users

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 14, 8, 1
SALT_BYTES, KEY_BYTES = 16, 32
MIN_PASSWORD_CHARS = 10
SESSION_HOURS = 8
MAX_FAILURES = 5
LOCKOUT = dt.timedelta(minutes=15)
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.\-@]{0,63}$")


class AccountError(ValueError):
    """A user name, role or password that cannot be accepted; the message says why."""


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.timezone.utc) if moment.tzinfo is None else moment


def normalise_name(name: str) -> str:
    return (name or "").strip().lower()


# -- passwords ------------------------------------------------------------------------------

def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def hash_password(password: str) -> str:
    """A self-describing scrypt hash: scrypt$n$r$p$salt$key (salt and key in base64)."""
    salt = secrets.token_bytes(SALT_BYTES)
    key = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P,
                         dklen=KEY_BYTES)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, cost, block, parallel, salt, key = stored.split("$")
        n, r, p = int(cost), int(block), int(parallel)
        if scheme != "scrypt" or not (2 <= n <= 2 ** 20 and 1 <= r <= 32 and 1 <= p <= 16):
            return False
        expected = base64.b64decode(key)
        actual = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), n=n, r=r, p=p,
                                dklen=len(expected), maxmem=256 * 1024 * 1024)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # Checked for unknown names, so a refusal takes as long whether the name exists or not.
    return hash_password(secrets.token_urlsafe(16))


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise AccountError(f"the password must have at least {MIN_PASSWORD_CHARS} characters")


# -- accounts -------------------------------------------------------------------------------

def add_user(engine: Engine, name: str, role: str, password: str, replace: bool = False) -> bool:
    """Create an account (or with replace, reset its role and password); True if created."""
    name = normalise_name(name)
    if not _NAME.match(name):
        raise AccountError("a user name is 1 to 64 letters, digits or . _ - @ (no spaces)")
    if role not in ROLES:
        raise AccountError(f"the role must be one of: {', '.join(ROLES)}")
    check_new_password(password)
    hashed = hash_password(password)
    with engine.begin() as connection:
        exists = connection.execute(select(users.c.id).where(users.c.name == name)).first()
        if exists and not replace:
            raise AccountError(f"user {name!r} exists (use --replace to reset it)")
        if exists:
            connection.execute(update(users).where(users.c.name == name).values(role=role, password_hash=hashed))
            connection.execute(delete(sessions).where(sessions.c.user_name == name))
            return False
        connection.execute(insert(users).values(name=name, role=role, password_hash=hashed, created_at=now()))
        return True


def list_users(engine: Engine) -> List[dict]:
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(
            select(users.c.name, users.c.role, users.c.created_at).order_by(users.c.name)).mappings()]


def remove_user(engine: Engine, name: str) -> bool:
    name = normalise_name(name)
    with engine.begin() as connection:
        connection.execute(delete(sessions).where(sessions.c.user_name == name))
        return connection.execute(delete(users).where(users.c.name == name)).rowcount > 0


# -- logging in -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Session:
    token: str  # only ever in the cookie; the table keeps its hash
    user_name: str
    role: str
    csrf_token: str
    expires_at: dt.datetime


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def locked_out(engine: Engine, name: str, at: Optional[dt.datetime] = None) -> bool:
    """Five failures within 15 minutes lock the name for 15 minutes after the last one."""
    with engine.connect() as connection:
        recent = [_utc(moment) for moment in connection.execute(
            select(login_failures.c.at).where(login_failures.c.user_name == name)
            .order_by(login_failures.c.at.desc()).limit(MAX_FAILURES)).scalars()]
    if len(recent) < MAX_FAILURES or recent[0] - recent[-1] > LOCKOUT:
        return False
    return (at or now()) < recent[0] + LOCKOUT


def log_in(engine: Engine, name: str, password: str) -> tuple[str, Optional[Session]]:
    """("ok", session) | ("refused", None) | ("locked", None)."""
    name = normalise_name(name)[:64]
    if not name or locked_out(engine, name):
        return ("locked" if name else "refused"), None
    with engine.connect() as connection:
        account = connection.execute(select(users).where(users.c.name == name)).mappings().first()
    valid = verify_password(password or "", account["password_hash"] if account else _dummy_hash())
    if not (account and valid):
        with engine.begin() as connection:
            connection.execute(insert(login_failures).values(user_name=name, at=now()))
            connection.execute(delete(login_failures).where(login_failures.c.at < now() - 4 * LOCKOUT))
        return ("locked" if locked_out(engine, name) else "refused"), None
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    expires = now() + dt.timedelta(hours=SESSION_HOURS)
    with engine.begin() as connection:
        connection.execute(delete(login_failures).where(login_failures.c.user_name == name))
        connection.execute(delete(sessions).where(sessions.c.expires_at < now()))
        connection.execute(insert(sessions).values(token_hash=_token_hash(token), user_name=name, csrf_token=csrf,
                                                   created_at=now(), expires_at=expires))
    return "ok", Session(token, name, account["role"], csrf, expires)


def session_for(engine: Engine, token: Optional[str]) -> Optional[Session]:
    """The live session of a cookie token, with the account's current role."""
    if not token or len(token) > 128:
        return None
    with engine.connect() as connection:
        row = connection.execute(
            select(sessions.c.user_name, sessions.c.csrf_token, sessions.c.expires_at, users.c.role)
            .join(users, users.c.name == sessions.c.user_name)
            .where(sessions.c.token_hash == _token_hash(token))).mappings().first()
    if row is None or _utc(row["expires_at"]) <= now():
        return None
    return Session(token, row["user_name"], row["role"], row["csrf_token"], _utc(row["expires_at"]))


def log_out(engine: Engine, token: str) -> None:
    with engine.begin() as connection:
        connection.execute(delete(sessions).where(sessions.c.token_hash == _token_hash(token)))


def same_token(given: Optional[str], expected: Optional[str]) -> bool:
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
