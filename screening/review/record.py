"""One submission: why it was flagged, every answer, and its reviews.

The record is rendered from the questionnaire version the patient answered (stored
with the submission), never from today's questions.yaml, so an old record shows the
questions exactly as they were asked. Every view of it is written to the audit log
before anything is shown.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
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

from .. import audit, db
from ..intake.pages import display
from ..models import (
    REVIEW_OUTCOMES,
    AuditEvent,
    Review,
    Submission,
    User,
    utcnow,
)
from ..questionnaire import LEVELS, SOURCE_REF_RE, Definition, Question
from ..versions import definition_for
from . import retention
from .accounts import admin_required
from .blueprint import bp
from .queries import normalise_reference

NOTE_LIMIT = 1000
REASON_LIMIT = 500

# The outcome in words a clinician cannot misread, whatever the colours.
OUTCOME_WORDS = {
    "urgent": "URGENT: the patient was told to get medical help now. Do not needle.",
    "not_suitable": "Not suitable for needling today: contact the patient.",
    "review": "Talk this through with the patient before needling.",
    "suitable": "Suitable for needling.",
}
LEVEL_WORDS = {
    "urgent": "Urgent",
    "contraindication": "Contraindication",
    "precaution": "Precaution",
    "note": "Note",
}


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


# --- What the record shows (plain data for the templates) ------------------------------


@dataclass
class FlagView:
    """One flag: its level, reason, source with citations, and the answers behind it."""

    level: str
    level_words: str
    reason: str
    source: str
    citations: list[tuple[str, str]]
    advice: str | None
    about: list[tuple[str, str]]  # (question id, question label)


@dataclass
class AnswerRow:
    """One question as the patient saw it, and their answer as they would say it."""

    qid: str
    text: str
    answer: str | None  # None: shown but left blank
    flags: list[FlagView] = field(default_factory=list)  # highest level first
    regions: list[str] | None = None  # a body map's marked regions, drawn as a picture


@dataclass
class SectionView:
    """A page of the questionnaire with the questions the patient was shown."""

    title: str
    rows: list[AnswerRow]


@dataclass
class RecordView:
    """Everything the record page shows about one (not erased) submission."""

    outcome: str
    outcome_words: str
    advice: str | None
    details: list[tuple[str, str]]
    flags: list[FlagView]
    flagged: list[AnswerRow]
    sections: list[SectionView]
    derived: list[tuple[str, str]]
    readable: bool  # False: the stored questionnaire could not be rebuilt


def level_rank(level: str) -> int:
    """Sort key: urgent first, unknown levels last."""
    return LEVELS.index(level) if level in LEVELS else len(LEVELS)


def record_view(submission: Submission, defn: Definition | None) -> RecordView:
    """The record of a submission, worked out from the definition it was answered on."""
    flags = sorted((flag_view(f, defn) for f in submission.flags), key=lambda f: level_rank(f.level))
    sections = answer_sections(submission, defn, flags)
    rows = [row for sec in sections for row in sec.rows]
    flagged = sorted((row for row in rows if row.flags), key=lambda row: level_rank(row.flags[0].level))
    advice = None
    if defn is not None and submission.outcome == "urgent":
        advice = defn.outcomes.urgent.advice.get(submission.urgent_advice or "")
    return RecordView(
        outcome=submission.outcome,
        outcome_words=OUTCOME_WORDS.get(submission.outcome, submission.outcome),
        advice=advice,
        details=patient_details(submission, defn),
        flags=flags,
        flagged=flagged,
        sections=sections,
        derived=derived_values(submission, defn),
        readable=defn is not None,
    )


def flag_view(flag: dict[str, Any], defn: Definition | None) -> FlagView:
    """A stored flag with its S-numbers expanded into citations and its questions named."""
    source = flag.get("source", "")
    sources = defn.sources if defn is not None else {}
    citations = [(ref, sources[ref]) for ref in dict.fromkeys(SOURCE_REF_RE.findall(source)) if ref in sources]
    questions = defn.questions if defn is not None else {}
    about = [(qid, questions[qid].label if qid in questions else qid) for qid in flag.get("about", [])]
    advice = flag.get("advice")
    return FlagView(
        level=flag.get("level", ""),
        level_words=LEVEL_WORDS.get(flag.get("level", ""), flag.get("level", "")),
        reason=flag.get("reason", ""),
        source=source,
        citations=citations,
        advice=advice.replace("_", " ").capitalize() if advice else None,
        about=about,
    )


def answer_sections(submission: Submission, defn: Definition | None, flags: list[FlagView]) -> list[SectionView]:
    """Each section with the questions the patient was shown; questions not asked are left out."""
    by_question: dict[str, list[FlagView]] = {}
    for flag in flags:
        for qid, _ in flag.about:
            by_question.setdefault(qid, []).append(flag)
    answers = submission.answers
    if defn is None:
        rows = [AnswerRow(qid, qid, str(value), by_question.get(qid, [])) for qid, value in answers.items()]
        return [SectionView("Answers, by question id", rows)] if rows else []
    values = {**answers, **submission.derived}
    sections = []
    for sec in defn.sections:
        rows = [
            AnswerRow(
                q.id,
                q.text,
                display(q, answers[q.id]) if q.id in answers else None,
                by_question.get(q.id, []),
                answers.get(q.id, []) if q.type == "body_map" else None,
            )
            for q in sec.questions
            if q.id in answers or _was_shown(q, values)
        ]
        if rows:
            sections.append(SectionView(sec.title, rows))
    unknown = [
        AnswerRow(qid, qid, str(value), by_question.get(qid, []))
        for qid, value in answers.items()
        if qid not in defn.questions
    ]
    if unknown:  # should never happen; shown rather than silently dropped
        sections.append(SectionView("Other stored answers", unknown))
    return sections


def _was_shown(q: Question, values: dict[str, Any]) -> bool:
    """Whether the patient was shown this question (judged on the stored answers and derived values)."""
    return q.condition is None or q.condition.test(values)


def _question(defn: Definition, *tests: Any) -> Question | None:
    """The first question passing the first test that any question passes."""
    for test in tests:
        found = next((q for q in defn.questions.values() if test(q)), None)
        if found is not None:
            return found
    return None


def patient_details(submission: Submission, defn: Definition | None) -> list[tuple[str, str]]:
    """Name, date of birth with age, phone and email, as the patient gave them."""
    if defn is None:
        return [("Name", submission.patient_name or "Not given")]
    answers = submission.answers
    name_id = current_app.config.get("PATIENT_NAME_QUESTION")
    born_from = {d.years_since for d in defn.derived.values()}
    questions = {
        "Name": _question(defn, lambda q: q.id == name_id, lambda q: q.autocomplete == "name"),
        "Date of birth": _question(defn, lambda q: q.autocomplete == "bday", lambda q: q.id in born_from),
        "Phone": _question(defn, lambda q: q.type == "phone"),
        "Email": _question(defn, lambda q: q.type == "email"),
    }
    details = (
        [] if submission.complete else [("Sent early", "Yes: an urgent answer, so the patient sent it unfinished")]
    )
    for label, q in questions.items():
        value = display(q, answers[q.id]) if q is not None and q.id in answers else "Not given"
        age = _age_from(submission, defn, q.id) if label == "Date of birth" and q is not None else None
        details.append((label, value + (f" (aged {age} when submitted)" if age is not None else "")))
    return details


def _age_from(submission: Submission, defn: Definition, qid: str) -> Any:
    """The derived value (an age) worked out from this date question, if stored."""
    names = [name for name, d in defn.derived.items() if d.years_since == qid and name in submission.derived]
    return submission.derived[names[0]] if names else None


def derived_values(submission: Submission, defn: Definition | None) -> list[tuple[str, str]]:
    """Values worked out from the answers (an age), each with the question it came from."""
    derived = defn.derived if defn is not None else {}
    questions = defn.questions if defn is not None else {}
    out = []
    for name, value in submission.derived.items():
        label = name.replace("_", " ").capitalize()
        source = derived[name].years_since if name in derived else None
        if source in questions:
            label += f" (from “{questions[source].label}”)"
        out.append((label, str(value)))
    return out


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


def when(moment: dt.datetime | None) -> str:
    """A time as clinicians read it: 24 Nov 2026, 14:05 UTC."""
    if moment is None:
        return "unknown"
    moment = moment.astimezone(dt.UTC)
    return f"{moment.day} {moment:%b %Y, %H:%M} UTC"


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
        view=None if erased else record_view(submission, definition_for(submission.version)),
        history=sorted(submission.reviews, key=lambda r: (r.at, r.id), reverse=True),
        review_outcomes=REVIEW_OUTCOMES,
        review_form=review_form or ReviewForm(formdata=None),
        erase_form=(erase_form or EraseForm(formdata=None)) if may_erase else None,
        note_limit=NOTE_LIMIT,
        when=when,
        now=utcnow(),
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
