"""Canonical forms of the values citizens type: dossier codes, phones, ID numbers."""

from __future__ import annotations

import re
from typing import Any, List, Optional, Tuple

# Circular 01/2018/TT-VPCP art. 19: <agency>-<YYMMDD>-<NNNN>, agency like 000.00.12.H46.
# Citizens drop dots, use spaces or lower case: accept all of it, then rebuild.
DOSSIER_CODE_LOOSE = re.compile(
    r"(?<![\w.])(\d{3})[.\s]*(\d{2})[.\s]*(\d{2})[.\s]*([A-Za-z])[.\s]*(\d{2})"
    r"\s*[-–\s]\s*(\d{6})\s*[-–\s]\s*(\d{4})(?![\w])"
)
_DIGITS = re.compile(r"\d")


def dossier_code(text: str) -> Optional[str]:
    """'000 00 12 h46 251104 0007' -> '000.00.12.H46-251104-0007'; None if not a code."""
    match = DOSSIER_CODE_LOOSE.search(text or "")
    if not match:
        return None
    a, b, c, letter, d, day, seq = match.groups()
    return f"{a}.{b}.{c}.{letter.upper()}{d}-{day}-{seq}"


def phone_number(text: str) -> Optional[str]:
    """'+84 905 123 456' -> '0905123456'; Vietnamese numbers have 10 or 11 digits."""
    digits = "".join(_DIGITS.findall(text or ""))
    if digits.startswith("84") and len(digits) in (11, 12):
        digits = "0" + digits[2:]
    if digits.startswith("0") and len(digits) in (10, 11):
        return digits
    return None


def mobile_number(text: str) -> Optional[str]:
    """A Vietnamese mobile number (10 digits, 03/05/07/08/09 since 2018), '+84…' accepted:
    the number that receives the portal's OTP."""
    phone = phone_number(text)
    return phone if phone and len(phone) == 10 and phone[1] in "35789" else None


def id_number(text: str) -> Optional[str]:
    """A 12-digit personal identification number (số định danh cá nhân)."""
    digits = "".join(_DIGITS.findall(text or ""))
    return digits if len(digits) == 12 else None


_CANONICAL = {
    "dossier_code": dossier_code,
    "phone_number": phone_number,
    "id_number": id_number,
}


def canonical_value(entity: str, value: Any) -> Optional[Any]:
    """The canonical value of an entity, None when it cannot be that entity."""
    convert = _CANONICAL.get(entity)
    if convert is None:
        return value
    return convert(str(value))


_NUMBER = re.compile(r"(?<![\w])\+?\d[\d\s.]{2,}\d(?![\w])")


def dossier_code_spans(text: str) -> List[Tuple[int, int]]:
    return [m.span() for m in DOSSIER_CODE_LOOSE.finditer(text or "")]


def number_spans(text: str) -> List[Tuple[int, int]]:
    """Runs of digits that are a phone or ID number (spaces and dots allowed inside)."""
    return [
        m.span()
        for m in _NUMBER.finditer(text or "")
        if phone_number(m.group()) or id_number(m.group()) or len(m.group()) == 4
    ]
