"""What the sandbox reads and writes, and the Dossier as the contract shows it.

Functions take an open Session and leave the commit to the caller, so one request is one
transaction.
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any, Dict, List, Optional, Tuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .models import Dossier, StatusChange, Webhook
from .reference import (DRAFT, MISSING_DOCUMENTS, PORTAL_AGENCY_CODE, PORTAL_AGENCY_NAME, RECEIVED,
                        REGISTERED, local_today, procedure_name, status_json, to_wire, utcnow)
from .validation import DraftRequest, SandboxDossier

DEFAULT_AGENCY_CODE = "000.00.01.H46"
DEFAULT_AGENCY_NAME = "Trung tâm Phục vụ hành chính công thành phố Đà Nẵng"
# A sandbox dossier created without an applicant still needs verification values.
SANDBOX_PHONE, SANDBOX_ID_NUMBER = "0900000000", "000000000000"


def dossier_json(dossier: Dossier) -> Dict[str, Any]:
    """The contract's Dossier: no applicant name, phone or ID number, ever."""
    return {
        "code": dossier.code,
        "procedure_id": dossier.procedure_id,
        "procedure_name": dossier.procedure_name,
        "status": status_json(dossier.status),
        "received_at": to_wire(dossier.received_at),
        "due_date": dossier.due_date.isoformat() if dossier.due_date else None,
        "agency": {"code": dossier.agency_code, "name": dossier.agency_name},
        "missing_documents": list(dossier.missing_documents or []),
        "history": [
            {"status": status_json(change.status), "at": to_wire(change.at), "note": change.note}
            for change in dossier.history
        ],
        "continue_url": dossier.continue_url,
        "channel": dossier.channel,
        "applicant_locality": dossier.applicant_locality,
    }


def find_dossier(session: Session, code: str) -> Optional[Dossier]:
    return session.execute(select(Dossier).where(Dossier.code == code)).scalar_one_or_none()


def verification_matches(dossier: Dossier, value: str) -> bool:
    expected = dossier.applicant_phone[-4:] if len(value) == 4 else (dossier.applicant_id_number or "")
    # Constant time: the answer must not leak how many digits were right.
    return bool(expected) and hmac.compare_digest(expected, value)


def next_code(session: Session, agency_code: str, day: date) -> str:
    """`<agency>-<YYMMDD>-<NNNN>`: the day's next sequence number at that agency."""
    prefix = f"{agency_code}-{day:%y%m%d}-"
    last = session.execute(
        select(func.max(Dossier.code)).where(Dossier.code.like(prefix + "%"))
    ).scalar_one()
    sequence = int(last[-4:]) + 1 if last else 1
    return f"{prefix}{sequence:04d}"


def continue_url(portal_url: str, code: str) -> str:
    return f"{portal_url.rstrip('/')}/ho-so/{code}/tiep-tuc"


def create_draft(session: Session, request: DraftRequest, portal_url: str) -> Dossier:
    now = utcnow()
    code = next_code(session, PORTAL_AGENCY_CODE, local_today())
    dossier = Dossier(
        code=code,
        procedure_id=request.procedure_id,
        procedure_name=request.procedure_name or procedure_name(request.procedure_id),
        status=DRAFT,
        applicant_name=request.applicant.name,
        applicant_phone=request.applicant.phone,
        applicant_id_number=request.applicant.id_number,
        applicant_locality=request.applicant.locality,
        agency_code=PORTAL_AGENCY_CODE,
        agency_name=PORTAL_AGENCY_NAME,
        missing_documents=[],
        continue_url=continue_url(portal_url, code),
        channel=request.channel,
        created_at=now,
        history=[StatusChange(status=DRAFT, at=now, note=None)],
    )
    session.add(dossier)
    session.flush()
    return dossier


def create_sandbox_dossier(session: Session, spec: SandboxDossier, portal_url: str) -> Dossier:
    """A dossier in any state, for tests and demos; unspecified fields get plausible values."""
    now = utcnow()
    status = spec.status if spec.status is not None else REGISTERED
    if spec.agency_code:
        agency_code = spec.agency_code
    elif spec.code:
        agency_code = spec.code.split("-")[0]
    else:
        agency_code = PORTAL_AGENCY_CODE if status == DRAFT else DEFAULT_AGENCY_CODE
    code = spec.code or next_code(session, agency_code, local_today())
    procedure_id = spec.procedure_id or "khai_sinh"
    # Only a dossier that a desk has received has a reception time.
    received_at = spec.received_at or (now if status >= RECEIVED else None)
    applicant = spec.applicant
    dossier = Dossier(
        code=code,
        procedure_id=procedure_id,
        procedure_name=spec.procedure_name or procedure_name(procedure_id),
        status=status,
        applicant_name=applicant.name or "Công dân thử nghiệm",
        applicant_phone=applicant.phone or SANDBOX_PHONE,
        applicant_id_number=applicant.id_number or (None if applicant.phone else SANDBOX_ID_NUMBER),
        applicant_locality=applicant.locality,
        agency_code=agency_code,
        agency_name=spec.agency_name or (PORTAL_AGENCY_NAME if agency_code == PORTAL_AGENCY_CODE
                                         else DEFAULT_AGENCY_NAME),
        received_at=received_at,
        due_date=spec.due_date,
        missing_documents=spec.missing_documents,
        continue_url=continue_url(portal_url, code) if status == DRAFT else None,
        channel=spec.channel,
        created_at=now,
        history=[StatusChange(status=status, at=received_at or now, note=None)],
    )
    session.add(dossier)
    session.flush()
    return dossier


@dataclass
class Transition:
    """A status change as the webhook reports it."""

    previous_status: int
    change: StatusChange


def change_status(session: Session, dossier: Dossier, status: int, note: Optional[str],
                  missing_documents: List[str]) -> Transition:
    now = utcnow()
    previous = dossier.status
    dossier.status = status
    dossier.missing_documents = missing_documents if status == MISSING_DOCUMENTS else []
    if status != DRAFT:
        dossier.continue_url = None  # the citizen has nothing left to continue on the portal
    if status >= RECEIVED and dossier.received_at is None:
        dossier.received_at = now
    change = StatusChange(status=status, at=now, note=note)
    dossier.history.append(change)
    session.flush()
    return Transition(previous, change)


# -- webhooks ---------------------------------------------------------------------------

def register_webhook(session: Session, url: str, secret: str) -> Webhook:
    """Idempotent by URL: registering again replaces the secret and keeps the id."""
    hook = session.execute(select(Webhook).where(Webhook.url == url)).scalar_one_or_none()
    if hook is None:
        hook = Webhook(id=str(uuid.uuid4()), url=url, secret=secret, created_at=utcnow())
        session.add(hook)
    else:
        hook.secret = secret
    session.flush()
    return hook


def list_webhooks(session: Session) -> List[Webhook]:
    return list(session.execute(select(Webhook).order_by(Webhook.created_at, Webhook.id)).scalars())


def delete_webhook(session: Session, hook_id: str) -> bool:
    hook = session.get(Webhook, hook_id)
    if hook is None:
        return False
    session.delete(hook)
    return True


def webhook_json(hook: Webhook) -> Dict[str, Any]:
    return {"id": hook.id, "url": hook.url, "created_at": to_wire(hook.created_at)}


def webhook_targets(session: Session) -> List[Tuple[str, str]]:
    return [(hook.url, hook.secret) for hook in list_webhooks(session)]
