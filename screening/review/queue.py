"""The triage queue: urgent first, then not suitable, review, suitable; newest first.

Paging is by keyset, never OFFSET, so page 20,000 costs what page 1 costs. The order
mixes ascending rank with descending time, which no single scan of the all-ascending
index (outcome_rank, created_at, id) can produce; rank has only four values, so each
rank is read as its own backwards range of that index and the ranges are concatenated.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask import current_app, render_template, request, url_for
from sqlalchemy import ColumnElement, Row, func, or_, select
from sqlalchemy.orm import Session
from wtforms import Form, StringField
from wtforms.validators import ValidationError

from .. import audit, db
from ..models import OUTCOME_RANK, REFERENCE_ALPHABET, Submission
from ..questionnaire import LEVELS
from .blueprint import bp

OUTCOME_LABELS = {"urgent": "Urgent", "not_suitable": "Not suitable", "review": "Review", "suitable": "Suitable"}
STATE_LABELS = {"new": "New", "reviewed": "Reviewed", "erased": "Erased"}
URGENT_ADVICE_LABELS = {"emergency": "emergency", "same_day": "same day"}
RANK_OUTCOME = {rank: outcome for outcome, rank in OUTCOME_RANK.items()}

DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
REFERENCE_RE = re.compile(f"[{REFERENCE_ALPHABET}]{{12}}")
# Spaces and any kind of dash, as a reference copied from an email or a letter may have.
REFERENCE_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015]")
# Past every code point, so every name_key starting with the prefix sorts below prefix + this.
PREFIX_END = "\U0010ffff"
FILTER_PARAMS = ("outcome", "state", "from", "to", "q")
MAX_CURSOR_LENGTH = 200
MAX_ID = 2**63 - 1  # a bigger id would overflow PostgreSQL's bigint: refuse it, don't crash

# What one queue row needs: enough for the table and the cursor, and no answers.
QUEUE_COLUMNS = (
    Submission.id,
    Submission.outcome_rank,
    Submission.created_at,
    Submission.reference,
    Submission.outcome,
    Submission.urgent_advice,
    Submission.patient_name,
    Submission.flags,
    Submission.review_state,
)


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: the (outcome_rank, created_at, id) of its last row."""

    rank: int
    created_at: dt.datetime
    id: int

    @classmethod
    def after(cls, row: Any) -> Cursor:
        """The cursor just past this row."""
        return cls(row.outcome_rank, row.created_at, row.id)

    def encode(self) -> str:
        """Opaque, URL-safe text for the `after` parameter."""
        data = [self.rank, self.created_at.astimezone(dt.UTC).isoformat(), self.id]
        return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """Parse an `after` parameter; ValueError if it was not made by `encode`."""
        if len(text) > MAX_CURSOR_LENGTH:
            raise ValueError("too long")
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            rank, stamp, row_id = json.loads(raw)
            created_at = dt.datetime.fromisoformat(stamp).astimezone(dt.UTC) if isinstance(stamp, str) else None
        except (binascii.Error, UnicodeDecodeError, ValueError, TypeError, OverflowError):
            raise ValueError("not a cursor") from None
        # bool is an int to Python; a cursor never holds one.
        if type(rank) is not int or rank not in RANK_OUTCOME or type(row_id) is not int or not 0 < row_id <= MAX_ID:
            raise ValueError("not a cursor")
        if created_at is None or dt.datetime.fromisoformat(stamp).tzinfo is None:
            raise ValueError("not a cursor")
        return cls(rank, created_at, row_id)


