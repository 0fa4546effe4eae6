"""A patient's course: every visit, every screening, follow-up and aftercare check with its
outcome, and the pain score across the course as a chart drawn on the server.

Every view is audited before anything is shown, as a record's is. A few queries however
long the course: the patient, the visits, their links/drafts/submissions (visits/state.py)
and the checks sent for them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from flask import abort, render_template
from sqlalchemy import select
from sqlalchemy.orm import load_only

from .. import audit, clinic, clock, db
from ..models import Patient, Submission, Visit
from ..questionnaire.vocabulary import OUTCOME_LABELS
from ..rules import years_between
from ..visits.state import load_rows, screening_state
from . import chart
from .blueprint import bp
from .today import KIND_WORDS, REVIEW_WORDS, row_links

# The pain question of every questionnaire of the course (CLINICAL.md: `pain_now`, 0-10, S27).
PAIN_QUESTION = "pain_now"
AFTERCARE = "aftercare"
CHECK_WORDS = {
    "acupuncture-low-back-pain": "First-visit screening",
    "follow-up": "Follow-up check",
    "aftercare": "Aftercare check",
}


def check_words(questionnaire_id: str) -> str:
    """A questionnaire as clinicians call it."""
    return CHECK_WORDS.get(questionnaire_id, questionnaire_id.replace("-", " ").capitalize())


def pain_score(answers: dict[str, Any] | None) -> int | None:
    """The 0-10 pain score in a set of answers, if it was given."""
    value = (answers or {}).get(PAIN_QUESTION)
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    return value if isinstance(value, int) and 0 <= value <= chart.SCALE_MAX else None


@dataclass(frozen=True)
class Check:
    """One questionnaire sent for a visit."""

    reference: str
    check: str
    outcome: str
    outcome_words: str
    review_words: str
    at: dt.datetime  # clinic time
    pain: int | None


@dataclass
class CourseVisit:
    """One visit of the course with its checks."""

    id: int
    starts_at: dt.datetime  # clinic time
    clinician: str
    treatment: str
    kind_words: str
    cancelled: bool
    state: str
    checks: list[Check] = field(default_factory=list)


@dataclass
class Course:
    """Everything the patient page shows."""

    patient: Patient
    age: int
    visits: list[CourseVisit]
    pain: list[chart.PainStep]
    pain_summary: str
    chart_svg: Any


def load_course(patient_id: int) -> Course | None:
    """The patient's course, or None if there is no such patient."""
    s = db.session()
    patient = s.get(Patient, patient_id)
    if patient is None:
        return None
    visits = list(s.scalars(select(Visit).where(Visit.patient_id == patient_id).order_by(Visit.starts_at, Visit.id)))
    found = load_rows(s, (v.id for v in visits))
    columns = (
        Submission.id,
        Submission.reference,
        Submission.visit_id,
        Submission.questionnaire_id,
        Submission.outcome,
        Submission.review_state,
        Submission.created_at,
        Submission.answers,
    )
    sent = (
        select(Submission)
        .options(load_only(*columns))
        .where(Submission.visit_id.in_([v.id for v in visits]))
        .order_by(Submission.created_at, Submission.id)
    )
    by_visit: dict[int, list[Check]] = {}
    screening: dict[int, Submission] = {}  # the latest screening (not aftercare) of each visit
    points: list[chart.PainPoint] = []
    for sub in s.scalars(sent) if visits else []:
        if sub.questionnaire_id != AFTERCARE and sub.visit_id is not None:
            screening[sub.visit_id] = sub
        erased = sub.review_state == "erased"
        pain = None if erased else pain_score(sub.answers)
        check = Check(
            reference=sub.reference,
            check=check_words(sub.questionnaire_id),
            outcome=sub.outcome,
            outcome_words=OUTCOME_LABELS.get(sub.outcome, sub.outcome),
            review_words=REVIEW_WORDS.get(sub.review_state, sub.review_state),
            at=clinic.local(sub.created_at),
            pain=pain,
        )
        assert sub.visit_id is not None
        by_visit.setdefault(sub.visit_id, []).append(check)
        if pain is not None:
            points.append(chart.PainPoint(check.at, pain, check.check, sub.reference))
    shown = [
        CourseVisit(
            id=v.id,
            starts_at=clinic.local(v.starts_at),
            clinician=v.clinician,
            treatment=v.treatment,
            kind_words=KIND_WORDS.get(v.kind, v.kind),
            cancelled=v.status == "cancelled",
            # The screening's state comes from the screening, not from the aftercare check sent after it.
            state=screening_state(found[v.id].links, found[v.id].draft, screening.get(v.id)),
            checks=by_visit.get(v.id, []),
        )
        for v in visits
    ]
    return Course(
        patient=patient,
        age=years_between(patient.birth_date, clinic.local(clock.now()).date()),
        visits=shown,
        pain=chart.steps(points),
        pain_summary=chart.summary(points),
        chart_svg=chart.svg(points),
    )


@bp.get("/patients/<int:patient_id>")
def patient(patient_id: int) -> str:
    """One patient's course of visits and checks, with the pain chart."""
    if db.session().get(Patient, patient_id) is None:
        abort(404)
    # Audited in its own transaction before anything is shown, as a record is.
    with db.get_db().transaction() as s:
        audit.record(s, "view_patient", detail={"patient_id": patient_id})
    course = load_course(patient_id) or abort(404)
    return render_template(
        "review/patient.html", course=course, clinic_zone=clinic.current().time_zone, links=row_links()
    )
