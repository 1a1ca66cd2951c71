"""Personal data out of the text staff read: phone numbers, ID numbers, e-mail addresses,
verification values and names become «***». The same rules keep them out of the logs
(bot/logs.py).

Two kinds of masking: by shape (phone numbers, 12-digit ID numbers, "tên tôi là …") in any
message, and by context: the answer to a form question (the applicant's name, phone or ID,
the dossier verification value) loses the value, whatever it looks like, and keeps the
sentence around it (a complaint typed instead of the value stays readable).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Mapping, Optional

MASK = "***"

# Form questions whose answer is personal, by response name and by the start of the text
# (the text matters when the metadata lacks the response name).
PROMPTS = {
    "utter_ask_applicant_name": "name",
    "utter_invalid_applicant_name": "name",
    "utter_ask_applicant_phone": "phone",
    "utter_invalid_phone": "phone",
    "utter_ask_applicant_id": "id",
    "utter_invalid_id_number": "id",
    "utter_ask_verification_value": "verification",
    "utter_invalid_verification": "verification",
}
PROMPT_OPENINGS = (
    ("họ và tên người nộp hồ sơ", "name"),
    ("họ tên chỉ gồm chữ cái", "name"),
    ("số điện thoại di động của người nộp", "phone"),
    ("số điện thoại chưa đúng", "phone"),
    ("số định danh cá nhân (12 số", "id"),
    ("số định danh cá nhân phải có", "id"),
    ("để bảo vệ thông tin của bạn, vui lòng nhập 4 số cuối", "verification"),
    ("thông tin xác minh phải là", "verification"),
)

# 12-digit ID numbers (căn cước), also typed in groups: 049 123 456 789.
_ID_NUMBER = re.compile(r"(?<![\d\w])\d{3}(?:[ .\-]?\d{3}){3}(?![\d\w])")
# Vietnamese phone numbers: 0 or +84/84, then 8 to 10 digits, spaces, dots or dashes allowed.
_PHONE = re.compile(r"(?<![\d\w+])(?:\+84|84|0)(?:[ .\-]?\d){8,10}(?![\d\w])")
# E-mail addresses (the local part as people type it, a domain with at least one dot).
_EMAIL = re.compile(r"(?<![\w.+\-])[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
# "4 số cuối (là) 1234": a dossier verification value said in a sentence.
_LAST_DIGITS = re.compile(r"(?i)((?:4|bốn)\s+số\s+cuối(?:\s+\w+){0,4}?\s*(?:là|:)?\s*)\d{4}(?!\d)")
# A line "Họ tên: …" in the bot's confirmation of the application form.
_NAME_LINE = re.compile(r"(?im)(họ\s+(?:và\s+)?tên\s*:\s*)[^\n•]+")

_PEOPLE = r"(?:tôi|em|mình|tui|tớ|anh|chị|con|cháu|bác|cô|chú|ông|bà)"
# Phrases that introduce a name: "tên tôi là", "tôi tên (là)", "họ tên (của tôi) là/:".
_NAME_INTRO = re.compile(
    rf"(?i)\b(?:tên\s+(?:của\s+)?{_PEOPLE}\s+là|{_PEOPLE}\s+tên\s+là|{_PEOPLE}\s+tên"
    rf"|họ\s+(?:và\s+)?tên(?:\s+(?:của\s+)?{_PEOPLE})?\s*(?:là|:))\s*"
)
_WORD = re.compile(r"[^\W\d_]+")
# Words that end a lower-case name ("tên tôi là an ở tam kỳ").
_AFTER_NAME = {
    "ở", "o", "sinh", "số", "sdt", "sđt", "muốn", "cần", "và", "đang", "hiện", "năm", "quê",
    "cmnd", "cccd", "làm", "xin", "hỏi", "thường", "tạm", "nhà", "tại", "cho", "nhờ", "có",
    "ạ", "a", "nhé", "nha", "đây", "thì", "là", "muon", "can", "ko", "không", "đến", "từ",
    "với", "vừa", "mới", "đã", "sẽ", "bị", "được", "lúc", "hôm", "ngày", "tuổi", "mã", "hồ",
}
_MAX_NAME_WORDS = 5


def prompt_of(text: Optional[str], utter_action: Optional[str] = None) -> Optional[str]:
    """Which personal question a bot message asks (name/phone/id/verification), if any."""
    if utter_action and utter_action in PROMPTS:
        return PROMPTS[utter_action]
    opening = unicodedata.normalize("NFC", (text or "").strip()).lower()
    for start, kind in PROMPT_OPENINGS:
        if opening.startswith(start):
            return kind
    return None


def _mask_name_after(text: str, start: int) -> tuple[str, int]:
    """Mask the name that starts at `start`; returns the new text and where to go on."""
    position = start
    words = 0
    capitalised = None
    end = start
    while words < _MAX_NAME_WORDS:
        match = _WORD.match(text, position)
        if not match:
            break
        word = match.group(0)
        if capitalised is None:
            capitalised = word[0].isupper()
        elif capitalised and not word[0].isupper():
            break
        if not capitalised and word.lower() in _AFTER_NAME:
            break
        words += 1
        end = match.end()
        gap = re.match(r"[ \t]+", text[end:])
        if not gap:
            break
        position = end + gap.end()
    if words == 0:
        return text, start
    return text[:start] + MASK + text[end:], start + len(MASK)


def _mask_names(text: str) -> str:
    position = 0
    while True:
        match = _NAME_INTRO.search(text, position)
        if not match:
            return text
        text, position = _mask_name_after(text, match.end())
        position = max(position, match.end())


def mask_text(text: Optional[str]) -> str:
    """Mask personal data recognisable by its shape, in any message (citizen's or bot's)."""
    if not text:
        return ""
    text = unicodedata.normalize("NFC", text)
    text = _EMAIL.sub(MASK, text)
    text = _ID_NUMBER.sub(MASK, text)
    text = _PHONE.sub(MASK, text)
    text = _LAST_DIGITS.sub(lambda m: m.group(1) + MASK, text)
    text = _NAME_LINE.sub(lambda m: m.group(1) + MASK, text)
    return _mask_names(text)


# Digits of a value typed in a sentence: "0905 123 456", "049-123-456-789", "12/03/1980".
_DIGITS = re.compile(r"\d(?:[ .\-/]?\d)*")
# A name typed in a longer sentence: two to five capitalised words.
_CAPITALISED = re.compile(r"(?<!\w)[^\W\d_][^\W\d_]*(?:[ \t]+[^\W\d_]+){1,4}")
_NAME_WORDS = 5


def _mask_capitalised(text: str) -> str:
    def one(match: "re.Match[str]") -> str:
        words = match.group(0).split()
        capitals = [w for w in words if w[0].isupper()]
        return MASK if len(capitals) == len(words) and len(words) >= 2 else match.group(0)
    return _CAPITALISED.sub(one, text)


def mask_message(text: Optional[str], prompt: Optional[str] = None) -> str:
    """Mask a citizen's message. The answer to a personal form question loses the value it
    carries, not the sentence around it ("tôi không nhớ 4 số cuối, hồ sơ trễ hẹn rồi" stays
    readable): its digits for a phone, an ID or a verification value; a short answer to the
    name question is a name, masked whole, and a longer one loses its capitalised words."""
    stripped = (text or "").strip()
    if prompt not in ("name", "phone", "id", "verification") or not stripped or stripped.startswith("/"):
        return mask_text(text)  # a button payload is no personal data
    if prompt == "name":
        if len(stripped.split()) <= _NAME_WORDS:
            return MASK
        return _mask_capitalised(mask_text(text))
    masked = _DIGITS.sub(lambda m: MASK if sum(c.isdigit() for c in m.group(0)) >= 3 else m.group(0),
                         mask_text(text))
    if not re.sub(r"[\W_]|\*\*\*", "", masked) or len(stripped.split()) <= 2:
        return MASK  # nothing but the value ("0905 123 456", "1234 ạ")
    return masked


PERSONAL_SLOTS = ("applicant_name", "applicant_phone", "applicant_id", "verification_value")
PERSONAL_ENTITIES = ("phone_number", "id_number")


def mask_event(data: Mapping[str, Any], prompt: Optional[str] = None) -> dict:
    """A Rasa event (as stored by the SQL tracker store) with its personal data masked."""
    event = dict(data)
    kind = event.get("event")
    if kind == "user":
        event["text"] = mask_message(event.get("text"), prompt)
        parse = dict(event.get("parse_data") or {})
        if "text" in parse:
            parse["text"] = event["text"]
        parse["entities"] = [
            {**entity, "value": MASK} if entity.get("entity") in PERSONAL_ENTITIES else entity
            for entity in parse.get("entities") or [] if isinstance(entity, dict)
        ]
        event["parse_data"] = parse
        event["metadata"] = {}  # channel metadata may name the citizen (Telegram, Zalo)
    elif kind == "bot":
        event["text"] = mask_text(event.get("text"))
        metadata = event.get("metadata") or {}
        event["metadata"] = {k: v for k, v in metadata.items() if k == "utter_action"}
    elif kind == "slot" and event.get("name") in PERSONAL_SLOTS and event.get("value") is not None:
        event["value"] = MASK
    return event