@dataclass(frozen=True)
class Filters:
    """Which submissions to list: every field None means all but the erased."""

    outcome: str | None = None
    state: str | None = None
    start: dt.date | None = None  # `from`, inclusive
    end: dt.date | None = None  # `to`, inclusive
    search: str | None = None  # `q` as typed (for links)
    name_prefix: str | None = None  # casefolded, like name_key
    reference: str | None = None  # XXXX-XXXX-XXXX
    until: dt.datetime | None = None  # exports: nothing submitted after the export began

    def conditions(self, with_outcome: bool = True) -> list[ColumnElement[bool]]:
        """The WHERE clauses, optionally without the outcome (for the counts)."""
        where: list[ColumnElement[bool]] = []
        if with_outcome and self.outcome:
            where.append(Submission.outcome_rank == OUTCOME_RANK[self.outcome])
        # Erased rows stay out unless asked for; != keeps the plain queue index usable.
        where.append(Submission.review_state == self.state if self.state else Submission.review_state != "erased")
        if self.start:
            where.append(Submission.created_at >= day_start(self.start))
        if self.end and self.end < dt.date.max:
            where.append(Submission.created_at < day_start(self.end + dt.timedelta(days=1)))
        if self.until:
            where.append(Submission.created_at <= self.until)
        if self.name_prefix or self.reference:
            where.append(or_(*self._search()))
        return where

    def _search(self) -> list[ColumnElement[bool]]:
        """A name prefix as an index range; a reference-shaped search also matches the reference."""
        found: list[ColumnElement[bool]] = []
        if self.reference:
            found.append(Submission.reference == self.reference)
        if self.name_prefix:
            found.append(
                (Submission.name_key >= self.name_prefix) & (Submission.name_key < self.name_prefix + PREFIX_END)
            )
        return found

    def ranks(self, after: Cursor | None = None) -> list[int]:
        """The outcome ranks still to read, in order."""
        ranks = [OUTCOME_RANK[self.outcome]] if self.outcome else sorted(RANK_OUTCOME)
        return [rank for rank in ranks if after is None or rank >= after.rank]

    def params(self, **changes: str | None) -> dict[str, str]:
        """The query-string parameters that reproduce these filters (for links)."""
        values = {
            "outcome": self.outcome,
            "state": self.state,
            "from": self.start.isoformat() if self.start else None,
            "to": self.end.isoformat() if self.end else None,
            "q": self.search,
        }
        values.update(changes)
        return {key: value for key, value in values.items() if value}

    def audit_detail(self) -> dict[str, Any]:
        """The filters for the audit log: a reference is an id, a name is personal data."""
        detail: dict[str, Any] = self.params(q=None)
        if self.reference:
            detail["reference"] = self.reference
        if self.name_prefix:
            detail["name_search"] = True
        return detail


def day_start(day: dt.date) -> dt.datetime:
    """Midnight UTC at the start of a day."""
    return dt.datetime.combine(day, dt.time(), dt.UTC)


def normalise_reference(text: str) -> str | None:
    """K7QM-4XR2-PD9H from 'k7qm 4xr2 pd9h', 'K7QM4XR2PD9H' and the like; None if not one."""
    compact = REFERENCE_SEPARATORS.sub("", text).upper()
    if not REFERENCE_RE.fullmatch(compact):
        return None
    return f"{compact[:4]}-{compact[4:8]}-{compact[8:]}"


def _strip(value: Any) -> Any:
    """Trim typed text; a blank box means no filter."""
    return value.strip() if isinstance(value, str) else value


def _one_of(choices: dict[str, str], message: str):
    """A validator: blank, or one of the choices' keys."""

    def check(_form: Form, field: StringField) -> None:
        """Refuse a value that is not offered."""
        if field.data and field.data not in choices:
            raise ValidationError(message)

    return check


def _iso_date(name: str):
    """A validator: blank, or a real date written YYYY-MM-DD."""

    def check(_form: Form, field: StringField) -> None:
        """Refuse anything but YYYY-MM-DD (fromisoformat alone would take 20240301)."""
        if not field.data:
            return
        if not DATE_RE.fullmatch(field.data):
            raise ValidationError(f"Write the '{name}' date as YYYY-MM-DD, for example 2024-03-01")
        try:
            dt.date.fromisoformat(field.data)
        except ValueError:
            raise ValidationError(f"The '{name}' date {field.data} is not a real date") from None

    return check


class QueueFilters(Form):
    """The queue's filters from the query string (a GET that changes nothing: no CSRF token)."""

    outcome = StringField(
        "Outcome",
        filters=[_strip],
        validators=[_one_of(OUTCOME_LABELS, "Outcome must be urgent, not suitable, review or suitable")],
    )
    state = StringField(
        "Review state",
        filters=[_strip],
        validators=[_one_of(STATE_LABELS, "Review state must be new, reviewed or erased")],
    )
    # `from` is a Python keyword: the attribute is from_, the parameter is still `from`.
    from_ = StringField("Submitted from", name="from", filters=[_strip], validators=[_iso_date("from")])
    to = StringField("Submitted to", filters=[_strip], validators=[_iso_date("to")])
    q = StringField("Name or reference", filters=[_strip])
    after = StringField("Page", filters=[_strip])

    def validate_to(self, field: StringField) -> None:
        """A range that ends before it starts would silently list nothing."""
        if field.errors or self.from_.errors or not (field.data and self.from_.data):
            return
        if field.data < self.from_.data:  # both YYYY-MM-DD, so text order is date order
            raise ValidationError("The 'to' date must be the same as or after the 'from' date")

    def validate_q(self, field: StringField) -> None:
        """A name prefix or a whole reference; names have no digits, so digits mean a reference."""
        if len(field.data or "") > 200:
            raise ValidationError("Name or reference is too long: use at most 200 characters")
        if field.data and normalise_reference(field.data) is None and any(c.isdigit() for c in field.data):
            raise ValidationError(
                "Name or reference: a reference has 12 letters and digits, like K7QM-4XR2-PD9H"
                " (references never use 0, 1, I or O)"
            )

    def validate_after(self, field: StringField) -> None:
        """A page link that was edited or cut short."""
        if field.data:
            try:
                Cursor.decode(field.data)
            except ValueError:
                raise ValidationError("The page link is not valid: it may have been cut short or changed") from None

    def filters(self) -> Filters:
        """The validated filters."""
        search = self.q.data or None
        return Filters(
            outcome=self.outcome.data or None,
            state=self.state.data or None,
            start=dt.date.fromisoformat(self.from_.data) if self.from_.data else None,
            end=dt.date.fromisoformat(self.to.data) if self.to.data else None,
            search=search,
            name_prefix=" ".join(search.split()).casefold() if search else None,
            reference=normalise_reference(search) if search else None,
        )

    def cursor(self) -> Cursor | None:
        """The validated `after` cursor, if any."""
        return Cursor.decode(self.after.data) if self.after.data else None


