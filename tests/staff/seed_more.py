"""More data for the browser tests, on top of tests/analytics/seed.py (whose exact aggregates
other tests assert, so nothing is added there): two weeks of the funnel in many places —
today's units, a former district, a place typed as words by an older version, none at all —
typed reasons, a typed thanks, long procedure names, intents of every kind, buttons."""

from __future__ import annotations

import datetime as dt

from rasa.shared.core.events import BotUttered
from sqlalchemy import insert
from sqlalchemy.engine import Engine

from bot.analytics import targets
from tests.analytics.seed import DAY, ICT, VERIFY_QUESTION, TrackerWriter, action, at, bot, slot, user

WEEK_BEFORE = DAY - dt.timedelta(days=7)
SENDERS = 24


def moment(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), ICT).astimezone(dt.timezone.utc)


async def seed_more(tracker_url: str, engine: Engine) -> None:
    t = at(DAY, 15)
    rating = '/rate_answer{"rating": "useful"}'
    conversations = {
        "web-5005": [
            user("xem danh sách thủ tục", "browse_procedures", 0.9, t, "socketio"),
            action("action_browse_procedures", t + 0.2),
            BotUttered("Các lĩnh vực thủ tục:", timestamp=t + 0.5,
                       data={"buttons": [{"title": "Hộ tịch", "payload": '/browse_procedures{"field": "ho_tich"}'},
                                         {"title": "Đất đai", "payload": '/browse_procedures{"field": "dat_dai"}'}]}),
            user('/browse_procedures{"field": "ho_tich"}', "browse_procedures", 1.0, t + 5, "socketio"),
            user("liên thông khai sinh thường trú bảo hiểm y tế", "ask_procedure", 0.8, t + 10, "socketio"),
            slot("procedure", "lien_thong_khai_sinh", t + 10.1),
            slot("locality", "Duy Xuyên", t + 10.2),
            action("action_answer_procedure", t + 10.3),
            BotUttered("Liên thông đăng ký khai sinh … Câu trả lời có hữu ích không?", timestamp=t + 11,
                       data={"buttons": [{"title": "Hữu ích", "payload": rating},
                                         {"title": "Chưa hữu ích", "payload": '/rate_answer{"rating": "not_useful"}'}]}),
            user(rating, "rate_answer", 1.0, t + 20, "socketio"),
            user("đăng ký nhận tin hồ sơ", "subscribe_dossier", 0.9, t + 30, "socketio"),
            user("hủy nhận tin", "unsubscribe_dossier", 0.9, t + 40, "socketio"),
            user("/restart", "restart", 1.0, t + 50, "socketio"),
            user("cấp đổi sổ đỏ cần gì", "ask_documents", 0.9, t + 60, "socketio"),
            slot("procedure", "cap_doi_so_do", t + 60.1),
            action("action_answer_procedure", t + 60.2),
            BotUttered("Giấy tờ cấp đổi sổ đỏ: …", timestamp=t + 61),
            user("em cảm ơn ạ, rất hữu ích", "thank", 0.95, t + 70, "socketio"),
            action("utter_thank", t + 70.1),
            user("cho hỏi tiền tử tuất bhxh", "ask_procedure", 0.8, t + 80, "cmdline"),
            slot("procedure", "huong_che_do_tu_tuat", t + 80.1),
            user("sao xin giấy phép karaoke khó vậy", "complain", 0.6, t + 90, "socketio"),
            slot("unmet_procedure", "?", t + 90.1),
        ],
    }
    v = at(DAY, 16)
    conversations["zalo-6006"] = [
        user("kiểm tra hồ sơ 000.00.12.H46-251104-0009", "check_dossier_status", 0.95, v, "zalo"),
        bot(VERIFY_QUESTION, v + 1.0, "utter_ask_verification_value"),
        # typed at the verification question: the complaint stays readable, the digits do not
        user("tôi không nhớ 4 số cuối, hồ sơ trễ hẹn cả tháng rồi mà không ai gọi", "complain", 0.8, v + 10, "zalo"),
        bot(VERIFY_QUESTION, v + 11.0, "utter_ask_verification_value"),
        user("số cuối là 5678 nhưng sao vẫn chưa xong", "inform", 0.6, v + 20, "zalo"),
    ]
    writer = TrackerWriter(tracker_url)
    try:
        await writer.save(conversations)
    finally:
        writer.dispose()

    from bot.store.models import answer_ratings, funnel_events, offline_reasons

    places = ["phuong-tam-ky", "cu-huyen-duy-xuyen", None, "Hoi An", "phuong-hoi-an", "xa-nui-thanh"]
    procedures = [("lien_thong_khai_sinh", "ho_tich"), ("cap_doi_so_do", "dat_dai"),
                  ("huong_che_do_tu_tuat", "bao_hiem"), ("khai_sinh", "ho_tich")]
    funnel, reasons = [], []
    for n in range(SENDERS):
        place = places[n % len(places)]
        procedure, field = procedures[n % len(procedures)]
        for day, reach in ((WEEK_BEFORE, 3 if n % 3 == 0 else 1), (DAY, n % 4)):
            sender = f"more-{n}-{day.isoformat()}"
            for stage in ("procedure_viewed", "online_guidance", "draft_created", "submitted")[: reach + 1]:
                funnel.append({"sender_id": sender, "channel": "zalo", "procedure_id": procedure, "field": field,
                               "locality": place, "stage": stage, "at": moment(day, 16)})
    typed = [("no_vneid", "chưa có tài khoản vneid ạ"), ("dont_know_how", "tại thấy phức tạp quá"),
             ("other", "mạng ở nhà yếu lắm, toàn rớt"), ("want_in_person", "nhà gần ủy ban, ra nộp luôn cho chắc"),
             ("other", "để con tôi làm giúp khi nó về")]
    for n, (reason, text) in enumerate(typed):
        procedure, field = procedures[n % len(procedures)]
        reasons.append({"sender_id": f"more-r{n}", "channel": "zalo", "procedure_id": procedure, "field": field,
                        "locality": places[n % len(places)], "reason": reason, "text": text, "at": moment(DAY, 17)})
    with engine.begin() as connection:
        connection.execute(insert(funnel_events), funnel)
        connection.execute(insert(offline_reasons), reasons)
        connection.execute(insert(answer_ratings), [
            {"sender_id": "more-t", "channel": "zalo", "intent": "ask_documents", "procedure_id": "cap_doi_so_do",
             "rating": "useful", "typed": True, "at": moment(DAY, 18)}])
    targets.set_target(engine, "field", "ho_tich", 0.3, "admin")
    targets.set_target(engine, "locality", "cu-huyen-duy-xuyen", 0.25, "admin")
    targets.set_target(engine, "locality", "phuong-tam-ky", 0.4, "admin")
