"""Installing, switching off, uninstalling the Rasa patches, and noticing when Rasa changes."""

import logging

import pytest
import rasa
from rasa.core.actions.action import RemoteAction
from rasa.core.agent import Agent
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.shared.core.slots import Slot

from bot import rasa_patches
from bot.rasa_patches import watched


@pytest.fixture
def reinstalled():
    """Each test starts from stock Rasa and leaves the session's patches installed again."""
    rasa_patches.uninstall()
    yield
    rasa_patches.uninstall()
    rasa_patches.install(off=())


def rasa_own(function) -> bool:
    return function.__module__.startswith("rasa.")


def test_the_tests_run_every_patch_as_the_server_does():
    assert rasa_patches.installed() == [patch.name for patch in rasa_patches.PATCHES]


def test_uninstall_gives_rasas_own_code_back(reinstalled):
    assert rasa_own(DaskGraphRunner.run) and rasa_own(RemoteAction._validate_action_result)
    assert rasa_own(Agent._create_tracker_store) and "__copy__" not in vars(Slot)
    assert rasa_patches.installed() == []
    assert rasa_patches.install(off=()) == [patch.name for patch in rasa_patches.PATCHES]
    assert not rasa_own(DaskGraphRunner.run) and "__copy__" in vars(Slot)
    assert isinstance(vars(Agent)["_create_tracker_store"], staticmethod)


def test_install_twice_installs_once(reinstalled):
    rasa_patches.install(off=())
    validate = RemoteAction._validate_action_result
    rasa_patches.install(off=())
    assert RemoteAction._validate_action_result is validate
    rasa_patches.uninstall()
    assert rasa_own(RemoteAction._validate_action_result)  # one uninstall is enough


def test_each_patch_has_its_switch(reinstalled, monkeypatch, caplog):
    monkeypatch.setenv("RASA_PATCHES_OFF", "graph_runner, slot_copy")
    with caplog.at_level(logging.WARNING, logger="bot.rasa_patches"):
        names = rasa_patches.install()
    assert "graph_runner" not in names and "slot_copy" not in names and "action_validator" in names
    assert rasa_own(DaskGraphRunner.run) and "__copy__" not in vars(Slot)
    assert "graph_runner, slot_copy" in caplog.text
    rasa_patches.uninstall()
    assert rasa_patches.install(off={"all"}) == [] and rasa_own(DaskGraphRunner.run)


def test_an_unknown_switch_is_an_operators_error(reinstalled):
    with pytest.raises(ValueError, match="graph_runer"):
        rasa_patches.install(off={"graph_runer"})
    assert rasa_patches.installed() == []


def test_another_rasa_version_gets_no_patch_and_a_loud_log(reinstalled, monkeypatch, caplog):
    with monkeypatch.context() as patched, caplog.at_level(logging.ERROR, logger="bot.rasa_patches"):
        patched.setattr(rasa, "__version__", "3.7.0")
        assert rasa_patches.install(off=()) == []
    assert rasa_own(DaskGraphRunner.run) and rasa_own(RemoteAction._validate_action_result)
    assert "Rasa 3.7.0 is not 3.6.21" in caplog.text and "NO patch installed" in caplog.text


def test_the_rasa_code_the_patches_were_written_against_is_unchanged():
    changed = watched.changed()
    assert not changed, (f"Rasa's code changed under these patches: {changed}. Check each patch against the "
                         "new code, then `python -m bot.rasa_patches.watched --write`.")


def test_a_changed_rasa_function_is_noticed(monkeypatch):
    original = watched.current()
    path = "rasa.engine.runner.dask:DaskGraphRunner.run"
    monkeypatch.setattr(watched, "current", lambda: {**original, path: "0" * 16})
    assert watched.changed() == {path: "graph_runner"}


def test_every_replaced_function_is_watched():
    for patch in rasa_patches.PATCHES:
        for owner, attribute in patch.replacements():
            module = getattr(owner, "__name__", "") if isinstance(owner, type(logging)) else owner.__module__
            qualified = f"{module}:" if isinstance(owner, type(logging)) else f"{module}:{owner.__qualname__}.{attribute}"
            assert qualified in patch.watches or (attribute == "__copy__" and f"{module}:{owner.__qualname__}"
                                                  in patch.watches), (patch.name, qualified)
