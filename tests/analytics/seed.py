"""Test data written the way production writes it: Rasa's own SQLTrackerStore saving
DialogueStateTrackers of real Rasa events, and rows of the assistant's tables.

The dataset is small and exact, so the tests can assert every aggregate.
"""

from __future__ import annotations

import datetime as dt
from typing import Dict, List, Optional, Sequence

from sqlalchemy import insert
from sqlalchemy.engine import Engine

ICT = dt.timezone(dt.timedelta(hours=7))
DAY = dt.date(2026, 3, 10)  # the first day of the dataset (local time)
NEXT_DAY = DAY + dt.timedelta(days=1)
NAME_QUESTION = "Họ và tên người nộp hồ sơ (có dấu), ví dụ: Nguyễn Văn An"
PHONE_QUESTION = "Số điện thoại di động của người nộp (để nhận mã OTP và thông báo), ví dụ: 0905123456"
ID_QUESTION = "Số định danh cá nhân (12 số trên thẻ căn cước) của người nộp. Nếu không muốn cung cấp, gõ «bỏ qua»."
VERIFY_QUESTION = ("Để bảo vệ thông tin của bạn, vui lòng nhập 4 số cuối số điện thoại đã khai khi nộp hồ sơ, "
                   "hoặc số định danh cá nhân (12 số) của người nộp.")
SLOTS = ("procedure", "locality", "lookup_outcome", "unmet_procedure", "applicant_name", "applicant_phone",
         "applicant_id", "verification_value")


def at(day: dt.date, hour: int, minute: int = 0, second: float = 0.0) -> float:
    """A local time as the epoch seconds Rasa stores."""
    moment = dt.datetime.combine(day, dt.time(hour, minute), ICT) + dt.timedelta(seconds=second)
    return moment.timestamp()


def user(text: str, intent: str, confidence: float, ts: float, channel: str, entities=None):
    from rasa.shared.core.events import UserUttered

    return UserUttered(text, intent={"name": intent, "confidence": confidence},
                       entities=entities or [], timestamp=ts, input_channel=channel)


def bot(text: str, ts: float, utter: Optional[str] = None):
    from rasa.shared.core.events import BotUttered

    return BotUttered(text, metadata={"utter_action": utter} if utter else {}, timestamp=ts)


def action(name: str, ts: float):
    from rasa.shared.core.events import ActionExecuted

    return ActionExecuted(name, timestamp=ts)


def slot(name: str, value, ts: float):
    from rasa.shared.core.events import SlotSet

    return SlotSet(name, value, timestamp=ts)


