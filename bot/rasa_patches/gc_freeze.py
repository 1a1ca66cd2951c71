"""The loaded model kept out of the garbage collector's full collections."""

from __future__ import annotations

import gc
import logging
import time
from typing import Any

from bot.rasa_patches.patch import Patch, Replacements

logger = logging.getLogger(__name__)


def _gc_freeze() -> Replacements:
    """A Rasa server holds about half a million objects once its model is loaded; Python's full
    garbage collection walks all of them (250 ms here, 2026-12-04), and it runs on the event
    loop, stopping every message in flight, each time enough new objects have lived long enough
    (every few seconds under load: the 0.7-3.7 s p99 of `make bench`). Once the model is loaded,
    `gc.freeze()` moves what exists into a generation the collector no longer walks; what the
    messages create is collected as before. A model loaded later (PUT /model) is frozen too:
    the previous one's objects stay frozen, as they would stay alive until Rasa drops them."""
    import rasa.core.run

    original = rasa.core.run.load_agent_on_start

    async def load_agent_on_start(*args: Any, **kwargs: Any) -> Any:
        agent = await original(*args, **kwargs)
        started = time.perf_counter()
        gc.collect()
        gc.freeze()
        logger.info("the loaded model's %d objects are out of the garbage collector's way (%.0f ms)",
                    gc.get_freeze_count(), (time.perf_counter() - started) * 1000)
        return agent

    return {(rasa.core.run, "load_agent_on_start"): load_agent_on_start}


GC_FREEZE = Patch("gc_freeze", "the loaded model's objects frozen out of full garbage collections", _gc_freeze,
                  ("rasa.core.run:",))  # a module attribute: the whole module is watched
