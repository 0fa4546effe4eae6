"""Today: the clinician's landing page. The clinic's visits for one day, in the clinic's
time zone, by time, each with its screening state and its review state; what needs a
clinician first (urgent, or sent and not yet reviewed) is listed again at the top.

A handful of queries however many visits there are: the visits with their patients in
one, then the links, drafts and submissions of all of them (visits/state.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from .. import audit, clinic, db
from ..models import Patient, Submission, Visit
from ..visits.state import load_rows, screening_state
from .blueprint import bp
from .queue import DATE_RE

# How a screening state reads, and how urgently it asks for a clinician (lower first).
STATE_RANK = {"urgent": 0, "not today": 1, "talk first": 2, "ready": 3}
REVIEW_WORDS = {"new": "Not reviewed", "reviewed": "Reviewed", "erased": "Erased"}
KIND_WORDS = {"first": "First session", "later": "Later session"}


@dataclass(frozen=True)
class TodayRow:
    """One visit as Today shows it."""

    visit_id: int
    patient_id: int
    patient_name: str
    starts_at: dt.datetime  # clinic time
    clinician: str
    treatment: str
    kind: str
    cancelled: bool
    state: str
    reference: str | None  # the screening's submission, once sent
    review_state: str | None

    @property
    def time_text(self) -> str:
        """'09:30'."""
        return f"{self.starts_at:%H:%M}"

    @property
    def kind_words(self) -> str:
        """First or later session."""
        return KIND_WORDS.get(self.kind, self.kind)

    @property
    def review_words(self) -> str:
        """The review state in words ('' when there is nothing to review yet)."""
        return REVIEW_WORDS.get(self.review_state or "", "")

    @property
    def state_class(self) -> str:
        """The state as a CSS class suffix."""
        return self.state.replace(" ", "-")

    @property
    def needs_attention(self) -> bool:
        """Urgent, or a screening that no clinician has reviewed yet."""
        return not self.cancelled and (self.state == "urgent" or self.review_state == "new")


@dataclass(frozen=True)
class Day:
    """One day of the clinic's visits."""

    day: dt.date
    rows: list[TodayRow]

    @property
    def booked(self) -> list[TodayRow]:
        """The visits that are going ahead, by time."""
        return [row for row in self.rows if not row.cancelled]

    @property
    def cancelled(self) -> list[TodayRow]:
        """Cancelled visits, by time."""
        return [row for row in self.rows if row.cancelled]

    @property
    def attention(self) -> list[TodayRow]:
        """What needs a clinician first: urgent first, then by how much it asks, then by time."""
        rows = [row for row in self.rows if row.needs_attention]
        return sorted(rows, key=lambda row: (STATE_RANK.get(row.state, 9), row.starts_at))

    @property
    def title(self) -> str:
        """'Today', 'Tomorrow', 'Yesterday' or the date."""
        offset = (self.day - clinic.today()).days
        return {0: "Today", 1: "Tomorrow", -1: "Yesterday"}.get(offset, "")

    @property
    def date_text(self) -> str:
        """'Sunday 29 March 2026'."""
        return f"{self.day:%A} {self.day.day} {self.day:%B %Y}"


def load_day(day: dt.date) -> Day:
    """The clinic's visits on `day` (its own calendar day, right across a clock change)."""
    start, end = clinic.day_bounds(day)
    s = db.session()
    query = (
        select(Visit)
        .join(Visit.patient)
        .options(contains_eager(Visit.patient))
        .where(Visit.starts_at >= start, Visit.starts_at < end)
        .order_by(Visit.starts_at, Visit.id)
    )
    visits = list(s.scalars(query))
    found = load_rows(s, (v.id for v in visits))
    rows = []
    for visit in visits:
        got = found[visit.id]
        submission: Submission | None = got.submission
        patient: Patient = visit.patient
        rows.append(
            TodayRow(
                visit_id=visit.id,
                patient_id=patient.id,
                patient_name=f"{patient.given_name} {patient.family_name}",
                starts_at=clinic.local(visit.starts_at),
                clinician=visit.clinician,
                treatment=visit.treatment,
                kind=visit.kind,
                cancelled=visit.status == "cancelled",
                state=screening_state(visit, got.links, got.draft, submission),
                reference=submission.reference if submission is not None else None,
                review_state=submission.review_state if submission is not None else None,
            )
        )
    return Day(day, rows)


def _day_asked() -> tuple[dt.date | None, str | None]:
    """The `day` parameter (the clinic's today when absent), or an error saying what is wrong."""
    text = (request.args.get("day") or "").strip()
    if not text:
        return clinic.today(), None
    if not DATE_RE.fullmatch(text):
        return None, "Write the day as YYYY-MM-DD, for example 2026-03-29"
    try:
        return dt.date.fromisoformat(text), None
    except ValueError:
        return None, f"The day {text} is not a real date"


@bp.get("/today")
def today() -> tuple[str, int]:
    """The clinic's visits for a day (today unless `?day=YYYY-MM-DD`)."""
    day, error = _day_asked()
    if day is None:
        return render_template("review/today.html", day=None, error=error), 400
    # It shows names and screening outcomes: audited like the queue.
    with db.get_db().transaction() as s:
        audit.record(s, "view_today", detail={"day": day.isoformat()})
    shown = load_day(day)
    html = render_template(
        "review/today.html",
        day=shown,
        error=None,
        before=day - dt.timedelta(days=1),
        after=day + dt.timedelta(days=1),
        is_today=day == clinic.today(),
        clinic_zone=clinic.current().time_zone,
        links=row_links(),
    )
    return html, 200


def row_links() -> dict[str, str]:
    """The start of a patient's and a record's address, built once rather than once per row
    (a reference and an id are safe in a URL as they are)."""
    return {
        "patient": url_for("review.patient", patient_id=1).removesuffix("1"),
        "record": url_for("review.record", reference="X").removesuffix("X"),
    }
