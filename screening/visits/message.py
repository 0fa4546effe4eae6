"""The words of the messages a patient gets: the invitation with their personal link
(spec 3.2, step 2), the reminders and the aftercare check.

The link comes first (questionnaire links lower down in appointment messages are
overlooked), then the clinic and the appointment's date and time in the clinic's time
zone. Nothing else: no date of birth (it is the identity check), no answers, no
treatment and no questionnaire title (the subject of a message may be read by others).

Each message is written in `language` (a BCP 47 tag; the caller chooses it with
`i18n.message_language`, so that it is one offered to patients): its words from the
pages' catalog, its day and month names from that language's locale data ("wtorek
3 marca"). Without an app (a plain test) the words are the English ones.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from flask import has_app_context
from flask_babel import gettext  # type: ignore[import-untyped]

from .. import i18n

DEFAULT = "en"


@dataclass(frozen=True)
class Message:
    """An email's subject and plain-text body (the body also serves as a text message)."""

    subject: str
    body: str
    language: str = DEFAULT  # the BCP 47 tag it is written in


@contextlib.contextmanager
def _in(language: str) -> Iterator[Locale]:
    """The words of `language` (through the app's catalogs, when there is an app) and its locale."""
    try:
        locale = Locale.parse(language.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        locale = Locale.parse(DEFAULT)
    if has_app_context():
        with i18n.writing_in(language):
            yield locale
    else:
        yield locale


def _day(moment: dt.datetime, locale: Locale) -> str:
    """e.g. 2 December (2 grudnia)."""
    return format_date(moment.date(), "d MMMM", locale=locale)


def _time(moment: dt.datetime) -> str:
    """e.g. 14:00 (the clinic's clock, 24 hours)."""
    return f"{moment:%H:%M}"


def _when(moment: dt.datetime, locale: Locale) -> str:
    """e.g. Wednesday 2 December at 14:00 (the clinic's clock)."""
    day = format_date(moment.date(), "EEEE d MMMM", locale=locale)
    return gettext("%(day)s at %(time)s", day=day, time=_time(moment))


def _call(clinic_name: str, clinic_phone: str) -> list[str]:
    """Where to ask, when the clinic has a phone."""
    if not clinic_phone:
        return []
    return [gettext("Questions? Call %(clinic)s on %(phone)s.", clinic=clinic_name, phone=clinic_phone)]


def invitation(
    clinic_name: str,
    clinic_phone: str,
    local_start: dt.datetime,
    url: str,
    expires: dt.datetime,
    language: str = DEFAULT,
) -> Message:
    """The invitation for one visit; `local_start` and `expires` on the clinic's clock."""
    with _in(language) as locale:
        subject = gettext("Your appointment on %(day)s: a few questions first", day=_day(local_start, locale))
        lines = [
            gettext("Please answer a few questions before your appointment:"),
            url,
            "",
            gettext(
                "Your appointment at %(clinic)s is on %(when)s.", clinic=clinic_name, when=_when(local_start, locale)
            ),
            gettext(
                "You will be asked for your date of birth, to check the link is yours. You can stop and carry on"
                " later, on any device, with the same link."
            ),
            gettext("The link works until %(day)s at %(time)s.", day=_day(expires, locale), time=_time(expires)),
            *_call(clinic_name, clinic_phone),
        ]
    return Message(subject, "\n".join(lines) + "\n", language)


def reminder(
    clinic_name: str, clinic_phone: str, local_start: dt.datetime, url: str, last: bool, language: str = DEFAULT
) -> Message:
    """A reminder to answer the questions before a visit (`last`: the morning of the visit).

    Like the invitation, nothing else: no name, no questionnaire title, no answers."""
    with _in(language) as locale:
        if last:
            subject = gettext("Today at %(time)s: a few questions first", time=_time(local_start))
        else:
            subject = gettext("Reminder: your appointment on %(day)s", day=_day(local_start, locale))
        lines = [
            gettext("Please answer a few questions before your visit on %(when)s:", when=_when(local_start, locale)),
            url,
            "",
            gettext(
                "This is a reminder from %(clinic)s. You will be asked for your date of birth, to check the link is"
                " yours. If you have already answered, thank you: you can ignore this message.",
                clinic=clinic_name,
            ),
            *_call(clinic_name, clinic_phone),
        ]
    return Message(subject, "\n".join(lines) + "\n", language)


def aftercare(
    clinic_name: str,
    clinic_phone: str,
    local_start: dt.datetime,
    url: str,
    help_now: str,
    again: bool,
    language: str = DEFAULT,
) -> Message:
    """The check the day after a visit (`again`: the second check, a day or two later).

    No treatment and no questionnaire title: only that the clinic asks how the patient is.
    `help_now` is the questionnaire's own line on where to get help (its numbers are the
    clinic's), as plain text, in `language` already."""
    with _in(language) as locale:
        day = _day(local_start, locale)
        if again:
            subject = gettext("How are you now? A quick check after your visit on %(day)s", day=day)
        else:
            subject = gettext("How are you? A quick check after your visit on %(day)s", day=day)
        lines = [
            gettext(
                "%(clinic)s would like to know how you are after your visit on %(when)s."
                " Please answer a few quick questions (about 1 minute):",
                clinic=clinic_name,
                when=_when(local_start, locale),
            ),
            url,
            "",
            gettext("You will be asked for your date of birth, to check the link is yours."),
            *([help_now] if help_now else []),
            *_call(clinic_name, clinic_phone),
        ]
    return Message(subject, "\n".join(lines) + "\n", language)


def text_message(message: Message, url: str, clinic_name: str) -> str:
    """The short text (SMS) of a reminder or check: the subject, the link and the clinic."""
    return f"{clinic_name}: {message.subject}. {url}"
