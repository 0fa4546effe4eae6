"""The triage queue page: urgent first, then not suitable, review, suitable; newest first.

The filters come from the query string through a form; the rows, the paging and the
counts are read by `queries`. A name search is posted (with a CSRF token) and kept in
the clinician's session; the URL carries only an opaque key to it (`s`), so a patient's
name never appears in an address, the browser's history or an access log.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app, has_request_context, redirect, render_template, request, session, url_for
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response
from wtforms import Form, StringField
from wtforms.validators import ValidationError

from .. import audit, clinic, db
from ..models import Submission
from ..questionnaire.vocabulary import OUTCOME_LABELS, Flag, advice_words, highest, stored_flags
from .blueprint import bp
from .queries import Cursor, Filters, counts_by_state, normalise_reference, walk

STATE_LABELS = {"new": "New", "reviewed": "Reviewed", "erased": "Erased"}

DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
FILTER_PARAMS = ("outcome", "state", "from", "to", "s")
# The searches a session keeps (the newest; an older key then says "search again").
SEARCHES_KEPT = 20
SEARCHES = "queue_searches"


def keep_search(text: str) -> str:
    """Keep a typed search in the session; the opaque key that names it in links."""
    kept: dict[str, str] = dict(session.get(SEARCHES, {}))
    for key, value in list(kept.items()):
        if value == text:
            return key
    key = secrets.token_urlsafe(6)
    kept[key] = text
    while len(kept) > SEARCHES_KEPT:
        kept.pop(next(iter(kept)))
    session[SEARCHES] = kept
    return key


def kept_search(key: str) -> str | None:
    """The search a key in this session names; None if it is not (or no longer) kept."""
    if not has_request_context():
        return None
    value = session.get(SEARCHES, {}).get(key)
    return value if isinstance(value, str) else None


def _with_kept_search(formdata: Mapping[str, Any] | None) -> Any:
    """The filters with `s` (a kept search's key) turned back into the text typed."""
    if formdata is None or not formdata.get("s") or formdata.get("q"):
        return formdata
    text = kept_search(formdata["s"])
    if text is None:
        return formdata
    data = MultiDict(formdata)
    data["q"] = text
    return data


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
    s = StringField("Search", filters=[_strip])
    after = StringField("Page", filters=[_strip])

    def __init__(self, formdata: Any = None, **kwargs: Any) -> None:
        super().__init__(_with_kept_search(formdata), **kwargs)

    def validate_s(self, field: StringField) -> None:
        """A link to a search this session no longer keeps (signed out since, or long ago)."""
        if field.data and not self.q.data:
            raise ValidationError("That search is no longer kept (searches last until you sign out): search again")

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
        reference = normalise_reference(search) if search else None
        # Names have no digits: a reference with a digit in it is not also a name.
        is_name = search is not None and not (reference and any(c.isdigit() for c in search))
        return Filters(
            outcome=self.outcome.data or None,
            state=self.state.data or None,
            start=dt.date.fromisoformat(self.from_.data) if self.from_.data else None,
            end=dt.date.fromisoformat(self.to.data) if self.to.data else None,
            search=search,
            search_key=(self.s.data or None) if search else None,
            name_prefix=" ".join(search.split()).casefold() if search and is_name else None,
            reference=reference,
        )

    def cursor(self) -> Cursor | None:
        """The validated `after` cursor, if any."""
        return Cursor.decode(self.after.data) if self.after.data else None


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
        return advice_words(self.urgent_advice)

    @property
    def state_label(self) -> str:
        """The review state in words."""
        return STATE_LABELS.get(self.review_state, self.review_state)

    @property
    def top_flag(self) -> Flag | None:
        """The most serious flag (the first of equals keeps the rules' order)."""
        return highest(stored_flags(self.flags))

    @property
    def submitted_iso(self) -> str:
        """The submission time for <time datetime>."""
        return self.created_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    @property
    def submitted_text(self) -> str:
        """The submission time for people, in the clinic's zone: 'Mon 4 Mar 2024, 14:05 GMT'."""
        at = clinic.local(self.created_at)
        return f"{at:%a} {at.day} {at:%b %Y, %H:%M %Z}"


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
    by_state = counts_by_state(s, filters, current_app.config.get("QUEUE_COUNTS_CACHE_SECONDS", 5))
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
    kept: dict[str, Any] = {k: v for k, v in request.args.items() if k in FILTER_PARAMS}
    first_page_url = url_for("review.queue", **kept)
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
def queue() -> tuple[str, int] | Response:
    """Submissions in triage order, filtered, one page at a time."""
    form = QueueFilters(request.args)
    if not form.validate():
        return render_queue(form, None)
    if request.args.get("q"):
        # An old link or a typed address with the name in it: keep it, and drop it from the address.
        return _to_kept_search(request.args)
    size = current_app.config.get("QUEUE_PAGE_SIZE", 50)
    filters = form.filters()
    # The list shows names, outcomes and flag reasons: health data, so its views are audited too.
    with db.get_db().transaction() as s:
        audit.record(s, "view_queue", detail=filters.audit_detail())
    return render_queue(form, load_page(filters, form.cursor(), size))


@bp.post("/search")
def search() -> tuple[str, int] | Response:
    """The filter form, posted: the search is kept in the session and the queue shown by its key."""
    form = QueueFilters(request.form)
    if not form.validate():
        return render_queue(form, None)
    return _to_kept_search(request.form)


def _to_kept_search(given: Mapping[str, Any]) -> Response:
    """303 to the queue with these filters, a typed search replaced by its key."""
    params = {key: given[key] for key in ("outcome", "state", "from", "to") if given.get(key)}
    typed = " ".join(str(given.get("q") or "").split())
    if typed:
        params["s"] = keep_search(typed)
    return redirect(url_for("review.queue", **params), code=303)
