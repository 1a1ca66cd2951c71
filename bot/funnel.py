"""Recording the online-service funnel: procedure viewed → online guidance → draft → submitted."""

from __future__ import annotations

import logging
from typing import Optional

from rasa_sdk import Tracker

from bot import knowledge, services
from bot.store import db

logger = logging.getLogger(__name__)


def record(tracker: Tracker, stage: str, procedure_id: str, dossier_code: Optional[str] = None) -> None:
    """Analytics must never break a conversation: a failed write is logged, not raised."""
    entry = knowledge.catalogue().get(procedure_id)
    try:
        db.record_funnel(
            services.app_db(), stage, tracker.sender_id, procedure_id,
            channel=tracker.get_latest_input_channel(),
            field=entry["field"] if entry else None,
            locality=knowledge.localities().place_key(tracker.get_slot("locality")),
            dossier_code=dossier_code,
        )
    except Exception:  # noqa: BLE001 - see docstring
        logger.exception("funnel event %s for %s not recorded", stage, procedure_id)
