"""Deep copies made only for Rasa's debug logs, made only while debug logs are written."""

from __future__ import annotations

import copy
import importlib
import logging
import types
from typing import Any, Dict, Optional

from bot.rasa_patches.patch import Patch, Replacements

# Modules of Rasa 3.6.21 whose every `copy.deepcopy` is an argument of a `structlogger.debug`.
LOG_ONLY_DEEPCOPY_MODULES = ("rasa.core.processor", "rasa.core.policies.memoization",
                             "rasa.core.policies.rule_policy", "rasa.core.actions.forms")


class CopyForLogs(types.ModuleType):
    """The `copy` module, except that `deepcopy` copies only while debug logs are written."""

    def __init__(self) -> None:
        super().__init__("copy")
        self._rasa = logging.getLogger("rasa")

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    def deepcopy(self, value: Any, memo: Optional[Dict[int, Any]] = None) -> Any:
        return copy.deepcopy(value, memo) if self._rasa.isEnabledFor(logging.DEBUG) else value


def _log_copies() -> Replacements:
    """Rasa deep-copies policy states, events and slots to pass them to debug logs, also when
    debug logging is off (a tenth of the CPU)."""
    shim = CopyForLogs()
    replacements: Replacements = {}
    for name in LOG_ONLY_DEEPCOPY_MODULES:
        module = importlib.import_module(name)
        if getattr(module, "copy", None) is copy:
            replacements[(module, "copy")] = shim
    return replacements


LOG_COPIES = Patch("log_copies", "deep copies for debug logs only while debug logging is on", _log_copies,
                   tuple(f"{name}:" for name in LOG_ONLY_DEEPCOPY_MODULES))  # the whole module: any new deepcopy
