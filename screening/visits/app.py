"""Visits in the running app: the secret keys, the clinic's time zone, the link's address
and the audit row, around the pure functions of records.py and links.py.

The staff pages, the command line and the API all add a visit through `add_visit`, and
issue links through `issue_link`, so each way in checks, stores and audits alike.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app, has_request_context, url_for
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import audit, clinic, clock, db
from ..models import User, Visit
from ..security import signing_keys
from . import links, records

__all__ = ["signing_keys"]  # the links are signed with the app's keys (security.py)


def link_url(token: str) -> str:
    """The full address of a personal link (the token in the query string, which the
    access log leaves out)."""
    base = current_app.config.get("PUBLIC_URL")
    if base:
        return f"{base.rstrip('/')}/i?t={token}"
    if has_request_context():
        return url_for("link.open_link", t=token, _external=True)
    return f"http://127.0.0.1:5000/i?t={token}"


@dataclass(frozen=True)
class NewVisit:
    """A visit just added (or found again by its booking id) and its new link, if one was made."""

    visit: Visit
    created: bool
    url: str | None
    expires_at: dt.datetime | None


def add_visit(
    raw: Mapping[str, Any], *, how: str, user: User | None = None, actor: str | None = None, with_link: bool = True
) -> NewVisit | records.Problems:
    """Check a visit's fields, add the patient and visit, issue its link, audit it: all
    in one transaction. Problems come back by field, and nothing is stored."""
    data = records.check(raw, clinic.zone(), clinic.today())
    if not isinstance(data, records.VisitInput):
        return data
    try:
        return _add(data, how=how, user=user, actor=actor, with_link=with_link)
    except IntegrityError:
        # The same booking or patient pushed twice at once: the other push won; this
        # one now finds its rows and updates them instead.
        return _add(data, how=how, user=user, actor=actor, with_link=with_link)


def _add(
    data: records.VisitInput, *, how: str, user: User | None, actor: str | None, with_link: bool
) -> NewVisit | records.Problems:
    """add_visit, once checked: one transaction."""
    with db.get_db().transaction() as s:
        try:
            added = records.add(s, data)
        except records.Conflict as exc:
            return exc.problems
        url = expires = None
        if with_link and added.created:
            url, expires = _issue(s, added.visit)
        detail = {"visit": added.visit.id, "patient": added.visit.patient_id, "how": how, "created": added.created}
        audit.record(s, "visit_added", detail=detail, user=user, actor=actor)
    return NewVisit(added.visit, added.created, url, expires)


def _issue(s: Session, visit: Visit, purpose: str = "screening") -> tuple[str, dt.datetime]:
    """Issue a link in this transaction; its address and expiry."""
    now = clock.now()
    expires = links.default_expiry(visit.starts_at, clinic.zone(), now)
    issued = links.issue(s, visit, signing_keys(), now, expires, purpose)
    return link_url(issued.token), issued.link.expires_at


def issue_link(
    visit_id: int, *, how: str, user: User | None = None, actor: str | None = None
) -> tuple[str, dt.datetime] | None:
    """A new link to a visit (the old one stops working), audited; None: no such visit."""
    with db.get_db().transaction() as s:
        visit = s.get(Visit, visit_id, with_for_update=True)
        if visit is None:
            return None
        url, expires = _issue(s, visit)
        audit.record(s, "link_issued", detail={"visit": visit.id, "how": how}, user=user, actor=actor)
    return url, expires


def revoke_links(visit_id: int, *, how: str, user: User | None = None, actor: str | None = None) -> int | None:
    """Stop every link of a visit, audited; how many; None: no such visit."""
    with db.get_db().transaction() as s:
        visit = s.get(Visit, visit_id, with_for_update=True)
        if visit is None:
            return None
        n = links.revoke(s, visit.id, clock.now())
        audit.record(s, "link_revoked", detail={"visit": visit.id, "links": n, "how": how}, user=user, actor=actor)
    return n
