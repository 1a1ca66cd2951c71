"""The loaded model is frozen out of the garbage collector's full collections."""

import asyncio
import gc
from types import SimpleNamespace

from bot import rasa_patches
from tests.conftest import trained_model


def test_a_loaded_model_is_out_of_full_collections_and_still_answers():
    import rasa.core.run
    from rasa.core.utils import AvailableEndpoints

    assert "gc_freeze" in rasa_patches.installed()
    assert rasa.core.run.load_agent_on_start.__module__ == "bot.rasa_patches.gc_freeze"
    gc.unfreeze()
    app = SimpleNamespace(ctx=SimpleNamespace())
    try:
        loop = asyncio.new_event_loop()
        agent = loop.run_until_complete(
            rasa.core.run.load_agent_on_start(str(trained_model()), AvailableEndpoints(), None, app, loop))
        frozen = gc.get_freeze_count()
        assert app.ctx.agent is agent and agent.is_ready()
        assert frozen > 100_000  # the model's objects, not a handful
        assert loop.run_until_complete(agent.parse_message("đk kết hôn cần j"))["intent"]["name"]
        loop.close()
    finally:
        gc.unfreeze()
