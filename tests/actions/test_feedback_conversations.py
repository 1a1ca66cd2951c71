"""Why citizens stay offline, and answer ratings, recorded for the staff analytics."""

import pytest
from sqlalchemy import create_engine, select

from bot import knowledge
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