def conversations_part_one() -> Dict[str, List]:
    """Three citizens on three channels (DAY and NEXT_DAY)."""
    t = at(DAY, 10)
    s = at(DAY, 11)
    z = at(NEXT_DAY, 9)
    return {
        "tg-1001": [
            action("action_listen", t),
            user("xin chào", "greet", 0.98, t + 1, "telegram"),
            action("utter_greet", t + 1.5),
            bot("Xin chào! Tôi là trợ lý dịch vụ công.", t + 2.0, "utter_greet"),  # latency 1 s
            action("action_listen", t + 2.1),
            user("làm khai sinh cần giấy tờ gì", "ask_documents", 0.91, t + 10, "telegram",
                 [{"entity": "procedure", "value": "khai sinh", "start": 4, "end": 13}]),
            slot("procedure", "khai_sinh", t + 10.1),
            action("action_answer_procedure", t + 11),
            bot("Giấy tờ cần chuẩn bị cho thủ tục «Đăng ký khai sinh»: …", t + 12.0),  # latency 2 s
            action("action_listen", t + 12.1),
            user("tôi muốn nộp trực tuyến", "start_online_service", 0.88, t + 20, "telegram"),
            action("online_application_form", t + 20.2),
            bot(NAME_QUESTION, t + 20.5, "utter_ask_applicant_name"),  # latency 0.5 s
            action("action_listen", t + 20.6),
            user("Trần Thị Bích", "nlu_fallback", 0.31, t + 30, "telegram"),
            slot("applicant_name", "Trần Thị Bích", t + 30.1),
            bot(PHONE_QUESTION, t + 31.0, "utter_ask_applicant_phone"),  # latency 1 s
            action("action_listen", t + 31.1),
            user("0905123456", "inform", 0.77, t + 40, "telegram",
                 [{"entity": "phone_number", "value": "0905123456", "start": 0, "end": 10}]),
            slot("applicant_phone", "0905123456", t + 40.1),
            bot(ID_QUESTION, t + 43.0, "utter_ask_applicant_id"),  # latency 3 s
            action("action_listen", t + 43.1),
            user("049123456789", "inform", 0.7, t + 50, "telegram"),
            slot("applicant_id", "049123456789", t + 50.1),
            bot("Bạn kiểm tra lại thông tin trước khi tôi tạo hồ sơ nháp:\n• Thủ tục: Đăng ký khai sinh\n"
                "• Họ tên: Trần Thị Bích\n• Số điện thoại: 0905123456\n• Số định danh: 049123456789\n"
                "• Địa bàn: phường Tam Kỳ\nThông tin đúng chưa?", t + 54.0),  # latency 4 s
        ],
        "rest-2002": [
            user("abc xyz lung tung quá", "nlu_fallback", 0.2, s, "rest"),
            action("action_clarify_intent", s + 0.5),
            bot("Xin lỗi, tôi chưa chắc đã hiểu đúng. Ý bạn là …?", s + 1.0, "utter_ask_clarify"),  # 1 s
            user("tên tôi là Lê Văn Tám, số điện thoại 0912 345 678, hỏi về đất", "ask_procedure", 0.55, s + 10, "rest"),
            action("action_clarify_intent", s + 10.5),
            bot("Xin lỗi, tôi chưa chắc đã hiểu đúng. Ý bạn là …?", s + 12.0, "utter_ask_clarify"),  # 2 s
            user("gặp cán bộ", "human_handoff", 0.97, s + 20, "rest"),
            slot("locality", "phường Tam Kỳ", s + 20.1),
            bot("Để gặp cán bộ, bạn có thể gọi tổng đài.", s + 21.0, "utter_handoff"),  # 1 s
        ],
        "zalo-3003": [
            user("kiểm tra hồ sơ 000.00.12.H46-251104-0007", "check_dossier_status", 0.95, z, "zalo"),
            bot(VERIFY_QUESTION, z + 1.0, "utter_ask_verification_value"),  # 1 s
            user("5678", "inform", 0.6, z + 10, "zalo"),
            slot("verification_value", "5678", z + 10.1),
            slot("lookup_outcome", "found", z + 11),
            bot("Hồ sơ 000.00.12.H46-251104-0007 — Đăng ký khai sinh\nTình trạng: Đang xử lý", z + 12.0),  # 2 s
        ],
    }


def conversations_part_two() -> Dict[str, List]:
    """More events of an existing citizen and a new one: the second ingestion reads these."""
    z = at(NEXT_DAY, 9, 30)
    return {
        "zalo-3003": [
            user("hồ sơ chậm quá, tôi muốn phản ánh", "complain", 0.93, z, "zalo"),
            bot("Tôi rất tiếc về sự bất tiện bạn gặp phải.", z + 3.0, "utter_complain_received"),  # 3 s
            user("kiểm tra hồ sơ 000.00.12.H46-251104-0008", "check_dossier_status", 0.94, z + 60, "zalo"),
            slot("lookup_outcome", "system_down", z + 62),
            bot("Xin lỗi, hiện tôi không kết nối được hệ thống một cửa điện tử.", z + 65.0),  # 5 s
        ],
        "tg-4004": [
            user("lệ phí lý lịch tư pháp bao nhiêu", "ask_fee", 0.9, z + 100, "telegram"),
            slot("procedure", "ly_lich_tu_phap", z + 100.1),
            bot("Lệ phí thủ tục «Cấp Phiếu lý lịch tư pháp»: …", z + 101.0),  # 1 s
        ],
    }


class TrackerWriter:
    """Saves conversations with Rasa's SQLTrackerStore, event by event as Rasa would."""

    def __init__(self, url: str) -> None:
        import logging

        from rasa.core.tracker_store import SQLTrackerStore
        from rasa.shared.core.domain import Domain

        logging.getLogger("rasa").setLevel(logging.ERROR)
        domain = Domain.from_dict({"slots": {name: {"type": "any", "mappings": [{"type": "custom"}]}
                                             for name in SLOTS}})
        self.domain = domain
        self.store = SQLTrackerStore(domain=domain, host=url)
        self.trackers: Dict[str, object] = {}

    async def save(self, conversations: Dict[str, Sequence]) -> None:
        from rasa.shared.core.trackers import DialogueStateTracker

        for sender, events in conversations.items():
            tracker = self.trackers.get(sender)
            if tracker is None:
                tracker = DialogueStateTracker(sender, self.domain.slots)
                self.trackers[sender] = tracker
            for event in events:
                tracker.update(event)
            await self.store.save(tracker)

    def dispose(self) -> None:
        self.store.engine.dispose()


