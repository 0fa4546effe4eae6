"""Helpers for the visits tests: a visit with a link, and the patient answering through it."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from screening.visits import app as visits_app

from .conftest import DEFAULT, Patient, checked
from .http_patient import all_clear_answers

BIRTH = {"dob-day": "25", "dob-month": "3", "dob-year": "1970"}


def born(day: str, month: str, year: str) -> dict[str, str]:
    """The three date-of-birth boxes as posted."""
    return {"dob-day": day, "dob-month": month, "dob-year": year}


def new_visit(app, at: str = "2026-03-03 09:30", **fields) -> visits_app.NewVisit:
    """A visit for Maria Smith (born 25 March 1970) with a new link."""
    raw = {"given_name": "Maria", "family_name": "Smith", "birth_date": "1970-03-25", "starts_at": at}
    raw |= {"phone": "07700 900123"} | fields
    with app.test_request_context():
        result = visits_app.add_visit(raw, how="test", actor="test")
    assert isinstance(result, visits_app.NewVisit), result
    return result


WRONG_BIRTH = {"dob-day": "1", "dob-month": "1", "dob-year": "1971"}


def locked_link(app) -> tuple[visits_app.NewVisit, Patient, str]:
    """A new visit whose patient opened the link and typed five wrong dates of birth (the
    link is now locked): the visit, the patient's browser and its CSRF token."""
    made = new_visit(app)
    patient = Patient(app.test_client())
    patient.get(path_of(made.url))
    token = patient.token("/i/check")
    for _ in range(5):
        patient.post("/i/check", WRONG_BIRTH, token=token)
    return made, patient, token


def path_of(url: str) -> str:
    """The path and query of a link (the test client serves any host)."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def open_link(patient: Patient, url: str, birth: dict | None = None):
    """Open a link and confirm the date of birth; the response to the date."""
    opened = patient.get(path_of(url))
    assert opened.status_code == 303, opened.status_code
    assert opened.location.endswith("/i/check")
    return patient.post("/i/check", birth or BIRTH)


def pages_to_answer() -> list[tuple[str, dict]]:
    """Each page's all-clear answers, without those the visit already knows."""
    pages = all_clear_answers(checked(DEFAULT))
    identity = {"full_name", "date_of_birth", "phone"}
    return [(sid, {k: v for k, v in answers.items() if k not in identity}) for sid, answers in pages.items()]


def frozen_at(text: str) -> dt.datetime:
    """An aware UTC time from ISO text."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)
