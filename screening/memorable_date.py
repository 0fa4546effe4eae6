"""A date a person knows by heart (a date of birth), typed as three boxes: day, month, year.

The GOV.UK "memorable date" pattern: `parse` turns the three boxes into a date, and its
errors say which part is wrong (`DateProblem.parts`), so the page can mark just those
boxes. The Jinja macro `memorable_date` in templates/_macros.html draws the boxes.
Plain Python: no Flask, no database.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import Any

PARTS = ("day", "month", "year")

# Month names and their usual short forms (Jan, Sept), as well as numbers, are understood.
MONTHS = {name.lower(): n for n, name in enumerate(calendar.month_name) if name} | {
    name.lower(): n for n, name in enumerate(calendar.month_abbr) if name
}
MONTHS["sept"] = 9

ISO = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*$")
DMY = re.compile(r"^\s*(\d{1,2})\s*[/.\- ]\s*(\d{1,2}|[^\W\d_]+)\s*[/.\- ]\s*(\d{4})\s*$")


def N_(text: str) -> str:
    """Marks a message for the pages' catalogs (`make messages`); it is translated where it is shown."""
    return text


# Each message as a template with named placeholders, by key: the page translates the
# template and fills it in (this module stays free of Flask and of any language but English).
MESSAGES = {
    "day": N_("%(label)s must be a real date: the day must be a number from 1 to 31"),
    "month": N_("%(label)s must be a real date: the month must be a number from 1 to 12"),
    "year": N_("%(label)s must be a real date: the year must include 4 numbers, like 1980"),
    "days_in_month": N_("%(label)s must be a real date: %(month_year)s has %(days)s days"),
    "past": N_("%(label)s must be today or in the past"),
    "before": N_("%(label)s must be the same as or before %(date)s"),
    "after": N_("%(label)s must be the same as or after %(date)s"),
    "missing": N_("%(label)s must include a %(boxes)s"),
    "enter_birth_date": N_("Enter your date of birth"),
}


class DateProblem(ValueError):
    """What is wrong with a date, and which of its boxes (`parts`) to mark; `key` and
    `values` say it again as a MESSAGES template, for a page in another language."""

    def __init__(self, message: str, parts: tuple[str, ...] = PARTS, key: str | None = None, **values: object) -> None:
        super().__init__(message)
        self.message = message
        self.parts = parts
        self.key = key
        self.values = values


def problem(key: str, parts: tuple[str, ...] = PARTS, **values: object) -> DateProblem:
    """A DateProblem with the English message of MESSAGES[key]."""
    return DateProblem(MESSAGES[key] % values, parts, key, **values)


def split(value: object) -> dict[str, str]:
    """A stored date (YYYY-MM-DD), or one typed in a single box (27/3/1980), as the three boxes."""
    text = str(value or "")
    match = ISO.match(text)
    if match:
        year, month, day = match.groups()
        return {"day": str(int(day)), "month": str(int(month)), "year": year}
    match = DMY.match(text)
    if match:
        day, month, year = match.groups()
        return {"day": day, "month": month, "year": year}
    if text.strip():
        # Something that is no date at all: left in the day box for the patient to see and fix.
        return {"day": text.strip()[:20], "month": "", "year": ""}
    return {"day": "", "month": "", "year": ""}


def _joined(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _english_long(date: dt.date) -> str:
    return f"{date.day} {date:%B %Y}"


def _english_month_year(month: int, year: int) -> str:
    return f"{calendar.month_name[month]} {year}"


def _english_month(name: str) -> int | None:
    return MONTHS.get(name.lower().rstrip("."))


# How a date reads in a message ("27 March 1980", "February 2023") and which month names
# are understood when typed: English in this module, which knows no Flask; the app sets
# them for the patient's page, so that a Polish page says "27 marca 1980" and understands
# "marzec" (screening/i18n/). English month names are understood on every page.
LANGUAGE: dict[str, Callable[..., Any]] = {
    "long": _english_long,
    "month_year": _english_month_year,
    "month": _english_month,
}


def _long(date: dt.date) -> str:
    return LANGUAGE["long"](date)


def parse(
    boxes: Mapping[str, object],
    label: str = "The date",
    earliest: dt.date | None = None,
    latest: dt.date | None = None,
    past_only: bool = False,
) -> dt.date | None:
    """The date in the three boxes (`day`, `month`, `year`), or None when all are empty.

    `label` starts each message ("Date of birth must include a month"). `earliest` and
    `latest` are the first and last dates allowed; with `past_only`, `latest` is today
    and the message says "must be in the past". Raises DateProblem.
    """
    raw = {part: " ".join(str(boxes.get(part) or "").split()) for part in PARTS}
    if not any(raw.values()):
        return None
    empty = [part for part in PARTS if not raw[part]]
    if empty:
        return _missing(label, empty)
    day_text, month_text, year_text = raw["day"], raw["month"], raw["year"]
    if not day_text.isdigit() or not 1 <= int(day_text) <= 31:
        raise problem("day", ("day",), label=label)
    month = int(month_text) if month_text.isdigit() else LANGUAGE["month"](month_text)
    if month is None or not 1 <= month <= 12:
        raise problem("month", ("month",), label=label)
    if not (year_text.isdigit() and len(year_text) == 4):
        raise problem("year", ("year",), label=label)
    day, year = int(day_text), int(year_text)
    if year < 1:
        raise problem("year", ("year",), label=label)
    days_in_month = calendar.monthrange(year, month)[1]
    if day > days_in_month:
        month_year = LANGUAGE["month_year"](month, year)
        raise problem("days_in_month", ("day",), label=label, month_year=month_year, days=days_in_month)
    date = dt.date(year, month, day)
    if latest is not None and date > latest:
        if past_only:
            raise problem("past", label=label)
        raise problem("before", label=label, date=_long(latest))
    if earliest is not None and date < earliest:
        raise problem("after", ("year",), label=label, date=_long(earliest))
    return date


def _missing(label: str, empty: list[str]) -> dt.date | None:
    raise problem("missing", tuple(empty), label=label, boxes=_joined(empty))
