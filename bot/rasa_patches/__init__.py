"""Every change this project makes to Rasa's own code, in one place.

Each patch (bot/rasa_patches/*.py) replaces a few attributes of Rasa 3.6.21, was measured
(README, Measurements) and gives the same results as the code it replaces
(tests/rasa_patches/). `install()` puts them in; every entry point that runs Rasa calls it
once: the Rasa server and `make shell` start through `python -m bot.rasa_patches` (Rasa's own
command line, patched), and the tests through their session fixture. `uninstall()` puts Rasa's
own code back (tests compare both).

One import hook (HOOKS) replaces no attribute: `no_tensorflow` serves a stand-in for TensorFlow
when the model Rasa's command loads has no TensorFlow component. It must be in before Rasa's
modules are imported, so only `python -m bot.rasa_patches` (which gives `install()` Rasa's
command line before importing Rasa's) puts it in, and once Rasa's modules were imported with
the stand-in it cannot be taken out (`installed()` keeps naming it).

- On another Rasa version nothing is installed, and the log says so loudly: the patches were
  written against 3.6.21's code and may be wrong elsewhere.
- `RASA_PATCHES_OFF=name,name` (or `all`) leaves patches out, one switch per patch.
- `watched.yml` holds a digest of every Rasa function a patch replaces or relies on, and of
  the private Rasa code our plug-ins (bot/rasa_plugins) subclass; a test fails when one of
  them changes, so an upgrade of Rasa cannot silently run a patch against other code.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from bot.rasa_patches.actions import SHARED_SESSIONS, VALIDATOR, close_sessions
from bot.rasa_patches.classifier import INTENT_PROBABILITIES
from bot.rasa_patches.events import APPLIED_EVENTS, EVENT_LOOKUP, SLOT_COPY
from bot.rasa_patches.gc_freeze import GC_FREEZE
from bot.rasa_patches.graph import GRAPH_RUNNER
from bot.rasa_patches.logs import LOG_COPIES
from bot.rasa_patches.no_tensorflow import NO_TENSORFLOW
from bot.rasa_patches.rules import RULE_INDEX
from bot.rasa_patches.patch import ImportHook, Patch
from bot.rasa_patches.tracker_store import NO_MEMORY_FALLBACK

__all__ = ["HOOKS", "PATCHES", "RASA_VERSION", "RELIED_ON", "close_sessions", "install", "installed", "uninstall"]

logger = logging.getLogger(__name__)

RASA_VERSION = "3.6.21"
PATCHES: Tuple[Patch, ...] = (GRAPH_RUNNER, EVENT_LOOKUP, VALIDATOR, SHARED_SESSIONS, LOG_COPIES, SLOT_COPY,
                              NO_MEMORY_FALLBACK, INTENT_PROBABILITIES, RULE_INDEX, GC_FREEZE,
                              APPLIED_EVENTS)
HOOKS: Tuple[ImportHook, ...] = (NO_TENSORFLOW,)

# Private Rasa code our plug-ins subclass or call (not replaced: watched for changes only).
RELIED_ON: Tuple[str, ...] = (
    "rasa.core.brokers.pika:PikaEventBroker.__init__",       # bot/rasa_plugins/event_broker.py: _loop, queues
    "rasa.core.brokers.pika:PikaEventBroker._configure_url",
    "rasa.core.brokers.pika:_create_rabbitmq_ssl_options",
    "rasa.core.tracker_store:SQLTrackerStore._event_query",  # bot/rasa_plugins/tracker_store.py
    "rasa.core.tracker_store:SQLTrackerStore.session_scope",
    "rasa.core.tracker_store:TrackerStore._stream_new_events",
    "rasa.core.lock_store:LockStore",                        # bot/rasa_plugins/lock_store.py
)

_MISSING = object()
# name -> what each replaced attribute was before: (owner, attribute, the owner's own value or _MISSING)
_installed: Dict[str, List[Tuple[Any, str, Any]]] = {}


def installed() -> List[str]:
    return [hook.name for hook in HOOKS if hook.is_in()] + [patch.name for patch in PATCHES if patch.name in _installed]


def install(off: Optional[Iterable[str]] = None, command: Optional[Sequence[str]] = None) -> List[str]:
    """Install every patch not switched off (by `off`, else RASA_PATCHES_OFF); idempotent.

    `command` is Rasa's command line (`run --model ...`): the import hooks decide from it whether
    they apply, and are put in first, before this imports any of Rasa's modules but `rasa`
    itself (which imports no TensorFlow: tests/rasa_patches/test_no_tensorflow.py).
    Returns the names installed. Unknown names in the switch are an operator's error."""
    import rasa

    if off is None:
        from bot.config import load_settings

        off = load_settings().rasa_patches_off
    names = {patch.name for patch in PATCHES} | {hook.name for hook in HOOKS}
    off = set(off)
    unknown = off - names - {"all"}
    if unknown:
        raise ValueError(f"RASA_PATCHES_OFF names unknown patches {sorted(unknown)}; known: {sorted(names)}")
    if rasa.__version__ != RASA_VERSION:
        logger.error("Rasa %s is not %s, the version bot/rasa_patches was written and measured against: "
                     "NO patch installed, Rasa runs as shipped (slower; a failing tracker store falls back "
                     "to memory). Check each patch against the new code, then update RASA_VERSION.",
                     rasa.__version__, RASA_VERSION)
        return []
    for hook in HOOKS:
        if hook.is_in() or "all" in off or hook.name in off:
            continue
        why_not = hook.put_in(command)
        if why_not:
            logger.info("Rasa patch %s not put in: %s", hook.name, why_not)
        else:
            logger.info("Rasa patch %s put in: %s", hook.name, hook.why)
    for patch in PATCHES:
        if patch.name in _installed or "all" in off or patch.name in off:
            continue
        replacements = patch.replacements()
        _installed[patch.name] = [(owner, attribute, vars(owner).get(attribute, _MISSING))
                                  for owner, attribute in replacements]
        for (owner, attribute), replacement in replacements.items():
            setattr(owner, attribute, replacement)
    left_out = sorted(name for name in names if "all" in off or name in off)
    if left_out:
        logger.warning("Rasa patches switched off: %s", ", ".join(left_out))
    return installed()


def uninstall() -> None:
    """Put Rasa's own code back, the latest installed patch first. An import hook through which
    modules were imported stays in (and in `installed()`): their classes were defined with it."""
    for patch in reversed(PATCHES):
        for owner, attribute, original in reversed(_installed.pop(patch.name, [])):
            if original is _MISSING:
                delattr(owner, attribute)
            else:
                setattr(owner, attribute, original)
    for hook in reversed(HOOKS):
        if not hook.take_out():
            logger.warning("Rasa patch %s stays in: Rasa's modules were imported with it", hook.name)
