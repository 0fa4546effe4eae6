"""Spec 3.3 check 8, the words: the invitation has the link, the clinic's name and the
appointment's date, and none of the date of birth, answers or the clinical title.
(Sending it through the outbox to a real SMTP receiver is the outbox's to wire up.)"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from screening.visits.message import invitation

from .conftest import DEFAULT, checked


def test_the_invitation_says_only_what_it_may():
    london = ZoneInfo("Europe/London")
    start = dt.datetime(2026, 3, 3, 9, 30, tzinfo=london)
    url = "https://clinic.example/i?t=eyJpIjoxLCJuIjoiYWJjIn0.sig"
    message = invitation("Park Road Clinic", "020 7946 0000", start, url, dt.datetime(2026, 3, 5, 0, 0, tzinfo=london))
    assert message.subject == "Your appointment on 3 March: a few questions first"
    assert message.body.splitlines()[1] == url  # the link first
    assert "Park Road Clinic" in message.body and "Tuesday 3 March at 09:30" in message.body
    text = message.subject + message.body
    title = checked(DEFAULT).questionnaire.title
    for never in ("1970", "25/03", "25 March", title, "acupuncture", "back pain", "cancer"):
        assert never.lower() not in text.lower(), never
