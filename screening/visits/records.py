"""Adding patients and their visits: one validating function for every way in.

The form, the CSV upload, the command and the API all hand `check` a mapping of field
name to text (or JSON values) and get back either a `VisitInput` or every problem, by
field, in words a receptionist can act on. `add` then finds or creates the patient (by
the clinic's reference, else by name and date of birth) and creates the visit, in the
caller's transaction. Nothing here knows Flask.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Patient, Visit

FIRST_QUESTIONNAIRE = "acupuncture-low-back-pain"
LATER_QUESTIONNAIRE = "follow-up"
QUESTIONNAIRE_OF_KIND = {"first": FIRST_QUESTIONNAIRE, "later": LATER_QUESTIONNAIRE}
STATUSES = ("booked", "cancelled")
# The answers a visit's patient is not asked again: the clinic gave them (intake/link.py).
IDENTITY_ANSWERS = ("full_name", "date_of_birth", "phone", "email")

FIELDS = (
    "given_name",
    "family_name",
    "birth_date",
    "starts_at",
    "clinician",
    "treatment",
    "kind",
    "status",
    "clinic_ref",
    "external_id",
    "phone",
    "email",
    "language",
)
"""Every field a visit is added with, in the order a CSV file's header may name them."""

REQUIRED = ("given_name", "family_name", "birth_date", "starts_at")
LIMITS = {
    "given_name": 120,
    "family_name": 120,
    "clinician": 120,
    "treatment": 120,
    "clinic_ref": 64,
    "external_id": 64,
    "phone": 40,
    "email": 254,
    "language": 16,
}
LABELS = {
    "given_name": "Given name",
    "family_name": "Family name",
    "birth_date": "Date of birth",
    "starts_at": "Date and time of the visit",
    "clinician": "Clinician",
    "treatment": "Treatment",
    "kind": "First or later session",
    "status": "Status",
    "clinic_ref": "Clinic reference",
    "external_id": "Booking id",
    "phone": "Phone",
    "email": "Email",
    "language": "Language",
}

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9 ()\-]{6,40}$")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y")
_TIME_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%d/%m/%Y %H:%M")


@dataclass(frozen=True)
class VisitInput:
    """A visit to add, every field checked."""

    given_name: str
    family_name: str
    birth_date: dt.date
    starts_at: dt.datetime  # UTC
    clinician: str = ""
    treatment: str = "acupuncture"
    kind: str | None = None  # None: first if the patient has no earlier visit, else later
    status: str = "booked"
    clinic_ref: str | None = None
    external_id: str | None = None
    phone: str = ""
    email: str = ""
    language: str | None = None


Problems = dict[str, str]


def _text(value: Any) -> str:
    """A field's value as trimmed text ('' for missing)."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise TypeError
    return " ".join(str(value).split())


def parse_birth_date(text: str, today: dt.date) -> dt.date | str:
    """A date of birth from YYYY-MM-DD or DD/MM/YYYY text, or what is wrong with it."""
    for fmt in _DATE_FORMATS:
        try:
            day = dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
        if day > today:
            return "is in the future"
        if day.year < 1900:
            return "is before 1900"
        return day
    return "is not a date: write it as YYYY-MM-DD (for example 1970-03-25)"


def parse_starts_at(text: str, zone: ZoneInfo) -> dt.datetime | str:
    """A visit's start in UTC, from ISO text with an offset, or the clinic's local time without one."""
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        when = None
        for fmt in _TIME_FORMATS:
            try:
                when = dt.datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
    if when is None:
        return "is not a date and time: write it as YYYY-MM-DD HH:MM (for example 2026-03-03 09:30)"
    if when.tzinfo is not None:
        return when.astimezone(dt.UTC)
    local = when.replace(tzinfo=zone)
    # A wall-clock time the clocks skip (spring forward) does not exist that day.
    if local.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None) != when:
        return f"does not exist in {zone.key}: the clocks go forward then"
    return local.astimezone(dt.UTC)


def check(raw: Mapping[str, Any], zone: ZoneInfo, today: dt.date) -> VisitInput | Problems:
    """Every problem with one visit's fields, by field name; or the visit, ready to add."""
    problems: Problems = {}
    values: dict[str, str] = {}
    unknown = sorted(set(raw) - set(FIELDS))
    for name in unknown:
        problems[str(name)[:40]] = "is not a field this takes (expected: " + ", ".join(FIELDS) + ")"
    for name in FIELDS:
        try:
            text = _text(raw.get(name))
        except TypeError:
            problems[name] = "must be text"
            continue
        if _CONTROL.search(text):
            problems[name] = "contains a character that cannot be typed"
        elif name in LIMITS and len(text) > LIMITS[name]:
            problems[name] = f"is too long (at most {LIMITS[name]} characters)"
        elif name in REQUIRED and not text:
            problems[name] = "is missing"
        values[name] = text
    if problems:
        return problems
    birth = parse_birth_date(values["birth_date"], today)
    if isinstance(birth, str):
        problems["birth_date"] = birth
    starts = parse_starts_at(values["starts_at"], zone)
    if isinstance(starts, str):
        problems["starts_at"] = starts
    kind = values["kind"].lower() or None
    if kind is not None and kind not in QUESTIONNAIRE_OF_KIND:
        problems["kind"] = "must be first or later"
    status = values["status"].lower() or "booked"
    if status not in STATUSES:
        problems["status"] = "must be booked or cancelled"
    if values["email"] and not _EMAIL.match(values["email"]):
        problems["email"] = "is not an email address"
    if values["phone"] and not _PHONE.match(values["phone"]):
        problems["phone"] = "is not a phone number (digits, spaces, brackets, dashes, an optional + first)"
    if values["language"] and not _LANGUAGE.match(values["language"]):
        problems["language"] = "is not a language code such as en or cy"
    if problems:
        return problems
    assert isinstance(birth, dt.date) and isinstance(starts, dt.datetime)
    return VisitInput(
        given_name=values["given_name"],
        family_name=values["family_name"],
        birth_date=birth,
        starts_at=starts,
        clinician=values["clinician"],
        treatment=values["treatment"] or "acupuncture",
        kind=kind,
        status=status,
        clinic_ref=values["clinic_ref"] or None,
        external_id=values["external_id"] or None,
        phone=values["phone"],
        email=values["email"],
        language=values["language"].lower() or None,
    )


