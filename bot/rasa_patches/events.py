"""Rebuilding trackers: event classes looked up once per type name, slots copied directly."""

from __future__ import annotations

from typing import Dict, Optional

from bot.rasa_patches.patch import Patch, Replacements


def _event_lookup() -> Replacements:
    """Rebuilding a tracker from stored events looks each event's class up among all
    subclasses of `Event`, once per event; the classes are looked up once per type name."""
    from rasa.shared.core.events import Event

    original = Event.resolve_by_type
    classes: Dict[str, type] = {}

    def resolve_by_type(type_name: str, default: Optional[type] = None) -> Optional[type]:
        found = classes.get(type_name)
        if found is None:
            found = original(type_name, default)
            if found is not None and getattr(found, "type_name", None) == type_name:
                classes[type_name] = found
        return found

    return {(Event, "resolve_by_type"): staticmethod(resolve_by_type)}


EVENT_LOOKUP = Patch("event_lookup", "event classes looked up once per type name", _event_lookup,
                     ("rasa.shared.core.events:Event.resolve_by_type",))


def _slot_copy() -> Replacements:
    """Every tracker Rasa builds copies every slot with `copy.copy`, the generic (slow) way;
    slots get a `__copy__` that does the same shallow copy directly."""
    from rasa.shared.core.slots import Slot

    def __copy__(self: Slot) -> Slot:  # what copy.copy does for an object with a __dict__
        duplicate = self.__class__.__new__(self.__class__)
        duplicate.__dict__.update(self.__dict__)
        return duplicate

    return {(Slot, "__copy__"): __copy__}


SLOT_COPY = Patch("slot_copy", "slots copied by a direct shallow copy", _slot_copy,
                  ("rasa.shared.core.trackers:DialogueStateTracker.__init__",
                   "rasa.shared.core.slots:Slot"))
