import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from bot import rasa_patches
from bot.config import ROOT
from bot.rasa_patches.actions import json_text
from bot.rasa_patches.graph import run_in_order
from bot.rasa_patches.logs import LOG_ONLY_DEEPCOPY_MODULES
from tests.rasa_patches import rasas_own


def test_valid_action_answers_pass_and_invalid_ones_still_raise_rasas_error():
    assert "action_validator" in rasa_patches.installed()  # by the tests' session fixture, as by the server
    action = RemoteAction("action_answer_procedure", None)
    assert action._validate_action_result({"events": [{"event": "slot", "name": "procedure", "value": "khai_sinh"}],
                                           "responses": [{"text": "chào"}]})
    with pytest.raises(ValidationError) as error:
        action._validate_action_result({"events": [{"name": "procedure"}], "responses": []})
    assert "Failed to validate Action server response" in error.value.message


PARSED = ["xin chào", "lam so do mat bao lau", "đk kết hôn cần j", "000.00.14.H46-261123-0015", "ở huyện Núi Thành",
          "asdkjh qwe", "😀"]


def test_the_graph_runs_in_order_with_dasks_results(agent):
    import dask
    from rasa.engine.constants import PLACEHOLDER_MESSAGE, PLACEHOLDER_TRACKER
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.core.channels.channel import UserMessage

    runner, target = agent.processor.graph_runner, agent.processor.model_metadata.nlu_target
    graph = runner._build_dask_graph(runner._graph_schema.minimal_graph_schema([target]))
    for text in PARSED:
        def inputs(text: str = text) -> dict:
            return {**graph, PLACEHOLDER_MESSAGE: (PLACEHOLDER_MESSAGE, [UserMessage(text, message_id="m")]),
                    PLACEHOLDER_TRACKER: (PLACEHOLDER_TRACKER, DialogueStateTracker("t", agent.domain.slots))}
        (name, by_dask), = dask.get(inputs(), [target])
        (ours_name, ours), = run_in_order(inputs(), [target])
        assert ours_name == name == target
        def seen(messages):
            return [{key: value for key, value in m.as_dict().items() if key != "text_tokens"}
                    | {"tokens": [t.text for t in m.get("text_tokens", [])]} for m in messages]
        assert seen(ours) == seen(by_dask)
        assert seen(ours)[0]["tokens"] and seen(ours)[0]["intent"]["name"]


def test_answers_are_the_same_after_install(agent):
    import asyncio

    rasa_patches.uninstall()
    try:
        assert type(agent.processor.graph_runner).run.__module__ == "rasa.engine.runner.dask"  # Rasa's own
        before = [asyncio.run(agent.parse_message(text)) for text in PARSED]
    finally:
        rasa_patches.install(off=())
    agent.processor.graph_runner.__dict__.pop("_graphs_by_targets", None)
    after = [asyncio.run(agent.parse_message(text)) for text in PARSED]
    assert agent.processor.graph_runner.__dict__["_graphs_by_targets"]  # the installed runner ran
    assert [(p["intent"]["name"], round(p["intent"]["confidence"], 6), p["entities"]) for p in before] == \
           [(p["intent"]["name"], round(p["intent"]["confidence"], 6), p["entities"]) for p in after]
    assert before[2]["intent"]["name"] != before[0]["intent"]["name"]


def test_event_classes_are_found_by_type_name_and_unknown_types_still_fail():
    from rasa.shared.core.events import ActionExecuted, Event, SlotSet, UserUttered

    assert Event.resolve_by_type("user") is UserUttered
    assert Event.resolve_by_type("slot") is SlotSet
    assert Event.resolve_by_type("action") is ActionExecuted
    assert Event.resolve_by_type("nonsense", default=SlotSet) is SlotSet
    assert Event.resolve_by_type("topic") is None
    with pytest.raises(ValueError, match="Unknown event name"):
        Event.resolve_by_type("nonsense")


