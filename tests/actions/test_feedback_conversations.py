"""Why citizens stay offline, and answer ratings, recorded for the staff analytics."""

import pytest
import yaml
from sqlalchemy import create_engine, select

from bot import knowledge
from bot.config import ROOT
from bot.store.models import answer_ratings, offline_reasons

pytestmark = pytest.mark.integration


def buttons(answer):
    return [b for m in answer for b in m.get("buttons", [])]


def table(assistant, which):
    engine = create_engine(f"sqlite:///{assistant.var / 'assistant.db'}", future=True)
    with engine.connect() as connection:
        return [dict(r) for r in connection.execute(select(which)).mappings()]


def test_declining_the_online_path_asks_why_and_records_the_reason(assistant):
    assistant.say("decliner", "tôi muốn nộp hồ sơ tạm trú trực tuyến")
    answer = assistant.say("decliner", "không")
    titles = [b["title"] for b in buttons(answer)]
    assert titles == list(knowledge.feedback_texts()["offline_reasons"].values())
    pressed = next(b["payload"] for b in buttons(answer) if "no_vneid" in b["payload"])
    reply = " ".join(m.get("text", "") for m in assistant.say("decliner", pressed))
    assert "VNeID" in reply
    rows = [r for r in table(assistant, offline_reasons) if r["sender_id"] == "decliner"]
    assert [(r["reason"], r["procedure_id"], r["field"]) for r in rows] == [("no_vneid", "tam_tru", "cu_tru")]


def test_an_answer_asks_if_it_helped_and_the_rating_is_recorded(assistant):
    answer = assistant.say("rater", "lệ phí làm sổ đỏ bao nhiêu")
    assert any("hữu ích" in (m.get("text") or "") for m in answer)
    not_useful = next(b["payload"] for b in buttons(answer) if "not_useful" in b["payload"])
    reply = " ".join(m.get("text", "") for m in assistant.say("rater", not_useful))
    assert knowledge.province()["hotline"]["number"] in reply
    rows = [r for r in table(assistant, answer_ratings) if r["sender_id"] == "rater"]
    assert [(r["rating"], r["intent"], r["procedure_id"]) for r in rows] == [("not_useful", "ask_fee", "cap_so_do")]


def response(name):
    return yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))["responses"][name][0]["text"]


@pytest.mark.parametrize("typed, reason", [
    # Words that read like other intents (a VNeID question, a complaint, a wish for a person)
    # are the answer to the question just asked.
    ("tại thấy phức tạp quá", "dont_know_how"),
    ("chua co tai khoan vneid", "no_vneid"),
    ("muốn lên phường gặp cán bộ nộp cho chắc", "want_in_person"),
    ("mạng ở nhà yếu lắm, toàn rớt", "other"),
])
def test_a_reason_typed_in_words_is_read_by_the_nlu_and_kept(assistant, typed, reason):
    sender = f"typed-{reason}"
    assistant.say(sender, "tôi muốn nộp hồ sơ tạm trú trực tuyến")
    assistant.say(sender, "không")
    reply = " ".join(m.get("text", "") for m in assistant.say(sender, typed))
    assert response(f"utter_offline_reason_{reason}").split(". ", 1)[1][:25] in reply  # the reply for that reason
    rows = [r for r in table(assistant, offline_reasons) if r["sender_id"] == sender]
    assert [(r["reason"], r["text"]) for r in rows] == [(reason, typed)]


def test_a_question_after_the_reason_question_is_answered_not_recorded(assistant):
    assistant.say("asker", "tôi muốn nộp hồ sơ tạm trú trực tuyến")
    assistant.say("asker", "không")
    reply = " ".join(m.get("text", "") for m in assistant.say("asker", "tài khoản vneid đăng ký ở đâu vậy"))
    assert "VNeID" in reply
    assert [r for r in table(assistant, offline_reasons) if r["sender_id"] == "asker"] == []


def test_a_typed_yes_to_the_rating_question_is_marked_typed(assistant):
    answer = assistant.say("typer", "lệ phí làm sổ đỏ bao nhiêu")
    assert any("hữu ích" in (m.get("text") or "") for m in answer)
    assistant.say("typer", "ừ hữu ích lắm")
    rows = [r for r in table(assistant, answer_ratings) if r["sender_id"] == "typer"]
    assert [(r["rating"], r["typed"]) for r in rows] == [("useful", True)]
