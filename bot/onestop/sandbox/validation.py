"""Checks of every request body and parameter against the contract.

Each function returns clean values or raises ApiError naming every bad field at once, so a
caller fixes its request in one round trip.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Dict, List, Optional
from urllib.parse import urlsplit

from .errors import ApiError, invalid
from .reference import MISSING_DOCUMENTS, STATUS_LABELS, from_wire, to_wire, utcnow

# re.ASCII: `\d` is [0-9] as in the contract's (ECMA-262) patterns, not any Unicode digit ("٢").
CODE_RE = re.compile(r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}-\d{6}-\d{4}$", re.ASCII)
AGENCY_CODE_RE = re.compile(r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$", re.ASCII)
VERIFICATION_RE = re.compile(r"^(\d{4}|\d{12})$", re.ASCII)
PHONE_RE = re.compile(r"^0\d{9,10}$", re.ASCII)
ID_NUMBER_RE = re.compile(r"^\d{12}$", re.ASCII)
FAULT_MODES = ("none", "slow", "error", "malformed", "rate_limited")
MAX_LOCK_S = 86400
MAX_FAULT_DELAY_S = 120.0
# PostgreSQL refuses NUL in text and UTF-8 cannot encode a lone surrogate (valid in JSON as "\ud800").
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
UNSTORABLE = "must be text without NUL characters or lone surrogates"


def json_object(raw: bytes) -> Dict[str, Any]:
    try:
        body = json.loads(raw or b"")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "invalid_request", "The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_request", "The body must be a JSON object.")
    return body


def dossier_code(code: str) -> str:
    if not CODE_RE.fullmatch(code):
        raise ApiError(400, "malformed_code",
                       "A dossier code looks like 000.00.12.H46-251104-0007 (canonical form).")
    return code


def verification(value: Optional[str]) -> str:
    if value is None or not VERIFICATION_RE.fullmatch(value):
        raise ApiError(400, "malformed_verification",
                       "verification must be the last 4 digits of the applicant's phone "
                       "or the applicant's 12-digit ID number.")
    return value


def storable(value: str) -> bool:
    return _UNSTORABLE.search(value) is None


class _Fields:
    """Collects the errors of one body so they are all reported together."""

    def __init__(self, body: Dict[str, Any], prefix: str = "") -> None:
        self.body, self.prefix = body, prefix
        self.errors: Dict[str, str] = {}

    def fail(self, name: str, message: str) -> None:
        self.errors[self.prefix + name] = message

    def text(self, name: str, required: bool, min_len: int = 1, max_len: int = 200,
             pattern: Optional["re.Pattern[str]"] = None, hint: str = "") -> Optional[str]:
        value = self.body.get(name)
        if value is None:
            if required:
                self.fail(name, "required")
            return None
        if not isinstance(value, str):
            self.fail(name, "must be a string")
            return None
        if not storable(value):
            self.fail(name, UNSTORABLE)
            return None
        value = value.strip()
        # A pattern fixes the length itself, and its hint is the more useful message.
        if pattern is not None:
            if not pattern.fullmatch(value):
                self.fail(name, hint or f"must match {pattern.pattern}")
                return None
        elif not min_len <= len(value) <= max_len:
            self.fail(name, f"must be {min_len}–{max_len} characters")
            return None
        return value

    def obj(self, name: str, required: bool) -> Optional[Dict[str, Any]]:
        value = self.body.get(name)
        if value is None:
            if required:
                self.fail(name, "required")
            return None
        if not isinstance(value, dict):
            self.fail(name, "must be an object")
            return None
        return value

    def status(self, name: str, required: bool) -> Optional[int]:
        value = self.body.get(name)
        if value is None:
            if required:
                self.fail(name, "required")
            return None
        # bool is an int in Python; `true` is not a status.
        if isinstance(value, bool) or not isinstance(value, int) or value not in STATUS_LABELS:
            self.fail(name, "must be an integer from 0 to 10")
            return None
        return value

    def moment(self, name: str) -> Optional[datetime]:
        value = self.body.get(name)
        if value is None:
            return None
        try:
            moment = from_wire(datetime.fromisoformat(str(value).replace("Z", "+00:00")))
            to_wire(moment)  # it must be shown in Vietnam time too
            return moment
        except (ValueError, OverflowError):  # OverflowError: beyond year 1 to 9999 in UTC or in +07:00
            self.fail(name, "must be an ISO 8601 date-time from year 1 to 9999")
            return None

    def day(self, name: str) -> Optional[date]:
        value = self.body.get(name)
        if value is None:
            return None
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            self.fail(name, "must be an ISO 8601 date (YYYY-MM-DD)")
            return None

    def string_list(self, name: str) -> Optional[List[str]]:
        value = self.body.get(name)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self.fail(name, "must be a list of non-empty strings")
            return None
        if not all(storable(v) for v in value):
            self.fail(name, UNSTORABLE)
            return None
        return [v.strip() for v in value]


@dataclass
class Applicant:
    name: Optional[str] = None
    phone: Optional[str] = None
    id_number: Optional[str] = None
    locality: Optional[str] = None


def _applicant(fields: _Fields, required: bool) -> Applicant:
    raw = fields.obj("applicant", required)
    if raw is None:
        return Applicant()
    inner = _Fields(raw, prefix=fields.prefix + "applicant.")
    applicant = Applicant(
        name=inner.text("name", required, 2, 100),
        phone=inner.text("phone", required, pattern=PHONE_RE, hint="must be a Vietnamese number like 0905123456"),
        id_number=inner.text("id_number", False, pattern=ID_NUMBER_RE, hint="must be 12 digits"),
        locality=inner.text("locality", False, 1, 100),
    )
    fields.errors.update(inner.errors)
    return applicant


@dataclass
class DraftRequest:
    procedure_id: str
    procedure_name: Optional[str]
    applicant: Applicant
    channel: str


def draft_request(body: Dict[str, Any]) -> DraftRequest:
    fields = _Fields(body)
    procedure_id = fields.text("procedure_id", True, 1, 100)
    procedure_name = fields.text("procedure_name", False, 1, 300)
    applicant = _applicant(fields, True)
    channel = fields.text("channel", True, 1, 32)
    if fields.errors or procedure_id is None or channel is None:  # a required value missing is an error
        raise invalid(fields.errors)
    return DraftRequest(procedure_id, procedure_name, applicant, channel)


@dataclass
class SandboxDossier:
    code: Optional[str]
    procedure_id: Optional[str]
    procedure_name: Optional[str]
    status: Optional[int]
    applicant: Applicant
    received_at: Optional[datetime]
    due_date: Optional[date]
    missing_documents: List[str] = field(default_factory=list)
    agency_code: Optional[str] = None
    agency_name: Optional[str] = None
    channel: Optional[str] = None


def sandbox_dossier(body: Dict[str, Any]) -> SandboxDossier:
    fields = _Fields(body)
    dossier = SandboxDossier(
        code=fields.text("code", False, pattern=CODE_RE, hint="must be a canonical dossier code"),
        procedure_id=fields.text("procedure_id", False, 1, 100),
        procedure_name=fields.text("procedure_name", False, 1, 300),
        status=fields.status("status", False),
        applicant=_applicant(fields, False),
        received_at=fields.moment("received_at"),
        due_date=fields.day("due_date"),
        missing_documents=fields.string_list("missing_documents") or [],
        channel=fields.text("channel", False, 1, 32),
    )
    agency = fields.obj("agency", False)
    if agency is not None:
        inner = _Fields(agency, prefix="agency.")
        dossier.agency_code = inner.text("code", False, pattern=AGENCY_CODE_RE, hint="must look like 000.00.12.H46")
        dossier.agency_name = inner.text("name", False, 1, 200)
        fields.errors.update(inner.errors)
    if dossier.received_at is not None and dossier.received_at > utcnow():
        # The history is ordered by time: a later status change would come before the reception.
        fields.fail("received_at", "must not be in the future")
    _missing_only_when_requested(fields, dossier.status, dossier.missing_documents)
    if fields.errors:
        raise invalid(fields.errors)
    return dossier


@dataclass
class StatusChangeRequest:
    status: int
    note: Optional[str]
    missing_documents: List[str]


def status_change(body: Dict[str, Any]) -> StatusChangeRequest:
    fields = _Fields(body)
    status = fields.status("status", True)
    note = fields.text("note", False, 1, 2000)
    missing_documents = fields.string_list("missing_documents") or []
    _missing_only_when_requested(fields, status, missing_documents)
    if fields.errors or status is None:  # a required value missing is an error
        raise invalid(fields.errors)
    return StatusChangeRequest(status, note, missing_documents)


def _missing_only_when_requested(fields: _Fields, status: Optional[int], missing: List[str]) -> None:
    # The contract promises missing_documents is empty outside status 5; refuse to break it.
    if missing and status != MISSING_DOCUMENTS:
        fields.fail("missing_documents", "only allowed with status 5")


@dataclass
class WebhookRequest:
    url: str
    secret: str


def webhook(body: Dict[str, Any]) -> WebhookRequest:
    fields = _Fields(body)
    url = fields.text("url", True, 1, 2000)
    if url is not None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            fields.fail("url", "must be an absolute http or https URL")
    secret = fields.text("secret", True, 1, 256)
    if fields.errors or url is None or secret is None:  # a required value missing is an error
        raise invalid(fields.errors)
    return WebhookRequest(url, secret)


@dataclass
class Fault:
    mode: str = "none"
    delay_s: float = 0.0


def lock_seconds(body: Dict[str, Any]) -> int:
    fields = _Fields(body)
    seconds = body.get("seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, int) or not 0 <= seconds <= MAX_LOCK_S:
        fields.fail("seconds", f"required, a whole number from 0 to {MAX_LOCK_S}")
        raise invalid(fields.errors)
    return int(seconds)


def fault(body: Dict[str, Any]) -> Fault:
    fields = _Fields(body)
    mode = body.get("mode")
    if mode not in FAULT_MODES:
        fields.fail("mode", "must be one of " + ", ".join(FAULT_MODES))
    delay = body.get("delay_s", 0.0)
    if isinstance(delay, bool) or not isinstance(delay, (int, float)) or not 0 <= delay <= MAX_FAULT_DELAY_S:
        fields.fail("delay_s", f"must be a number from 0 to {MAX_FAULT_DELAY_S:g}")
    elif mode == "slow" and not delay:
        fields.fail("delay_s", "required, above 0, with mode slow")
    if fields.errors or not isinstance(mode, str):  # a mode of FAULT_MODES is a string
        raise invalid(fields.errors)
    return Fault(mode, float(delay))