def search_name(given: str, family: str) -> str:
    """The casefolded name a patient is found by."""
    return f"{given} {family}".casefold()


def find_patient(s: Session, data: VisitInput) -> Patient | None:
    """The patient this visit is for: by the clinic's reference, else by name and date of birth."""
    if data.clinic_ref:
        return s.scalars(select(Patient).where(Patient.clinic_ref == data.clinic_ref)).one_or_none()
    query = select(Patient).where(
        Patient.search_name == search_name(data.given_name, data.family_name),
        Patient.birth_date == data.birth_date,
    )
    # Several matches (a reference-less twin of a referenced record): the oldest.
    return s.scalars(query.order_by(Patient.id).limit(1)).first()


def conflicts(s: Session, data: VisitInput) -> Problems:
    """What the database already holds that this visit contradicts."""
    problems: Problems = {}
    patient = find_patient(s, data)
    if patient is not None and data.clinic_ref and patient.birth_date != data.birth_date:
        problems["clinic_ref"] = "belongs to a patient with another date of birth: check the reference"
    if data.external_id:
        visit = s.scalars(select(Visit).where(Visit.external_id == data.external_id)).one_or_none()
        if visit is not None and (patient is None or visit.patient_id != patient.id):
            problems["external_id"] = "is already used by a visit for another patient"
    return problems


def _kind_for(s: Session, patient: Patient | None, starts_at: dt.datetime) -> str:
    """First, unless the patient has an earlier booked visit."""
    if patient is None or patient.id is None:
        return "first"
    earlier = s.scalar(
        select(func.count(Visit.id)).where(
            Visit.patient_id == patient.id, Visit.starts_at < starts_at, Visit.status == "booked"
        )
    )
    return "later" if earlier else "first"


@dataclass(frozen=True)
class Added:
    """What `add` did: the visit, and whether it is new (False: an earlier push of the same booking)."""

    visit: Visit
    created: bool


class Conflict(Exception):
    """The visit contradicts what is stored: `problems` says how, by field."""

    def __init__(self, problems: Problems) -> None:
        super().__init__("; ".join(f"{k} {v}" for k, v in problems.items()))
        self.problems = problems


def add(s: Session, data: VisitInput) -> Added:
    """Find or create the patient and create the visit, in the caller's transaction.

    A booking id seen before updates that visit (time, clinician, treatment, status)
    instead of adding another: a practice-management system may push a booking twice.
    """
    problems = conflicts(s, data)
    if problems:
        raise Conflict(problems)
    patient = find_patient(s, data)
    if patient is None:
        patient = Patient(
            clinic_ref=data.clinic_ref,
            given_name=data.given_name,
            family_name=data.family_name,
            birth_date=data.birth_date,
            phone=data.phone,
            email=data.email,
            language=data.language,
            search_name=search_name(data.given_name, data.family_name),
        )
        s.add(patient)
        s.flush()
    else:
        # The newest contact details win; the identity (name, date of birth) stays.
        patient.phone = data.phone or patient.phone
        patient.email = data.email or patient.email
        patient.language = data.language or patient.language
    if data.external_id:
        existing = s.scalars(select(Visit).where(Visit.external_id == data.external_id)).one_or_none()
        if existing is not None:
            existing.starts_at = data.starts_at
            existing.clinician = data.clinician or existing.clinician
            existing.treatment = data.treatment or existing.treatment
            existing.status = data.status
            s.flush()
            return Added(existing, created=False)
    kind = data.kind or _kind_for(s, patient, data.starts_at)
    visit = Visit(
        patient=patient,
        starts_at=data.starts_at,
        clinician=data.clinician,
        treatment=data.treatment,
        kind=kind,
        questionnaire_id=QUESTIONNAIRE_OF_KIND[kind],
        status=data.status,
        external_id=data.external_id,
    )
    s.add(visit)
    s.flush()
    return Added(visit, created=True)