# A name or reference search matches few rows: read them through the name and reference
# indexes and sort them here, rather than walk the whole queue index looking for them.
SEARCH_SORT_LIMIT = 2000
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def walk(s: Session, filters: Filters, after: Cursor | None, size: int, columns: Sequence[Any]) -> list[Row]:
    """Up to `size` rows just past `after`, in triage order (columns must include
    outcome_rank, created_at and id)."""
    if filters.name_prefix or filters.reference:
        found = _search_rows(s, filters, after, size, columns)
        if found is not None:
            return found
    return _walk_ranks(s, filters, after, size, columns)


def _micros(moment: dt.datetime) -> int:
    """A timestamp as whole microseconds (exact, unlike a float)."""
    return (moment - EPOCH) // dt.timedelta(microseconds=1)


def _triage_key(row: Any) -> tuple:
    """Triage order as a sort key: rank up, then newest first."""
    return (row.outcome_rank, -_micros(row.created_at), -row.id)


def _search_rows(s: Session, filters: Filters, after: Cursor | None, size: int, columns: Sequence[Any]) -> list | None:
    """A search's rows past `after` in triage order; None when it matches too many to sort.

    Only the sort keys of the matches are read and sorted; the page's rows are then
    fetched by id.
    """
    keys_stmt = select(Submission.outcome_rank, Submission.created_at, Submission.id).where(*filters.conditions())
    keys = s.execute(keys_stmt.limit(SEARCH_SORT_LIMIT + 1)).all()
    if len(keys) > SEARCH_SORT_LIMIT:
        return None  # a common prefix: the ordered walk finds matches quickly anyway
    if after is not None:
        edge = (after.rank, -_micros(after.created_at), -after.id)
        keys = [key for key in keys if _triage_key(key) > edge]
    page = sorted(keys, key=_triage_key)[:size]
    if not page:
        return []
    rows = s.execute(select(*columns).where(Submission.id.in_([key.id for key in page]))).all()
    return sorted(rows, key=_triage_key)


def _walk_ranks(s: Session, filters: Filters, after: Cursor | None, size: int, columns: Sequence[Any]) -> list[Row]:
    """Up to `size` rows just past `after`, in triage order: one index range per outcome."""
    rows: list[Row] = []
    for rank in filters.ranks(after):
        stmt = select(*columns).where(*filters.conditions(with_outcome=False), Submission.outcome_rank == rank)
        if after is not None and rank == after.rank:
            # `created_at <= c` is the index range; the OR only trims ties on the boundary.
            stmt = stmt.where(
                Submission.created_at <= after.created_at,
                or_(Submission.created_at < after.created_at, Submission.id < after.id),
            )
        stmt = stmt.order_by(Submission.created_at.desc(), Submission.id.desc()).limit(size - len(rows))
        rows.extend(s.execute(stmt).all())
        if len(rows) >= size:
            break
    return rows


def count(s: Session, filters: Filters) -> int:
    """How many submissions match the filters."""
    return s.scalar(select(func.count()).select_from(Submission).where(*filters.conditions())) or 0


# Counting reads a whole index (about 60 ms at a million rows), while the page itself
# takes about 1 ms: the counts are kept for a few seconds per process and filter.
_COUNTS: dict[tuple, tuple[float, dict[tuple[str, str], int]]] = {}


