"""The fast tier: actions run on a tracker and a dispatcher in this process (milliseconds, no
Rasa server): why a citizen stays offline, typed in words. The tier's tools are in
tests/actions/fast.py, its fixtures (app_db) in tests/actions/conftest.py."""

from __future__ import annotations

from typing import Any, Dict, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import FollowupAction
from sqlalchemy import select

from bot import knowledge
from bot.actions.context import answers_reason_question
from bot.actions.feedback import ActionRecordOfflineReason
from bot.actions.online_service import ActionOnlineHelp
from bot.store.models import offline_reasons
from tests.actions.fast import run

REASON_BUTTONS = [{"title": title, "payload": f'/offline_reason{{"offline_reason": "{key}"}}'}
                  for key, title in (("no_vneid", "Chưa có tài khoản VNeID"), ("other", "Lý do khác"))]


def tracker(text: str, intent: str, reason: Optional[Dict[str, Any]], asked: bool = True,
            sender: str = "fast-1") -> Tracker:
    """A conversation whose last bot message asked why (with its buttons), then `text`."""
    question = {"event": "bot", "text": "Vì sao bạn chưa muốn nộp trực tuyến?",
                "data": {"buttons": REASON_BUTTONS if asked else []}, "metadata": {}}
    message = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": [],
               "intent_ranking": [{"name": intent, "confidence": 0.9}]}
    if reason is not None:
        message["offline_reason"] = reason
    events = [{"event": "action", "name": "action_ask_offline_reason"}, question,
              {"event": "user", "text": text, "parse_data": message}]
    return Tracker(sender, {"procedure": "tam_tru", "locality": "Duy Xuyên"}, message, events, False, None, {},
                   "action_listen")


@pytest.mark.parametrize("text, intent, reason, expected", [
    ("chua co tai khoan vneid", "ask_account", {"name": "no_vneid", "confidence": 0.9}, True),
    ("tại thấy phức tạp quá", "complain", {"name": "dont_know_how", "confidence": 0.8}, True),
    ("tra cứu hồ sơ", "check_dossier_status", {"name": "none", "confidence": 0.99}, False),  # a request
    ("vneid đăng ký ở đâu vậy", "ask_account", {"name": "no_vneid", "confidence": 0.7}, False),  # a question
    ("thôi", "deny", {"name": "other", "confidence": 0.5}, False),  # declines to answer
    ('/offline_reason{"offline_reason": "other"}', "offline_reason", None, False),  # the button: its own rule
])
def test_what_counts_as_a_reason_typed_after_the_question(text, intent, reason, expected):
    assert answers_reason_question(tracker(text, intent, reason)) is expected


def test_words_that_resemble_a_reason_are_not_one_when_nobody_asked():
    assert not answers_reason_question(tracker("chua co tai khoan vneid", "ask_account",
                                               {"name": "no_vneid", "confidence": 0.9}, asked=False))


def test_a_vneid_question_action_hands_a_typed_reason_to_the_recorder():
    events, dispatcher = run(ActionOnlineHelp(), tracker("chua co tai khoan vneid", "ask_account",
                                                         {"name": "no_vneid", "confidence": 0.9}))
    assert events == [FollowupAction("action_record_offline_reason")] and dispatcher.messages == []


def test_the_recorder_keeps_the_category_the_place_and_the_words(app_db):
    events, dispatcher = run(ActionRecordOfflineReason(), tracker(
        "tại thấy phức tạp quá, gọi 0905123456 hỏi cũng không ai nghe", "complain",
        {"name": "dont_know_how", "confidence": 0.8}))
    assert [m["response"] for m in dispatcher.messages] == ["utter_offline_reason_dont_know_how"]
    with app_db.connect() as connection:
        rows = [dict(r) for r in connection.execute(select(offline_reasons)).mappings()]
    assert [(r["reason"], r["procedure_id"], r["field"], r["locality"], r["text"]) for r in rows] == [
        ("dont_know_how", "tam_tru", knowledge.catalogue().get("tam_tru")["field"], "cu-huyen-duy-xuyen",
         "tại thấy phức tạp quá, gọi *** hỏi cũng không ai nghe")]
