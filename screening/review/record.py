"""One submission's pages: the record, marking it reviewed, erasing it.

What the record shows is worked out by `record_view` from the questionnaire version
the patient answered. Every view of it is written to the audit log before anything
is shown.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response
from wtforms import BooleanField, RadioField, TextAreaField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError

from .. import audit, clinic, db, i18n
from ..models import (
    REVIEW_OUTCOMES,
    AuditEvent,
    Patient,
    Review,
    Submission,
    User,
    Visit,
    utcnow,
)
from ..versions import definition_for
from . import retention
from .accounts import admin_required
from .blueprint import bp
from .queries import Filters, normalise_reference, walk
from .record_view import RecordView, record_view

NOTE_LIMIT = 1000
REASON_LIMIT = 500


def _clean_text(value: str | None) -> str:
    """Trimmed text with browser line endings (CRLF) counted as one character each."""
    return (value or "").replace("\r\n", "\n").strip()


class ReviewForm(FlaskForm):
    """Mark a submission reviewed: what was decided, and a short note."""

    outcome = RadioField(
        "What did you decide?",
        choices=[SelectChoice(value, label) for value, label in REVIEW_OUTCOMES.items()],
        validators=[InputRequired("Choose what you decided")],
        invalid_choice_message="Choose one of the outcomes listed",
    )
    note = TextAreaField(
        "Note",
        filters=[_clean_text],
        validators=[Length(max=NOTE_LIMIT, message=f"Keep the note to {NOTE_LIMIT} characters or fewer")],
    )

    def validate_note(self, field: Any) -> None:
        """'Other' says nothing on its own: it needs a note."""
        if self.outcome.data == "other" and not field.data:
            raise ValidationError("Add a note to say what you did (needed when you choose Other)")


class EraseForm(FlaskForm):
    """Erase a submission's health data: why, and a ticked confirmation."""

    reason = TextAreaField(
        "Why are you erasing this submission?",
        filters=[_clean_text],
        validators=[
            DataRequired("Say why you are erasing this submission"),
            Length(min=10, max=REASON_LIMIT, message=f"Give a reason of 10 to {REASON_LIMIT} characters"),
        ],
    )
    confirm = BooleanField(
        "I understand that the answers, flags and review notes will be deleted for good",
        validators=[DataRequired("Tick the box to confirm the erasure")],
    )


# --- Finding the submission and its questionnaire ------------------------------------


def find_submission(reference: str) -> Submission:
    """The submission with this reference, with its reviews and reviewers; 404 if none."""
    query = (
        select(Submission)
        .where(Submission.reference == (normalise_reference(reference) or reference))
        .options(selectinload(Submission.reviews).selectinload(Review.user))
    )
    return db.session().scalars(query).one_or_none() or abort(404)


@dataclass
class Erasure:
    """When a submission was erased, by whom, and the reason they gave."""

    at: dt.datetime | None
    by: str
    reason: str


def erasure(submission: Submission) -> Erasure:
    """The erasure of a submission, as the audit log recorded it."""
    event = (
        db.session()
        .scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "erase", AuditEvent.reference == submission.reference)
            .order_by(AuditEvent.at.desc())
            .limit(1)
        )
        .first()
    )
    if event is None:
        return Erasure(submission.erased_at, "an unknown user", "")
    user = db.session().get(User, event.user_id) if event.user_id else None
    by = f"{user.name} ({event.actor})" if user is not None else (event.actor or "an unknown user")
    return Erasure(submission.erased_at or event.at, by, str(event.detail.get("reason", "")))


@dataclass(frozen=True)
class VisitFacts:
    """The visit a submission was sent for, as the top of the record shows it."""

    patient_id: int
    patient_name: str
    phone: str
    email: str
    starts_at: dt.datetime  # clinic time
    clinician: str
    treatment: str
    kind_words: str
    cancelled: bool

    @property
    def when_text(self) -> str:
        """'Mon 6 Apr 2026, 09:00 BST'."""
        return f"{self.starts_at:%a} {self.starts_at.day} {self.starts_at:%b %Y, %H:%M %Z}"


def visit_facts(submission: Submission) -> VisitFacts | None:
    """The submission's visit and patient (one query), or None for a walk-in."""
    if submission.visit_id is None:
        return None
    query = select(Visit, Patient).join(Visit.patient).where(Visit.id == submission.visit_id)
    row = db.session().execute(query).first()
    if row is None:
        return None
    visit, patient = row
    return VisitFacts(
        patient_id=patient.id,
        patient_name=f"{patient.given_name} {patient.family_name}",
        phone=patient.phone,
        email=patient.email,
        starts_at=clinic.local(visit.starts_at),
        clinician=visit.clinician,
        treatment=visit.treatment,
        kind_words={"first": "First session", "later": "Later session"}.get(visit.kind, visit.kind),
        cancelled=visit.status == "cancelled",
    )


