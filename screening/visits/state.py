"""A visit's screening state, as the clinician's Today page shows it.

`screening_state` is pure: it reads the rows it is given. `load_rows` loads those
rows for many visits at once, in three queries whatever the number of visits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from .. import clock
from ..models import Draft, Submission, Visit, VisitLink

STATES = ("not sent", "sent", "opened", "in progress", "ready", "talk first", "not today", "urgent")
"""Every screening state, in the order a visit moves through them (the outcomes last)."""

STATE_OF_OUTCOME = {
    "suitable": "ready",
    "review": "talk first",
    "not_suitable": "not today",
    "urgent": "urgent",
}
"""The state a submitted screening is in, by its outcome (see questionnaire/vocabulary.py)."""

SCREENING = "screening"


def screening_state(
    links: Sequence[VisitLink | LinkFacts],
    draft: Draft | DraftFacts | None,
    submission: Submission | SubmissionFacts | None,
) -> str:
    """Where this visit's screening stands: one of STATES.

    `links` are the visit's links (any purpose; only screening links that are not
    revoked count), `draft` its draft if any, `submission` its submission if any.
    """
    if submission is not None:
        return STATE_OF_OUTCOME.get(submission.outcome, "talk first")
    if draft is not None:
        return "in progress"
    live = [link for link in links if link.purpose == SCREENING and link.revoked_at is None]
    if not live:
        return "not sent"
    if any(link.opened_at is not None for link in live):
        return "opened"
    return "sent"


@dataclass(frozen=True, slots=True)
class LinkFacts:
    """What a visit's screening state and a link's state read of a link row."""

    id: int
    visit_id: int
    purpose: str
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    opened_at: dt.datetime | None
    identified_at: dt.datetime | None
    locked_until: dt.datetime | None


@dataclass(frozen=True, slots=True)
class DraftFacts:
    """A visit's live draft, without its answers."""

    token: str
    visit_id: int
    updated_at: dt.datetime
    submission_id: int | None


@dataclass(frozen=True, slots=True)
class SubmissionFacts:
    """A visit's sent screening, without its answers."""

    id: int
    reference: str
    visit_id: int
    outcome: str
    review_state: str
    created_at: dt.datetime
    language: str | None  # the language it was answered in (None: the clinic's)


@dataclass(frozen=True)
class VisitRows:
    """The rows a visit's screening state is worked out from."""

    links: list[LinkFacts]
    draft: DraftFacts | None
    submission: SubmissionFacts | None


class RowsByVisit(dict[int, VisitRows]):
    """VisitRows by visit id; `rows[id]` of a visit with no link, draft or submission gives
    empty ones (`rows.get(id)` gives None: read it with [])."""

    def __missing__(self, visit_id: int) -> VisitRows:
        return VisitRows([], None, None)


def load_rows(s: Session, visit_ids: Iterable[int] | Select[Any], now: dt.datetime | None = None) -> RowsByVisit:
    """The screening links, the live draft and the latest submission of each visit's own
    questionnaire (not an aftercare check sent after it), by visit id.

    `visit_ids` is a list of ids or a query of them: Today passes the query of the day's
    visits, so the database is not sent hundreds of ids three times over (on PostgreSQL,
    expanding and parsing them cost more than running the queries).

    Plain columns rather than ORM objects: Today reads these for hundreds of visits, and
    building the objects cost more than the queries."""
    if isinstance(visit_ids, Select):
        # Never correlated: the queries below join visits themselves.
        ids: list[int] | Select[Any] = visit_ids.correlate(None)
    else:
        ids = sorted(set(visit_ids))
        if not ids:
            return RowsByVisit()
    now = now or clock.now()
    links: dict[int, list[LinkFacts]] = {}
    link_columns = [getattr(VisitLink, name) for name in LinkFacts.__slots__]
    screening_links = select(*link_columns).where(VisitLink.visit_id.in_(ids), VisitLink.purpose == SCREENING)
    for row in s.execute(screening_links.order_by(VisitLink.id)):
        links.setdefault(row.visit_id, []).append(LinkFacts(*row))
    drafts: dict[int, DraftFacts] = {}
    live = select(*(getattr(Draft, name) for name in DraftFacts.__slots__))
    live = live.join(Visit, Visit.id == Draft.visit_id).where(Draft.visit_id.in_(ids), Draft.expires_at > now)
    live = live.where(or_(Draft.questionnaire_id.is_(None), Draft.questionnaire_id == Visit.questionnaire_id))
    for row in s.execute(live.order_by(Draft.updated_at)):
        drafts[row.visit_id] = DraftFacts(*row)  # the most recently changed wins
    submissions: dict[int, SubmissionFacts] = {}
    sent = (
        select(*(getattr(Submission, name) for name in SubmissionFacts.__slots__))
        .join(Visit, Visit.id == Submission.visit_id)
        .where(Submission.visit_id.in_(ids), Submission.questionnaire_id == Visit.questionnaire_id)
        .order_by(Submission.created_at, Submission.id)
    )
    for row in s.execute(sent):
        submissions[row.visit_id] = SubmissionFacts(*row)  # the latest wins
    found = RowsByVisit()
    for i in links.keys() | drafts.keys() | submissions.keys():
        found[i] = VisitRows(links.get(i, []), drafts.get(i), submissions.get(i))
    return found


def load_states(s: Session, visits: Iterable[Visit], now: dt.datetime | None = None) -> dict[int, str]:
    """The screening state of each visit, by visit id, in a few queries."""
    visits = list(visits)
    rows = load_rows(s, (v.id for v in visits), now)
    return {v.id: screening_state(rows[v.id].links, rows[v.id].draft, rows[v.id].submission) for v in visits}
