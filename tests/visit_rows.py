"""Patients, visits, links, drafts and checks put straight into the database, for the
clinician's Today, course and record tests."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from sqlalchemy import insert

from screening import db
from screening.models import (
    OUTCOME_RANK,
    Draft,
    Patient,
    QuestionnaireVersion,
    Submission,
    Visit,
    VisitLink,
    new_reference,
    new_token,
)

VERSION = "visits-test-version"
FAR = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
URGENT_FLAG = {
    "id": "saddle_numbness",
    "level": "urgent",
    "reason": "Possible cauda equina syndrome (saddle anaesthesia).",
    "source": "NICE CKS",
    "advice": "emergency",
    "about": ["saddle_numbness"],
}


def add_patient(app, given: str = "Maria", family: str = "Smith", **fields: Any) -> int:
    """A patient; returns the id."""
    with app.app_context(), db.get_db().transaction() as s:
        patient = Patient(
            given_name=given,
            family_name=family,
            birth_date=fields.pop("birth_date", dt.date(1970, 5, 1)),
            phone=fields.pop("phone", "07700 900123"),
            email=fields.pop("email", f"{given.lower()}@example.org"),
            search_name=f"{given} {family}".casefold(),
            **fields,
        )
        s.add(patient)
        s.flush()
        return patient.id


def add_visit(
    app,
    patient_id: int,
    starts_at: dt.datetime,
    *,
    kind: str = "first",
    clinician: str = "Alex Physio",
    status: str = "booked",
    link: str | None = None,  # None, "sent", "opened" or "revoked"
    draft: bool = False,
) -> int:
    """A visit, with a screening link and a draft if asked; returns the id."""
    with app.app_context(), db.get_db().transaction() as s:
        visit = Visit(
            patient_id=patient_id,
            starts_at=starts_at,
            clinician=clinician,
            kind=kind,
            questionnaire_id="acupuncture-low-back-pain" if kind == "first" else "follow-up",
            status=status,
        )
        s.add(visit)
        s.flush()
        if link:
            s.add(
                VisitLink(
                    visit_id=visit.id,
                    purpose="screening",
                    nonce_hash=hashlib.sha256(secrets.token_bytes(16)).hexdigest(),
                    expires_at=FAR,
                    opened_at=starts_at if link == "opened" else None,
                    revoked_at=starts_at if link == "revoked" else None,
                )
            )
        if draft:
            s.add(Draft(visit_id=visit.id, answers={}, expires_at=FAR))
        return visit.id


def add_check(
    app,
    visit_id: int | None,
    outcome: str = "suitable",
    *,
    questionnaire_id: str | None = None,  # None: the visit's own (its screening)
    pain: int | None = None,
    created_at: dt.datetime | None = None,
    state: str = "new",
    name: str = "Maria Smith",
) -> str:
    """A submitted check for a visit; returns its reference."""
    if questionnaire_id is None:
        with app.app_context():
            visit = db.session().get(Visit, visit_id) if visit_id is not None else None
            questionnaire_id = visit.questionnaire_id if visit is not None else "acupuncture-low-back-pain"
    row = {
        "reference": new_reference(),
        "draft_token": new_token(),
        "questionnaire_id": questionnaire_id,
        "version": VERSION,
        "answers": {"full_name": name, **({"pain_now": pain} if pain is not None else {})},
        "derived": {},
        "flags": [URGENT_FLAG] if outcome == "urgent" else [],
        "outcome": outcome,
        "outcome_rank": OUTCOME_RANK[outcome],
        "urgent_advice": "emergency" if outcome == "urgent" else None,
        "created_at": created_at or dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC),
        "patient_name": name,
        "name_key": name.casefold(),
        "review_state": state,
        "visit_id": visit_id,
    }
    with app.app_context(), db.get_db().transaction() as s:
        if s.get(QuestionnaireVersion, VERSION) is None:
            s.add(QuestionnaireVersion(version=VERSION, questionnaire_id=questionnaire_id, definition={}))
            s.flush()
        s.execute(insert(Submission), [row])
    return row["reference"]


class Statements:
    """Counts the SQL statements an app's engine runs inside a `with` block."""

    def __init__(self, app) -> None:
        self.engine = app.extensions["screening.db"].engine
        self.selects: list[str] = []

    def _capture(self, _conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            self.selects.append(statement)

    def __enter__(self) -> Statements:
        from sqlalchemy import event

        event.listen(self.engine, "before_cursor_execute", self._capture)
        return self

    def __exit__(self, *_exc) -> None:
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self._capture)