def test_calls_to_the_action_server_share_a_kept_alive_connection():
    import asyncio

    from aiohttp import web
    from rasa.utils.endpoints import ClientResponseError, EndpointConfig

    peers = []

    async def webhook(request: web.Request) -> web.Response:
        peers.append(request.transport.get_extra_info("peername"))
        body = await request.json()
        if body.get("fail"):
            return web.json_response({"error": "no"}, status=500)
        return web.json_response({"echo": body["n"]})

    async def scenario() -> None:
        app = web.Application()
        app.router.add_post("/webhook", webhook)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook")
        answers = [await endpoint.request(json={"n": n}) for n in range(3)]
        assert answers == [{"echo": 0}, {"echo": 1}, {"echo": 2}]
        with pytest.raises(ClientResponseError):
            await endpoint.request(json={"fail": True})
        assert len(set(peers)) == 1 and len(peers) == 4  # one connection for four calls
        await rasa_patches.close_sessions()
        assert await endpoint.request(json={"n": 9}) == {"echo": 9}  # a closed client is replaced
        await rasa_patches.close_sessions()
        await runner.cleanup()

    asyncio.run(scenario())


def test_log_only_copies_are_skipped_unless_rasa_logs_debug():
    import copy
    import importlib
    import logging

    states = [{"user": {"intent": "hoi_thu_tuc"}}]
    rasa_logger = logging.getLogger("rasa")
    level = rasa_logger.level
    try:
        for name in LOG_ONLY_DEEPCOPY_MODULES:
            module = importlib.import_module(name)
            rasa_logger.setLevel(logging.INFO)
            assert module.copy.deepcopy(states) is states
            rasa_logger.setLevel(logging.DEBUG)
            copied = module.copy.deepcopy(states)
            assert copied == states and copied is not states and copied[0] is not states[0]
            assert module.copy.copy(states) is not states  # the rest of `copy` is the real one
        assert copy.deepcopy(states) is not states  # and nobody else is touched
    finally:
        rasa_logger.setLevel(level)


def test_slots_copy_as_copy_copy_did(agent):
    import copy

    for slot in agent.domain.slots:
        slot.value = "giá trị" if slot.type_name == "text" else slot.value
        duplicate = copy.copy(slot)
        assert type(duplicate) is type(slot) and duplicate is not slot
        assert duplicate.__dict__ == slot.__dict__
        duplicate.value = "khác"
        assert slot.value != "khác"


def test_action_requests_are_the_same_json():
    import json

    payload = {"next_action": "action_answer_procedure", "sender_id": "c/1",
               "tracker": {"events": [{"event": "user", "text": "lệ phí \"khai sinh\"", "confidence": 0.9123456789,
                                       "timestamp": 1764201600.123456, "nested": [None, True, 3]}]},
               "domain": {"slots": {}}}
    assert json.loads(json_text(payload)) == payload
    assert json.loads(json_text({1: float("nan")})).keys() == {"1"}  # stdlib's fallback
    with pytest.raises(TypeError):
        json_text({"x": object()})


ANSWERS = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "procedure", "value": None, "timestamp": None}],
     "responses": [{"text": "x", "buttons": [{"title": "Có", "payload": "/affirm"}], "image": None}]},
    {"events": [{"event": "followup", "name": "action_listen"}], "responses": [{"custom": {"a": 1}}]},
    {"events": [{"event": "bot"}], "responses": [{"text": None}]},
    {"events": "slot", "responses": []},
    {"events": [{"event": 3}], "responses": []},
    {"events": [{"name": "x"}], "responses": []},
    {"responses": [{"text": "no events"}]},
    {"events": [], "responses": {"text": "not a list"}},
    [],
    {"events": [{"event": "user", "text": "xin chào", "parse_data": {"intent": {"name": "greet", "confidence": 1.0},
                                                                      "entities": [{"entity": "x", "value": 1}]}},
                {"event": "action", "name": "action_listen", "policy": None, "confidence": 1},
                {"event": "active_loop", "name": "online_form"}, {"event": "session_started", "timestamp": 1.5}],
     "responses": []},
    {"events": [{"event": "user", "parse_data": {"entities": [{"entity": "x"}]}}], "responses": []},  # no value
    {"events": [{"event": "slot", "name": "procedure"}], "responses": []},  # a slot without its value
    {"events": [{"event": "action", "name": 3}], "responses": []},
    {"events": [{"event": "no_such_event"}], "responses": []},
    {"events": [{"event": "slot", "name": "x", "value": 1, "timestamp": "yesterday"}], "responses": []},
    {"events": [{"event": "bot", "metadata": []}], "responses": []},
    {"events": ["slot"], "responses": []},
    {"events": [], "responses": [{"text": 3}], "extra": True},
    {"events": [{"event": "user", "text": None, "parse_data": {"intent_ranking": [{"name": 1}]}}], "responses": []},
]