def next_unreviewed(submission: Submission) -> str | None:
    """The reference of the submission to review next: the top of the unreviewed queue
    (urgent first, newest first) other than this one; None when there is none."""
    # The queue's own walk: one backwards index range per outcome, never a sort of every new row.
    columns = (Submission.id, Submission.outcome_rank, Submission.created_at, Submission.reference)
    rows = walk(db.session(), Filters(state="new"), None, 2, columns)
    return next((row.reference for row in rows if row.id != submission.id), None)


def when(moment: dt.datetime | None) -> str:
    """A time as clinicians read it, in the clinic's zone: 24 Nov 2026, 14:05 GMT."""
    if moment is None:
        return "unknown"
    moment = clinic.local(moment)
    return f"{moment.day} {moment:%b %Y, %H:%M %Z}"


# --- Actions -------------------------------------------------------------------------


def save_review(submission_id: int, outcome: str, note: str) -> bool:
    """Store a review, make it the submission's latest and audit it; False if the record is gone."""
    with db.get_db().transaction() as s:
        submission = s.get(Submission, submission_id, with_for_update=True)
        if submission is None or submission.review_state == "erased":
            return False
        now = utcnow()
        s.add(Review(submission_id=submission.id, user_id=current_user.id, at=now, outcome=outcome, note=note))
        submission.review_state = "reviewed"
        submission.reviewed_by_id = current_user.id
        submission.reviewed_at = now
        submission.review_outcome = outcome
        # The note may hold health data: the audit log gets the outcome only.
        audit.record(s, "review", reference=submission.reference, detail={"outcome": outcome})
    return True


def _record_view(submission: Submission) -> RecordView:
    """The record of a submission from the questionnaire version it answered."""
    name_question = current_app.config.get("PATIENT_NAME_QUESTION")
    defn = definition_for(submission.version)
    theirs = i18n.in_language(defn, submission.language) if defn is not None and submission.language else None
    return record_view(submission, defn, name_question, theirs, current_app.config["DEFAULT_LANGUAGE"])


def show_record(
    submission: Submission,
    review_form: ReviewForm | None = None,
    erase_form: EraseForm | None = None,
    printing: bool = False,
) -> str:
    """Audit this view (in its own transaction, before anything is shown), then render the record."""
    with db.get_db().transaction() as s:
        audit.record(s, "print_submission" if printing else "view_submission", reference=submission.reference)
    erased = submission.review_state == "erased"
    may_erase = current_user.is_admin and not erased
    return render_template(
        "review/record_print.html" if printing else "review/record.html",
        submission=submission,
        erased=erasure(submission) if erased else None,
        view=None if erased else _record_view(submission),
        history=sorted(submission.reviews, key=lambda r: (r.at, r.id), reverse=True),
        review_outcomes=REVIEW_OUTCOMES,
        review_form=review_form or ReviewForm(formdata=None),
        erase_form=(erase_form or EraseForm(formdata=None)) if may_erase else None,
        note_limit=NOTE_LIMIT,
        when=when,
        now=utcnow(),
        visit=visit_facts(submission),
        next_reference=None if printing else next_unreviewed(submission),
        printing=printing,
    )


# --- Pages ---------------------------------------------------------------------------


@bp.get("/submissions/<reference>")
def record(reference: str) -> str:
    """One submission in full; `?print=1` gives the print view."""
    return show_record(find_submission(reference), printing=request.args.get("print") == "1")


@bp.post("/submissions/<reference>/review")
def mark_reviewed(reference: str) -> Any:
    """Record a review (outcome and note), then back to the record."""
    submission = find_submission(reference)
    form = ReviewForm()
    if not form.validate_on_submit():
        return show_record(submission, review_form=form), 400
    if save_review(submission.id, form.outcome.data, form.note.data):
        flash(f"Saved your review of {submission.reference}: {REVIEW_OUTCOMES[form.outcome.data]}.")
    else:
        flash("This submission was erased, so the review was not saved.")
    return _back_to(submission)


@bp.post("/submissions/<reference>/erase")
@admin_required
def erase(reference: str) -> Any:
    """Erase a submission's answers, flags and review notes for good (admins only)."""
    submission = find_submission(reference)
    form = EraseForm()
    if not form.validate_on_submit():
        return show_record(submission, erase_form=form), 400
    if retention.erase(submission.id, form.reason.data):
        flash(f"Submission {submission.reference} was erased.")
    else:
        flash(f"Submission {submission.reference} had already been erased.")
    return _back_to(submission)


def _back_to(submission: Submission) -> Response:
    """Post/redirect/get: back to the record (303, so a reload does not post again)."""
    return redirect(url_for("review.record", reference=submission.reference), code=303)
