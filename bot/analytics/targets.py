"""The target share of online dossiers per field or locality, set by an admin on the funnel page."""

from __future__ import annotations

import math
from typing import Dict, Optional, Tuple

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.engine import Engine

from bot.analytics.models import TARGET_SCOPES, targets
from bot.clock import now


def target_map(engine: Engine) -> Dict[Tuple[str, str], float]:
    """(scope, key) → target share, for every target set."""
    with engine.connect() as connection:
        return {(row["scope"], row["key"]): float(row["target_share"])
                for row in connection.execute(select(targets)).mappings()}


def set_target(engine: Engine, scope: str, key: str, share: Optional[float], by: str) -> None:
    """Set (or with None, remove) the target share of online dossiers of a field or locality."""
    if scope not in TARGET_SCOPES:
        raise ValueError(f"unknown target scope {scope!r}")
    if not key or len(key) > 255:
        raise ValueError("target key must be 1 to 255 characters")
    if share is not None and not (0.0 <= share <= 1.0 and math.isfinite(share)):
        raise ValueError("target share must be between 0 and 1")
    where = and_(targets.c.scope == scope, targets.c.key == key)
    with engine.begin() as connection:
        if share is None:
            connection.execute(delete(targets).where(where))
            return
        changed = connection.execute(update(targets).where(where).values(
            target_share=share, updated_at=now(), updated_by=by)).rowcount
        if not changed:
            connection.execute(insert(targets).values(scope=scope, key=key, target_share=share,
                                                      updated_at=now(), updated_by=by))
