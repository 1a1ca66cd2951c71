"""What the ingestion keeps so that staff read what citizens saw: buttons offered and
pressed, places as today's units, typed thanks as ratings, and no complaint counted for a
question about a procedure the assistant does not cover."""

from __future__ import annotations

import json

from rasa.shared.core.events import BotUttered
from sqlalchemy import select

from bot.analytics import ingest as ingestion
from bot.analytics import names, queries
from bot.analytics.models import conversations, handoffs, messages
from bot.store.models import answer_ratings
from tests.analytics.seed import DAY, action, at, slot, user
from tests.analytics.test_ingest import write

RATING = '/rate_answer{"rating": "useful"}'


def rows(engine, table, *where):
    with engine.connect() as connection:
        return [dict(r) for r in connection.execute(select(table).where(*where).order_by(table.c.id)).mappings()]


def answer_with_buttons(ts: float):
    return BotUttered("Lệ phí cấp sổ đỏ: … Câu trả lời có hữu ích không?", timestamp=ts,
                      data={"buttons": [{"title": "Hữu ích", "payload": RATING},
                                        {"title": "Chưa hữu ích", "payload": '/rate_answer{"rating": "not_useful"}'}]})


async def test_a_pressed_button_is_stored_as_its_title_and_the_buttons_offered_are_kept(stores):
    t = at(DAY, 9)
    answered = [user("lệ phí làm sổ đỏ", "ask_fee", 0.9, t, "socketio"), slot("procedure", "cap_so_do", t + 0.1),
                action("action_answer_procedure", t + 0.2), answer_with_buttons(t + 0.3)]
    await write(stores, {"web-1": answered})
    ingestion.ingest(stores.app, stores.tracker)
    # The button is pressed later: its title is found in what an earlier run stored.
    await write(stores, {"web-1": answered + [user(RATING, "rate_answer", 1.0, t + 10, "socketio")]})
    ingestion.ingest(stores.app, stores.tracker)

    said = rows(stores.app, messages, messages.c.sender_id == "web-1")
    assert json.loads(said[1]["buttons"]) == [["Hữu ích", RATING], ["Chưa hữu ích", '/rate_answer{"rating": "not_useful"}']]
    assert (said[2]["text"], said[2]["pressed"]) == ("Hữu ích", True)
    shown = queries.conversation(stores.app, said[0]["conversation_id"])["messages"]
    assert shown[1]["offered"] == ["Hữu ích", "Chưa hữu ích"]
    assert "rate_answer" not in json.dumps([m["text"] for m in shown] + [m["offered"] for m in shown])


async def test_typed_thanks_right_after_an_answer_counts_as_a_useful_rating(stores):
    t = at(DAY, 10)
    await write(stores, {"tg-7": [
        user("lệ phí làm sổ đỏ", "ask_fee", 0.9, t, "telegram"),
        slot("procedure", "cap_so_do", t + 0.1),
        action("action_answer_procedure", t + 0.2),
        answer_with_buttons(t + 0.3),
        user("em cảm ơn ạ, rất hữu ích", "thank", 0.95, t + 20, "telegram"),
        action("utter_thank", t + 20.2),
        user("cảm ơn lần nữa nha", "thank", 0.95, t + 40, "telegram"),  # not right after an answer
        action("utter_thank", t + 40.2),
    ]})
    ingestion.ingest(stores.app, stores.tracker)
    ratings = rows(stores.app, answer_ratings, answer_ratings.c.sender_id == "tg-7")
    assert [(r["rating"], r["typed"], r["intent"], r["procedure_id"]) for r in ratings] == [
        ("useful", True, "ask_fee", "cap_so_do")]


async def test_a_question_about_a_procedure_not_covered_is_not_a_complaint(stores):
    t = at(DAY, 11)
    await write(stores, {"zl-3": [
        user("sao xin giấy phép karaoke khó vậy", "complain", 0.7, t, "zalo"),
        slot("unmet_procedure", "?", t + 0.1),
        user("cán bộ phường thái độ quá tệ", "complain", 0.9, t + 30, "zalo"),
    ]})
    ingestion.ingest(stores.app, stores.tracker)
    assert [h["text"] for h in rows(stores.app, handoffs, handoffs.c.sender_id == "zl-3")] == [
        "cán bộ phường thái độ quá tệ"]


async def test_places_are_stored_as_todays_units_and_entity_words_are_not_procedures(stores):
    t = at(DAY, 12)
    await write(stores, {"web-9": [
        user("ở Duy Xuyên làm khai sinh", "ask_procedure", 0.9, t, "socketio"),
        slot("locality", "Duy Xuyên", t + 0.1),
        slot("procedure", "giấy phép", t + 0.2),  # the words of an entity, before the action's id
        user("à nhầm, phường Hội An", "inform", 0.9, t + 10, "socketio"),
        slot("locality", "phường Hội An", t + 10.1),
    ]})
    ingestion.ingest(stores.app, stores.tracker)
    said = rows(stores.app, messages, messages.c.sender_id == "web-9")
    assert [(m["locality"], m["procedure"]) for m in said] == [("cu-huyen-duy-xuyen", None), ("phuong-hoi-an", None)]
    assert rows(stores.app, conversations, conversations.c.sender_id == "web-9")[0]["locality"] == "phuong-hoi-an"
    assert names.names().locality("cu-huyen-duy-xuyen") == ("cu-huyen-duy-xuyen", "huyện Duy Xuyên (cũ)")
    assert names.names().locality("Hoi An")[1].endswith("(cũ)")  # the former city, several units today
    assert names.names().locality("phuong-hoi-an") == ("phuong-hoi-an", "phường Hội An")
    assert names.names().locality("chỗ nào đó") == ("", names.UNKNOWN_PLACE)