LOCKED_CODE = "000.00.14.H46-261123-0015"


def seed_app_tables(engine: Engine) -> None:
    """Funnel, offline reasons, ratings and lookup locks for the same days."""
    from bot.store.models import answer_ratings, funnel_events, lookup_locks, offline_reasons

    def moment(day: dt.date, hour: int) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(hour), ICT).astimezone(dt.timezone.utc)

    funnel = [
        # khai_sinh (field ho_tich): 3 viewed, 2 guided, 1 draft, 1 submitted
        ("tg-1001", "telegram", "khai_sinh", "ho_tich", "phuong-tam-ky", "procedure_viewed"),
        ("tg-1001", "telegram", "khai_sinh", "ho_tich", "phuong-tam-ky", "online_guidance"),
        ("tg-1001", "telegram", "khai_sinh", "ho_tich", "phuong-tam-ky", "draft_created"),
        ("tg-1001", "telegram", "khai_sinh", "ho_tich", "phuong-tam-ky", "submitted"),
        ("rest-2002", "rest", "khai_sinh", "ho_tich", "phuong-tam-ky", "procedure_viewed"),
        ("rest-2002", "rest", "khai_sinh", "ho_tich", "phuong-tam-ky", "online_guidance"),
        ("zalo-3003", "zalo", "khai_sinh", "ho_tich", "xa-nui-thanh", "procedure_viewed"),
        # ly_lich_tu_phap (field tu_phap): 1 viewed, nothing further
        ("tg-4004", "telegram", "ly_lich_tu_phap", "tu_phap", "xa-nui-thanh", "procedure_viewed"),
    ]
    reasons = [
        ("rest-2002", "rest", "khai_sinh", "ho_tich", "phuong-tam-ky", "no_vneid"),
        ("zalo-3003", "zalo", "khai_sinh", "ho_tich", "xa-nui-thanh", "no_vneid"),
        ("tg-4004", "telegram", "ly_lich_tu_phap", "tu_phap", "xa-nui-thanh", "dont_know_how"),
    ]
    ratings = [
        ("tg-1001", "telegram", "ask_documents", "khai_sinh", "useful"),
        ("rest-2002", "rest", "ask_documents", "khai_sinh", "not_useful"),
        ("tg-4004", "telegram", "ask_fee", "ly_lich_tu_phap", "useful"),
    ]
    with engine.begin() as connection:
        connection.execute(insert(funnel_events), [
            {"sender_id": s, "channel": c, "procedure_id": p, "field": f, "locality": l, "stage": st,
             "at": moment(DAY, 10)} for s, c, p, f, l, st in funnel])
        connection.execute(insert(offline_reasons), [
            {"sender_id": s, "channel": c, "procedure_id": p, "field": f, "locality": l, "reason": r,
             "at": moment(DAY, 11)} for s, c, p, f, l, r in reasons])
        connection.execute(insert(lookup_locks), [
            {"scope": "dossier", "key": LOCKED_CODE, "channel": "socketio", "failures": 10,
             "locked_at": moment(DAY, 14), "until": moment(DAY, 14) + dt.timedelta(minutes=15)},
            {"scope": "sender", "key": "rest-2002", "channel": "rest", "failures": 5,
             "locked_at": moment(NEXT_DAY, 8), "until": moment(NEXT_DAY, 8) + dt.timedelta(minutes=15)}])
        connection.execute(insert(answer_ratings), [
            {"sender_id": s, "channel": c, "intent": i, "procedure_id": p, "rating": r,
             "at": moment(NEXT_DAY, 9)} for s, c, i, p, r in ratings])


async def seed_all(tracker_url: str, app_engine: Engine) -> None:
    """Both parts of the conversations and the app tables (for the staff app's tests)."""
    writer = TrackerWriter(tracker_url)
    try:
        await writer.save(conversations_part_one())
        await writer.save(conversations_part_two())
    finally:
        writer.dispose()
    seed_app_tables(app_engine)