@pytest.mark.parametrize("answer", ANSWERS)
def test_the_validator_built_once_agrees_with_jsonschema(answer):
    from jsonschema import Draft7Validator
    from jsonschema.validators import validator_for

    schema = RemoteAction.action_response_format_spec()
    expected = validator_for(schema, default=Draft7Validator)(schema).is_valid(answer)
    action = RemoteAction("action_answer_procedure", None)
    if expected:
        assert action._validate_action_result(answer) is True
    else:
        with pytest.raises(ValidationError):
            action._validate_action_result(answer)


def test_intent_probabilities_are_scikit_learns_on_the_blind_set(agent):
    """Rasa's LogisticRegressionClassifier.process and the patched one, on the same featurized
    messages (the loaded graph holds the function it was built with: both are called directly)."""
    import asyncio
    import copy

    import yaml
    from rasa.core.channels.channel import UserMessage
    from rasa.engine.constants import PLACEHOLDER_MESSAGE
    from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier

    from bot.rasa_patches.classifier import _intent_probabilities

    runner = agent.processor.graph_runner
    name, node = next((n, s) for n, s in runner._graph_schema.nodes.items() if s.uses is LogisticRegressionClassifier)
    component = runner._instantiated_nodes[name]._component
    original = rasas_own(LogisticRegressionClassifier, "process")
    patched = _intent_probabilities()[(LogisticRegressionClassifier, "process")]
    assert original.__module__ == LogisticRegressionClassifier.__module__ != patched.__module__
    blind = yaml.safe_load((ROOT / "tests" / "nlu" / "blind" / "blind-nlu.yml").read_text(encoding="utf-8"))
    texts = PARSED + [e["text"] for block in blind["nlu"] for e in block["examples"]][:400]
    graph = runner._build_dask_graph(runner._graph_schema.minimal_graph_schema([node.needs["messages"]]))
    for text in texts:
        inputs = {**graph, PLACEHOLDER_MESSAGE: (PLACEHOLDER_MESSAGE, [UserMessage(text, message_id="m")])}
        (_, featurized), = run_in_order(inputs, [node.needs["messages"]])
        old = original(component, copy.deepcopy(featurized))[0]
        new = patched(component, copy.deepcopy(featurized))[0]
        assert [r["name"] for r in old.get("intent_ranking")] == [r["name"] for r in new.get("intent_ranking")], text
        assert all(abs(a["confidence"] - b["confidence"]) < 1e-12
                   for a, b in zip(old.get("intent_ranking"), new.get("intent_ranking"))), text
        assert old.get("intent")["name"] == new.get("intent")["name"]
    assert asyncio.run(agent.parse_message("đk kết hôn cần j"))["intent"]["name"]


def test_applied_events_kept_per_length_are_rasas_after_every_event(agent):
    """Rasa's applied_events and the kept one, asked twice after each event is added, on the
    stories' conversations and on one with every kind of event that undoes others."""
    from rasa.shared.core.events import (ActionExecuted, ActionReverted, ActiveLoop, Restarted, SessionStarted,
                                         UserUttered, UserUtteranceReverted)
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.rasa_patches.events import _applied_events
    from tests.rasa_patches.test_rules import story_trackers

    original = rasas_own(DialogueStateTracker, "applied_events")
    kept = _applied_events()[(DialogueStateTracker, "applied_events")]
    assert original.__module__ == "rasa.shared.core.trackers" and kept.__module__ == "bot.rasa_patches.events"
    undoing = [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen"),
               UserUttered("xin chào", {"name": "greet"}), ActionExecuted("utter_greet"), ActionReverted(),
               ActionExecuted("action_listen"), UserUttered("tra cứu", {"name": "check_dossier_status"}),
               ActionExecuted("dossier_form"), ActiveLoop("dossier_form"), ActionExecuted("action_listen"),
               UserUttered("abc", {"name": "nlu_fallback"}), UserUtteranceReverted(), ActionExecuted("dossier_form"),
               ActionExecuted("action_listen"), Restarted(), ActionExecuted("action_listen")]
    conversations = [list(t.events) for t in story_trackers(agent.domain)] + [undoing]
    compared = 0
    for events in conversations:
        tracker = DialogueStateTracker("c", agent.domain.slots)
        for event in events:
            tracker.update(event)
            expected = original(tracker)
            first, second = kept(tracker), kept(tracker)
            assert first == expected and second == expected and first is not second
            first.clear()  # a caller's own copy: clearing it changes nothing kept
            assert kept(tracker) == expected
            compared += 1
    assert compared > 700
