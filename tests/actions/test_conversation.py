"""Actions run with trackers built inline, as the action server would run them."""

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot import knowledge
from bot.actions.conversation import ActionClarifyIntent, ActionHandoff

DOMAIN = yaml.safe_load(open("domain.yml", encoding="utf-8"))


def tracker(text, intent, ranking=(), entities=(), events=None, slots=None):
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.2},
        "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking],
        "entities": list(entities),
    }
    events = events or []
    events = events + [{"event": "user", "text": text, "parse_data": latest}]
    return Tracker("citizen", slots or {}, latest, events, False, None, {}, "action_listen")


async def run(action, tracker_):
    dispatcher = CollectingDispatcher()
    await action.run(dispatcher, tracker_, DOMAIN)
    return dispatcher.messages


async def test_first_miss_offers_the_two_likeliest_intents_as_buttons():
    messages = await run(
        ActionClarifyIntent(),
        tracker("làm cái giấy kia", "nlu_fallback",
                ranking=[("ask_documents", 0.25), ("ask_fee", 0.2), ("greet", 0.1)],
                entities=[{"entity": "procedure", "value": "khai_sinh"}]),
    )
    assert messages[0]["response"] == "utter_ask_clarify"
    buttons = messages[0]["buttons"]
    labels = knowledge.intent_labels()
    assert [b["title"] for b in buttons[:2]] == [labels["ask_documents"], labels["ask_fee"]]
    assert buttons[0]["payload"] == '/ask_documents{"procedure": "khai_sinh"}'
    assert buttons[-1]["payload"] == "/deny"


async def test_second_miss_gives_the_hotline():
    earlier = [
        {"event": "user", "text": "abc", "parse_data": {"intent": {"name": "nlu_fallback"}}},
        {"event": "action", "name": "action_clarify_intent"},
        {"event": "action", "name": "action_listen"},
    ]
    messages = await run(ActionClarifyIntent(), tracker("def", "nlu_fallback", events=earlier))
    assert messages[0]["response"] == "utter_fallback_give_up"
    assert messages[0]["hotline"] == knowledge.province()["hotline"]["number"]


@pytest.mark.parametrize("text", ["", "😀😀", "   "])
async def test_a_message_without_text_is_asked_for_words(text):
    messages = await run(ActionClarifyIntent(), tracker(text, "nlu_fallback"))
    assert messages[0]["response"] == "utter_no_text"


async def test_handoff_gives_hotline_and_office_hours_from_the_profile():
    messages = await run(ActionHandoff(), tracker("cho gặp cán bộ", "human_handoff"))
    profile = knowledge.province()
    assert messages[0]["response"] == "utter_handoff"
    assert messages[0]["hotline"] == profile["hotline"]["number"]
    assert messages[0]["office_hours"] == profile["office_hours"]["text"]
    # The profile marks the hotline unverified: the answer must say so.
    assert profile["portals"]["city"]["url"] in messages[0]["unverified_note"]


async def test_a_complaint_is_pointed_to_the_petition_channel():
    messages = await run(ActionHandoff(), tracker("cán bộ thái độ tệ", "complain"))
    assert messages[0]["response"] == "utter_complain_received"
