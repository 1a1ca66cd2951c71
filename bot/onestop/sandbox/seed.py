"""Demo dossiers, one or more in every status, inserted when the database is empty.

Codes are fixed so documentation and tests can name them (docs/sandbox.md); times are
relative to the day of seeding so the demo stays plausible (an overdue dossier stays
overdue, a dossier received "two days ago" was). The code's date part matches the
reception date only when seeded on 2026-11-26. People, phones and ID numbers are invented.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import List, Optional, Tuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .models import Dossier, StatusChange
from .reference import LOCAL_TZ, PORTAL_AGENCY_NAME, SUBMITTED_ONLINE_NOTE, from_wire, procedure_name
from .store import continue_url

# (days before today, local "HH:MM", status, note)
Step = Tuple[int, str, int, Optional[str]]


@dataclass(frozen=True)
class Demo:
    code: str
    procedure_id: str
    agency_name: str
    applicant: Tuple[str, str, str]  # name, phone, 12-digit ID number
    locality: str
    channel: str
    history: List[Step]
    due_in_days: Optional[int] = None  # negative: the due date has passed
    missing_documents: List[str] = field(default_factory=list)


DEMOS: List[Demo] = [
    Demo("000.00.00.H46-261124-0003", "khai_sinh", PORTAL_AGENCY_NAME,
         ("Trần Thị Mỹ Linh", "0905318442", "049190004512"), "phường Hội An Tây", "telegram",
         [(2, "10:05", 0, None)]),
    Demo("000.00.21.H46-261125-0012", "ket_hon", "Ủy ban nhân dân xã Núi Thành",
         ("Lê Văn Hùng", "0935204117", "049092001836"), "xã Núi Thành", "portal",
         [(1, "20:40", 1, SUBMITTED_ONLINE_NOTE)]),
    Demo("000.31.05.H46-261124-0021", "tam_tru", "Công an phường Tam Kỳ",
         ("Phạm Minh Tuấn", "0772415903", "049200007741"), "phường Tam Kỳ", "portal",
         [(2, "08:40", 1, SUBMITTED_ONLINE_NOTE), (2, "09:12", 2, None)],
         due_in_days=2),
    Demo("000.31.11.H46-261120-0008", "thuong_tru", "Công an xã Thăng Bình",
         ("Nguyễn Thị Hoa", "0968772150", "049185003367"), "xã Thăng Bình", "portal",
         [(6, "14:20", 1, SUBMITTED_ONLINE_NOTE),
          (5, "09:30", 3, "Giấy tờ chứng minh chỗ ở hợp pháp không đúng quy định; đề nghị nộp lại hồ sơ.")]),
    Demo("000.00.14.H46-261123-0015", "ho_kinh_doanh", "Ủy ban nhân dân phường Điện Bàn",
         ("Võ Văn Phúc", "0913560284", "049088002519"), "phường Điện Bàn", "counter",
         [(3, "09:45", 1, None), (3, "10:00", 2, None), (3, "14:30", 4, None)],
         due_in_days=1),
    # Overdue: still being handled after its due date.
    Demo("000.00.17.H46-261009-0004", "cap_so_do", "Ủy ban nhân dân xã Duy Xuyên",
         ("Huỳnh Văn Tâm", "0905447861", "049075001288"), "xã Duy Xuyên", "counter",
         [(48, "08:20", 1, None), (48, "08:35", 2, None),
          (47, "09:00", 4, "Chuyển Văn phòng đăng ký đất đai thẩm định hồ sơ.")],
         due_in_days=-6),
    Demo("000.00.12.H46-261117-0031", "giay_phep_xay_dung", "Ủy ban nhân dân phường Hội An",
         ("Đặng Thị Thu Hà", "0326918075", "049194006630"), "phường Hội An", "portal",
         [(9, "15:10", 1, SUBMITTED_ONLINE_NOTE), (9, "16:00", 2, None), (8, "08:30", 4, None),
          (2, "10:45", 5, "Hồ sơ còn thiếu giấy tờ; đề nghị bổ sung trong 5 ngày làm việc.")],
         due_in_days=3,
         missing_documents=[
             "Bộ bản vẽ thiết kế (mặt bằng, mặt đứng, mặt cắt chính, mặt bằng móng)",
             "Văn bản cam kết bảo đảm an toàn đối với công trình liền kề",
         ]),
    Demo("000.23.40.H46-261028-0019", "bien_dong_dat_dai",
         "Chi nhánh Văn phòng đăng ký đất đai khu vực Tam Kỳ",
         ("Trương Công Danh", "0988135462", "049080004173"), "phường Hương Trà", "counter",
         [(29, "09:20", 1, None), (29, "09:40", 2, None), (28, "08:00", 4, None),
          (3, "16:15", 6, "Đề nghị nộp lệ phí trước bạ và thuế thu nhập cá nhân theo thông báo của cơ quan thuế.")],
         due_in_days=1),
    Demo("000.31.00.H46-261116-0042", "ly_lich_tu_phap", "Công an thành phố Đà Nẵng",
         ("Ngô Thị Kim Oanh", "0702663918", "049198002045"), "phường Hội An Đông", "portal",
         [(10, "07:55", 1, SUBMITTED_ONLINE_NOTE), (10, "08:30", 2, None), (9, "09:00", 4, None),
          (4, "11:20", 7, "Công dân đề nghị rút hồ sơ để khai lại thông tin.")],
         due_in_days=0),
    Demo("000.00.19.H46-260915-0006", "cap_so_do", "Ủy ban nhân dân xã Đại Lộc",
         ("Lê Thị Bích", "0915882390", "049170005518"), "xã Đại Lộc", "counter",
         [(72, "08:10", 1, None), (72, "08:25", 2, None), (71, "09:00", 4, None),
          (30, "14:00", 8, "Phát sinh tranh chấp đất đai; dừng xử lý để hòa giải tại cơ sở.")],
         due_in_days=-20),
    Demo("000.31.08.H46-261112-0027", "can_cuoc", "Công an phường An Thắng",
         ("Phan Văn Khánh", "0394227506", "049099003912"), "phường An Thắng", "counter",
         [(14, "09:05", 1, None), (14, "09:10", 2, None), (14, "09:30", 4, None),
          (8, "15:00", 9, "Thẻ căn cước đã có; mời công dân đến nhận hoặc chờ nhận qua bưu chính.")],
         due_in_days=-7),
    Demo("000.00.13.H46-261125-0052", "chung_thuc_ban_sao", "Ủy ban nhân dân phường Hội An Tây",
         ("Bùi Thị Ngọc Ánh", "0847301659", "049201008827"), "phường Hội An Tây", "counter",
         [(1, "14:00", 1, None), (1, "14:02", 2, None), (1, "14:05", 4, None),
          (1, "14:25", 9, None), (1, "14:30", 10, None)],
         due_in_days=-1),
]


def _local(today: date, days_ago: int, clock: str = "08:00") -> datetime:
    hours, minutes = (int(part) for part in clock.split(":"))
    return from_wire(datetime.combine(today - timedelta(days=days_ago), time(hours, minutes), LOCAL_TZ))


def _dossier(demo: Demo, today: date, portal_url: str) -> Dossier:
    name, phone, id_number = demo.applicant
    status = demo.history[-1][2]
    # Reception is the step to status 2; dossiers never received have no reception time.
    received_at = next((_local(today, days, clock) for days, clock, step, _ in demo.history if step == 2), None)
    return Dossier(
        code=demo.code,
        procedure_id=demo.procedure_id,
        procedure_name=procedure_name(demo.procedure_id),
        status=status,
        applicant_name=name,
        applicant_phone=phone,
        applicant_id_number=id_number,
        applicant_locality=demo.locality,
        agency_code=demo.code.split("-")[0],
        agency_name=demo.agency_name,
        received_at=received_at,
        due_date=today + timedelta(days=demo.due_in_days) if demo.due_in_days is not None else None,
        missing_documents=list(demo.missing_documents),
        continue_url=continue_url(portal_url, demo.code) if status == 0 else None,
        channel=demo.channel,
        created_at=_local(today, demo.history[0][0], demo.history[0][1]),
        history=[StatusChange(status=step, at=_local(today, days, clock), note=note)
                 for days, clock, step, note in demo.history],
    )


def seed_if_empty(session: Session, today: date, portal_url: str) -> int:
    """Inserts the demo dossiers into an empty database; returns how many were inserted."""
    if session.execute(select(func.count(Dossier.id))).scalar_one():
        return 0
    session.add_all(_dossier(demo, today, portal_url) for demo in DEMOS)
    session.flush()
    return len(DEMOS)
