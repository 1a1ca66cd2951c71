"""Rebuilding trackers: event classes looked up once per type name, slots copied directly, the
applied events worked out once per tracker length."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

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


def _applied_events() -> Replacements:
    """Every policy's prediction replays the conversation from its applied events (the events
    less those reverted or restarted away), which Rasa works out anew each time from all the
    tracker's events: three times per prediction, the same answer while no event is added (py-spy:
    4.5 % of a Rasa server's CPU on the project mix, 2026-12-04). The answer is kept on the tracker
    with the number of events and the last event it was worked out from; the caller gets its own
    copy of the list, as before."""
    from rasa.shared.core.trackers import DialogueStateTracker

    original = DialogueStateTracker.applied_events

    def applied_events(self: DialogueStateTracker) -> List[Any]:
        events = self.events
        last = events[-1] if events else None
        kept = self.__dict__.get("_applied_events_kept")
        if kept is not None and kept[0] is events and kept[1] == len(events) and kept[2] is last:
            return list(kept[3])
        applied = original(self)
        self.__dict__["_applied_events_kept"] = (events, len(events), last, list(applied))
        return applied

    return {(DialogueStateTracker, "applied_events"): applied_events}


APPLIED_EVENTS = Patch("applied_events", "a tracker's applied events worked out once per number of events",
                       _applied_events, ("rasa.shared.core.trackers:DialogueStateTracker.applied_events",
                                         "rasa.shared.core.trackers:DialogueStateTracker.update",
                                         "rasa.shared.core.trackers:DialogueStateTracker.__init__"))