def counts_by_state(s: Session, filters: Filters) -> dict[tuple[str, str], int]:
    """(review state, outcome) -> how many, for the filters other than outcome (briefly cached)."""
    seconds = current_app.config.get("QUEUE_COUNTS_CACHE_SECONDS", 5)
    key = (str(s.get_bind().url), tuple(sorted(filters.params(outcome=None).items())), filters.reference)
    now = time.monotonic()
    cached = _COUNTS.get(key)
    if cached and cached[0] > now:
        return cached[1]
    counts = _count(s, filters)
    if seconds > 0:
        if len(_COUNTS) > 1000:  # many different filters: start again rather than grow
            _COUNTS.clear()
        _COUNTS[key] = (now + seconds, counts)
    return counts


def _count(s: Session, filters: Filters) -> dict[tuple[str, str], int]:
    """(review state, outcome) -> how many, straight from the database."""
    stmt = (
        select(Submission.review_state, Submission.outcome_rank, func.count())
        .where(*filters.conditions(with_outcome=False))
        .group_by(Submission.review_state, Submission.outcome_rank)
    )
    return {(state, RANK_OUTCOME[rank]): n for state, rank, n in s.execute(stmt)}


@dataclass(frozen=True)
class QueueRow:
    """One submission as the queue shows it."""

    reference: str
    outcome: str
    urgent_advice: str | None
    patient_name: str | None
    created_at: dt.datetime
    flags: list[dict[str, Any]]
    review_state: str

    @property
    def outcome_label(self) -> str:
        """The outcome in words."""
        return OUTCOME_LABELS.get(self.outcome, self.outcome)

    @property
    def advice_label(self) -> str | None:
        """For urgent ones: how soon the patient was told to get help."""
        return URGENT_ADVICE_LABELS.get(self.urgent_advice or "", self.urgent_advice)

    @property
    def state_label(self) -> str:
        """The review state in words."""
        return STATE_LABELS.get(self.review_state, self.review_state)

    @property
    def top_flag(self) -> dict[str, Any] | None:
        """The most serious flag (the first of equals keeps the rules' order)."""
        rank = {level: i for i, level in enumerate(LEVELS)}
        return min(self.flags, key=lambda f: rank.get(f.get("level"), len(LEVELS)), default=None)

    @property
    def submitted_iso(self) -> str:
        """The submission time for <time datetime>."""
        return self.created_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    @property
    def submitted_text(self) -> str:
        """The submission time for people: 'Mon 4 Mar 2024, 14:05 UTC'."""
        at = self.created_at.astimezone(dt.UTC)
        return f"{at:%a} {at.day} {at:%b %Y, %H:%M} UTC"


@dataclass(frozen=True)
class Page:
    """One page of the queue, with the counts and the links around it."""

    filters: Filters
    rows: list[QueueRow]
    counts: dict[str, int]
    urgent_new: int
    next_after: str | None
    is_first: bool

    @property
    def total(self) -> int:
        """How many match every filter, outcome included."""
        return self.counts[self.filters.outcome] if self.filters.outcome else sum(self.counts.values())


def load_page(filters: Filters, after: Cursor | None, size: int) -> Page:
    """One page of the queue after `after`, with the per-outcome counts."""
    s = db.session()
    rows = walk(s, filters, after, size + 1, QUEUE_COLUMNS)
    by_state = counts_by_state(s, filters)
    counts = {outcome: 0 for outcome in OUTCOME_LABELS}
    for (_state, outcome), n in by_state.items():
        counts[outcome] += n
    shown = [
        QueueRow(r.reference, r.outcome, r.urgent_advice, r.patient_name, r.created_at, r.flags or [], r.review_state)
        for r in rows[:size]
    ]
    return Page(
        filters=filters,
        rows=shown,
        counts=counts,
        urgent_new=by_state.get(("new", "urgent"), 0),
        next_after=Cursor.after(rows[size - 1]).encode() if len(rows) > size else None,
        is_first=after is None,
    )


def render_queue(form: QueueFilters, page: Page | None) -> tuple[str, int]:
    """The queue page; with no page (bad filters) it shows the errors and no rows."""
    first_page_url = url_for("review.queue", **{k: v for k, v in request.args.items() if k in FILTER_PARAMS})
    html = render_template(
        "review/queue.html",
        form=form,
        page=page,
        outcomes=OUTCOME_LABELS,
        states=STATE_LABELS,
        first_page_url=first_page_url,
    )
    return html, 200 if page else 400


@bp.get("/")
def queue() -> tuple[str, int]:
    """Submissions in triage order, filtered, one page at a time."""
    form = QueueFilters(request.args)
    if not form.validate():
        return render_queue(form, None)
    size = current_app.config.get("QUEUE_PAGE_SIZE", 50)
    filters = form.filters()
    # The list shows names, outcomes and flag reasons: health data, so its views are audited too.
    with db.get_db().transaction() as s:
        audit.record(s, "view_queue", detail=filters.audit_detail())
    return render_queue(form, load_page(filters, form.cursor(), size))
