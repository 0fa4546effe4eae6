"""The words and dates the app writes itself (yes and no, the body map's areas, a
date's month) in the language of a patient's page; the core (qtypes, memorable_date)
writes English and knows no Flask, and `localise_code` hands it these."""

from __future__ import annotations

import calendar
import datetime as dt

from babel import Locale
from babel.dates import format_date
from flask import current_app, g, has_request_context, request
from flask_babel import get_locale, gettext  # type: ignore[import-untyped]

from .. import memorable_date
from ..questionnaire import qtypes
from . import CLINICIAN_BLUEPRINTS, PAGE_LOCALE, _locale_name

# Machines' requests (the API, health checks) read the clinic's language, like clinicians.
MACHINE_BLUEPRINTS = frozenset({"api", "health"})


def _page_locale() -> Locale | None:
    """The locale of a patient's page in another language than the clinic's, else None
    (worked out once per request: a page asks for every yes, no and body-map area)."""
    if not has_request_context():
        return None
    if PAGE_LOCALE not in g:
        locale = None
        if request.blueprint not in CLINICIAN_BLUEPRINTS | MACHINE_BLUEPRINTS:
            locale = get_locale()
            if locale is not None and str(locale) == _locale_name(current_app.config["DEFAULT_LANGUAGE"]):
                locale = None
        g.setdefault(PAGE_LOCALE, locale)
    return g.get(PAGE_LOCALE)


def code_words(text: str) -> str:
    """A word the app writes itself (yes and no, the body map's areas) in the patient's
    page's language; anywhere else as written."""
    return gettext(text) if _page_locale() is not None else text


def long_date(date: dt.date) -> str:
    """27 March 1980, or 27 marca 1980 on a Polish page."""
    locale = _page_locale()
    if locale is None:
        return f"{date.day} {date:%B %Y}"
    return format_date(date, "d MMMM y", locale=locale)


def month_year(month: int, year: int) -> str:
    """February 2023, or luty 2023 on a Polish page (the month's name on its own)."""
    locale = _page_locale()
    if locale is None:
        return f"{calendar.month_name[month]} {year}"
    return format_date(dt.date(year, month, 1), "LLLL y", locale=locale)


def month_number(name: str) -> int | None:
    """The month a typed name means: an English name anywhere, and on a patient's page in
    another language that language's names too (marzec, marca, mar)."""
    found = memorable_date.MONTHS.get(name.lower().rstrip("."))
    locale = _page_locale()
    if found is not None or locale is None:
        return found
    wanted = name.lower().rstrip(".")
    for context in ("format", "stand-alone"):
        for width in ("wide", "abbreviated"):
            for number, month in locale.months[context][width].items():
                if month.lower().rstrip(".") == wanted:
                    return int(number)
    return None


def localise_code() -> None:
    """Let the core's own words and dates (qtypes, memorable_date) follow the page's language."""
    qtypes.LANGUAGE.update(words=code_words, date=long_date)
    memorable_date.LANGUAGE.update(long=long_date, month_year=month_year, month=month_number)
