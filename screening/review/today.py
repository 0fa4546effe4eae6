"""Today: the clinician's landing page. The clinic's visits for one day, in the clinic's
time zone, by time, each with its screening state and its review state; what needs a
clinician first (urgent, or sent and not yet reviewed) is listed again at the top.

A handful of queries however many visits there are: the visits with their patients in
one, then the links, drafts and submissions of the day's visits (visits/state.py), each
selecting the day's visits by its bounds rather than by a list of their ids.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

from flask import render_template, request, url_for
from sqlalchemy import select

from .. import audit, clinic, db
from ..models import Patient, Visit
from ..visits.state import load_rows, screening_state
from .blueprint import bp
from .queue import DATE_RE

# How a screening state reads, and how urgently it asks for a clinician (lower first).
STATE_RANK = {"urgent": 0, "not today": 1, "talk first": 2, "ready": 3}
REVIEW_WORDS = {"new": "Not reviewed", "reviewed": "Reviewed", "erased": "Erased"}
KIND_WORDS = {"first": "First session", "later": "Later session"}


class TodayRow(NamedTuple):
    """One visit as Today shows it, every word worked out once (Today lists hundreds; a
    tuple is built faster than a frozen dataclass)."""

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
    time_text: str  # '09:30'
    time_iso: str  # '2026-03-29T09:30:00+01:00', for <time datetime>
    kind_words: str  # first or later session
    review_words: str  # the review state in words ('' when there is nothing to review yet)
    state_words: str  # 'Talk first'
    state_class: str  # the state as a CSS class suffix
    treatment_words: str  # 'Acupuncture'
    needs_attention: bool  # urgent, or a screening that no clinician has reviewed yet


def today_row(
    visit_id: int,
    patient_id: int,
    patient_name: str,
    starts_at: dt.datetime,
    clinician: str,
    treatment: str,
    kind: str,
    cancelled: bool,
    state: str,
    reference: str | None,
    review_state: str | None,
) -> TodayRow:
    """A row, with its words."""
    return TodayRow(
        visit_id,
        patient_id,
        patient_name,
        starts_at,
        clinician,
        treatment,
        kind,
        cancelled,
        state,
        reference,
        review_state,
        time_text=f"{starts_at:%H:%M}",
        time_iso=starts_at.isoformat(),
        kind_words=KIND_WORDS.get(kind, kind),
        review_words=REVIEW_WORDS.get(review_state or "", ""),
        state_words=state.capitalize(),
        state_class=state.replace(" ", "-"),
        treatment_words=treatment.capitalize(),
        needs_attention=not cancelled and (state == "urgent" or review_state == "new"),
    )


@dataclass(frozen=True)
class Day:
    """One day of the clinic's visits."""

    day: dt.date
    rows: list[TodayRow]

    @cached_property
    def booked(self) -> list[TodayRow]:
        """The visits that are going ahead, by time."""
        return [row for row in self.rows if not row.cancelled]

    @cached_property
    def cancelled(self) -> list[TodayRow]:
        """Cancelled visits, by time."""
        return [row for row in self.rows if row.cancelled]

    @cached_property
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
    on_the_day = (Visit.starts_at >= start, Visit.starts_at < end)
    query = (
        select(
            Visit.id,
            Visit.patient_id,
            Patient.given_name,
            Patient.family_name,
            Visit.starts_at,
            Visit.clinician,
            Visit.treatment,
            Visit.kind,
            Visit.status,
        )
        .join(Visit.patient)
        .where(*on_the_day)
        .order_by(Visit.starts_at, Visit.id)
    )
    visits = s.execute(query).all()
    if not visits:
        return Day(day, [])
    found = load_rows(s, select(Visit.id).where(*on_the_day))
    zone = clinic.zone()
    rows = []
    for visit in visits:
        got = found[visit.id]
        submission = got.submission
        rows.append(
            today_row(
                visit.id,
                visit.patient_id,
                f"{visit.given_name} {visit.family_name}",
                visit.starts_at.astimezone(zone),
                visit.clinician,
                visit.treatment,
                visit.kind,
                visit.status == "cancelled",
                screening_state(got.links, got.draft, submission),
                submission.reference if submission is not None else None,
                submission.review_state if submission is not None else None,
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
