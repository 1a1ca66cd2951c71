"""Tests of bot/rasa_patches: each patch gives Rasa's own results."""

from typing import Any

from bot import rasa_patches


def rasas_own(owner: Any, attribute: str) -> Any:
    """Rasa's own `owner.attribute`, read with every patch out (they are put back in)."""
    rasa_patches.uninstall()
    try:
        return getattr(owner, attribute)
    finally:
        rasa_patches.install(off=())
