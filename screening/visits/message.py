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
