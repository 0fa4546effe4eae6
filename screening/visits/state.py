"""A visit's screening state, as the clinician's Today page shows it.

`screening_state` is pure: it reads the rows it is given. `load_states` loads those
rows for many visits at once, in four queries whatever the number of visits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, load_only

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
    visit: Visit,
    links: Sequence[VisitLink],
    draft: Draft | None,
    submission: Submission | None,
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


@dataclass(frozen=True)
class VisitRows:
    """The rows a visit's screening state is worked out from."""

    links: list[VisitLink]
    draft: Draft | None
    submission: Submission | None


def load_rows(s: Session, visit_ids: Iterable[int], now: dt.datetime | None = None) -> dict[int, VisitRows]:
    """The screening links, the live draft and the latest submission of each visit's own
    questionnaire (not an aftercare check sent after it), by visit id."""
    ids = sorted(set(visit_ids))
    if not ids:
        return {}
    now = now or clock.now()
    links: dict[int, list[VisitLink]] = {i: [] for i in ids}
    for link in s.scalars(
        select(VisitLink).where(VisitLink.visit_id.in_(ids), VisitLink.purpose == "screening").order_by(VisitLink.id)
    ):
        links[link.visit_id].append(link)
    drafts: dict[int, Draft] = {}
    # Only the columns a state needs: not the answers (Today lists hundreds of visits).
    live = select(Draft).options(load_only(Draft.token, Draft.visit_id, Draft.updated_at, Draft.submission_id))
    live = live.join(Visit, Visit.id == Draft.visit_id).where(Draft.visit_id.in_(ids), Draft.expires_at > now)
    live = live.where(or_(Draft.questionnaire_id.is_(None), Draft.questionnaire_id == Visit.questionnaire_id))
    live = live.order_by(Draft.updated_at)
    for draft in s.scalars(live):
        assert draft.visit_id is not None
        drafts[draft.visit_id] = draft  # the most recently changed wins
    submissions: dict[int, Submission] = {}
    columns = (Submission.id, Submission.reference, Submission.visit_id, Submission.outcome, Submission.review_state)
    sent = (
        select(Submission)
        .options(load_only(*columns, Submission.created_at))
        .join(Visit, Visit.id == Submission.visit_id)
        .where(Submission.visit_id.in_(ids), Submission.questionnaire_id == Visit.questionnaire_id)
        .order_by(Submission.created_at, Submission.id)
    )
    for submission in s.scalars(sent):
        assert submission.visit_id is not None
        submissions[submission.visit_id] = submission  # the latest wins
    return {i: VisitRows(links[i], drafts.get(i), submissions.get(i)) for i in ids}


def load_states(s: Session, visits: Iterable[Visit], now: dt.datetime | None = None) -> dict[int, str]:
    """The screening state of each visit, by visit id, in a few queries."""
    visits = list(visits)
    rows = load_rows(s, (v.id for v in visits), now)
    return {v.id: screening_state(v, rows[v.id].links, rows[v.id].draft, rows[v.id].submission) for v in visits}
