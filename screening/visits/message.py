"""The words of the message that sends a patient their personal link (spec 3.2, step 2).

The link comes first (questionnaire links lower down in appointment messages are
overlooked), then the clinic and the appointment's date and time in the clinic's time
zone. Nothing else: no date of birth (it is the identity check), no answers, no
treatment and no questionnaire title (the subject of a message may be read by others).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Message:
    """An email's subject and plain-text body (the body also serves as a text message)."""

    subject: str
    body: str


def invitation(
    clinic_name: str, clinic_phone: str, local_start: dt.datetime, url: str, expires: dt.datetime
) -> Message:
    """The invitation for one visit; `local_start` and `expires` on the clinic's clock."""
    day = f"{local_start.day} {local_start:%B}"
    subject = f"Your appointment on {day}: a few questions first"
    lines = [
        "Please answer a few questions before your appointment:",
        url,
        "",
        f"Your appointment at {clinic_name} is on {local_start:%A} {day} at {local_start:%H:%M}.",
        "You will be asked for your date of birth, to check the link is yours. You can stop and carry on later,"
        " on any device, with the same link.",
        f"The link works until {expires.day} {expires:%B} at {expires:%H:%M}.",
    ]
    if clinic_phone:
        lines.append(f"Questions? Call {clinic_name} on {clinic_phone}.")
    return Message(subject, "\n".join(lines) + "\n")


def _when(local_start: dt.datetime) -> str:
    """e.g. Wednesday 2 December at 14:00 (the clinic's clock)."""
    return f"{local_start:%A} {local_start.day} {local_start:%B} at {local_start:%H:%M}"


def reminder(clinic_name: str, clinic_phone: str, local_start: dt.datetime, url: str, last: bool) -> Message:
    """A reminder to answer the questions before a visit (`last`: the morning of the visit).

    Like the invitation, nothing else: no name, no questionnaire title, no answers."""
    day = f"{local_start.day} {local_start:%B}"
    subject = f"Today at {local_start:%H:%M}: a few questions first" if last else f"Reminder: your appointment on {day}"
    lines = [
        f"Please answer a few questions before your visit on {_when(local_start)}:",
        url,
        "",
        f"This is a reminder from {clinic_name}. You will be asked for your date of birth, to check the link is"
        " yours. If you have already answered, thank you: you can ignore this message.",
    ]
    if clinic_phone:
        lines.append(f"Questions? Call {clinic_name} on {clinic_phone}.")
    return Message(subject, "\n".join(lines) + "\n")


def aftercare(
    clinic_name: str, clinic_phone: str, local_start: dt.datetime, url: str, help_now: str, again: bool
) -> Message:
    """The check the day after a visit (`again`: the second check, a day or two later).

    No treatment and no questionnaire title: only that the clinic asks how the patient is.
    `help_now` is the questionnaire's own line on where to get help (its numbers are the
    clinic's), as plain text."""
    day = f"{local_start.day} {local_start:%B}"
    subject = f"How are you now? A quick check after your visit on {day}"
    if not again:
        subject = f"How are you? A quick check after your visit on {day}"
    lines = [
        f"{clinic_name} would like to know how you are after your visit on {_when(local_start)}."
        " Please answer a few quick questions (about 1 minute):",
        url,
        "",
        "You will be asked for your date of birth, to check the link is yours.",
    ]
    if help_now:
        lines.append(help_now)
    if clinic_phone:
        lines.append(f"Questions? Call {clinic_name} on {clinic_phone}.")
    return Message(subject, "\n".join(lines) + "\n")


def text_message(message: Message, url: str, clinic_name: str) -> str:
    """The short text (SMS) of a reminder or check: the subject, the link and the clinic."""
    return f"{clinic_name}: {message.subject}. {url}"
