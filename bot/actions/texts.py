"""Filling the domain's response templates when one response is part of another."""

from __future__ import annotations

from typing import Any, Dict


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


def response_text(domain: Dict[str, Any], response: str, **values: Any) -> str:
    """The first text variant of a domain response, with `{placeholders}` filled."""
    variants = (domain.get("responses") or {}).get(response) or []
    if not variants:
        return ""
    return str(variants[0].get("text", "")).format_map(_Blank(values))


def contact_values(profile: Dict[str, Any]) -> Dict[str, Any]:
    """Hotline, office hours and portal from the province profile, for templates."""
    hotline = profile.get("hotline") or {}
    hours = profile.get("office_hours") or {}
    portal = ((profile.get("portals") or {}).get("city") or {}).get("url", "")
    return {
        "hotline": hotline.get("number", ""),
        "hotline_name": hotline.get("name", ""),
        "office_hours": hours.get("text", ""),
        "portal_url": portal,
        "verified": bool(hotline.get("verified")) and bool(hours.get("verified")),
    }
