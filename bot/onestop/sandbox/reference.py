"""Reference data of the one-stop system: status labels, procedure names, the portal agency."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Dict, Optional

# DOMAIN.md §3; 0 is our extension for drafts started by the assistant.
STATUS_LABELS = {
    0: "Hồ sơ nháp",
    1: "Mới đăng ký",
    2: "Được tiếp nhận",
    3: "Không được tiếp nhận",
    4: "Đang xử lý",
    5: "Yêu cầu bổ sung giấy tờ",
    6: "Yêu cầu thực hiện nghĩa vụ tài chính",
    7: "Công dân yêu cầu rút hồ sơ",
    8: "Dừng xử lý",
    9: "Đã xử lý xong",
    10: "Đã trả kết quả",
}
DRAFT, REGISTERED, RECEIVED, MISSING_DOCUMENTS = 0, 1, 2, 5
SUBMITTED_ONLINE_NOTE = "Nộp trực tuyến qua Cổng dịch vụ công"

PROCEDURE_NAMES = {
    "khai_sinh": "Đăng ký khai sinh",
    "ket_hon": "Đăng ký kết hôn",
    "tam_tru": "Đăng ký tạm trú",
    "thuong_tru": "Đăng ký thường trú",
    "can_cuoc": "Cấp, cấp đổi, cấp lại thẻ căn cước",
    "cap_so_do": "Cấp Giấy chứng nhận quyền sử dụng đất lần đầu",
    "bien_dong_dat_dai": "Đăng ký biến động quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất",
    "giay_phep_xay_dung": "Cấp giấy phép xây dựng nhà ở riêng lẻ",
    "ly_lich_tu_phap": "Cấp Phiếu lý lịch tư pháp",
    "ho_kinh_doanh": "Đăng ký thành lập hộ kinh doanh",
    "chung_thuc_ban_sao": "Chứng thực bản sao từ bản chính",
}

# Drafts belong to the portal until a desk receives them. The H-code is opaque (DOMAIN.md §3).
PORTAL_AGENCY_CODE = "000.00.00.H46"
PORTAL_AGENCY_NAME = "Cổng dịch vụ công thành phố Đà Nẵng"
DEFAULT_PORTAL_URL = "https://dichvucong.danang.gov.vn"

# Vietnam has kept UTC+7 without daylight saving since 1975; a fixed offset is exact.
LOCAL_TZ = timezone(timedelta(hours=7), "ICT")


def status_json(code: int) -> Dict[str, object]:
    return {"code": code, "label": STATUS_LABELS[code]}


def procedure_name(procedure_id: str) -> str:
    return PROCEDURE_NAMES.get(procedure_id, procedure_id)


def utcnow() -> datetime:
    """Naive UTC: the form stored in the database, portable across SQLite and PostgreSQL."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def local_today() -> date:
    return datetime.now(LOCAL_TZ).date()


def to_wire(moment: Optional[datetime]) -> Optional[str]:
    """A stored naive-UTC time as the ISO 8601 local time the one-stop system shows."""
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc).astimezone(LOCAL_TZ).isoformat(timespec="seconds")


def from_wire(moment: datetime) -> datetime:
    """An aware time from a request as naive UTC; naive input is taken as local time."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LOCAL_TZ)
    return moment.astimezone(timezone.utc).replace(tzinfo=None)
