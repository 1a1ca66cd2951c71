"""The one clock: timezone-aware UTC now, and the local timezone days are counted in."""

from __future__ import annotations

import datetime as dt

LOCAL_TZ = dt.timezone(dt.timedelta(hours=7), "ICT")  # Việt Nam: UTC+7, no daylight saving


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
