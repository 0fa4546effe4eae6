"""Whether a translation keeps every phone number, `tel:` link and emergency number of
the English it translates: a patient who reads a changed 999 calls the wrong number.
Pure text, used by the questionnaires' catalogs and the pages' alike."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

EMERGENCY_NUMBERS = ("999", "111", "112")
_TEL_RE = re.compile(r"tel:(\+?[0-9][0-9 ()-]*[0-9])", re.IGNORECASE)
_EMERGENCY_RE = re.compile(r"(?<![0-9])(999|111|112)(?![0-9])")
# A phone number written out: 7 or more digits, perhaps grouped by spaces, dashes or brackets.
_PHONE_RE = re.compile(r"(?<![0-9])\+?\(?[0-9][0-9 ()-]{5,}[0-9](?![0-9])")
MIN_PHONE_DIGITS = 7


def _digits(text: str) -> str:
    """Only the digits (and a leading +)."""
    return ("+" if text.strip().startswith("+") else "") + re.sub(r"[^0-9]", "", text)


def numbers(text: str, phones: Iterable[str] = ()) -> tuple[Counter[str], set[str]]:
    """The `tel:` link targets (counted) and the phone and emergency numbers a text gives."""
    tel = Counter(_digits(target) for target in _TEL_RE.findall(text))
    plain = _TEL_RE.sub(" ", text)
    found = set(_EMERGENCY_RE.findall(plain))
    for match in _PHONE_RE.findall(plain):
        digits = _digits(match)
        if len(digits.lstrip("+")) >= MIN_PHONE_DIGITS:
            found.add(digits)
    squashed = _digits(plain)
    for phone in phones:
        digits = _digits(phone)
        if len(digits) >= 3 and digits.lstrip("+") in squashed:
            found.add(digits)
    return tel, found


def number_problem(source: str, translation: str, phones: Iterable[str] = ()) -> str | None:
    """What a translation does to the English's phone numbers, `tel:` links and emergency
    numbers (dropped, changed or added), or None when it keeps every one."""
    phones = tuple(phones)
    tel_en, nums_en = numbers(source, phones)
    tel_tr, nums_tr = numbers(translation, phones)
    said: list[str] = []
    if tel_en != tel_tr:
        lost = sorted((tel_en - tel_tr).elements())
        added = sorted((tel_tr - tel_en).elements())
        if lost:
            said.append("drops the link " + ", ".join(f"tel:{n}" for n in lost))
        if added:
            said.append("adds the link " + ", ".join(f"tel:{n}" for n in added))
    if nums_en - nums_tr:
        said.append("drops the number " + ", ".join(sorted(nums_en - nums_tr)))
    if nums_tr - nums_en:
        said.append("adds the number " + ", ".join(sorted(nums_tr - nums_en)) + ", which the English does not give")
    return "; ".join(said) or None
