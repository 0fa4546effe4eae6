"""Admins: the audit log page and its CSV download.

Audit rows are only ever read here: there is no page that edits or deletes them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from flask import Response, abort, render_template, request, stream_with_context
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import aliased
from wtforms import Form, SelectField, StringField
from wtforms.fields import SelectChoice
from wtforms.validators import Length, Optional

from .. import audit, db
from ..models import AuditEvent, User
from . import accounts
from .accounts import admin_required
from .blueprint import bp, same_origin_only
from .csvstream import csv_chunks

PAGE_SIZE = 50
CSV_HEADER = ["id", "when (UTC)", "who", "action", "what", "reference", "account", "ip", "detail"]


class AuditFilterForm(Form):
    """The audit log's filters, read from the query string (a GET form: no CSRF needed)."""

    action = SelectField(
        "Action",
        choices=[SelectChoice("", "Any action")] + [SelectChoice(key, words) for key, words in audit.ACTIONS.items()],
        default="",
    )
    user = StringField("Person (email address)", validators=[Optional(), Length(max=254)])
    reference = StringField("Submission reference", validators=[Optional(), Length(max=16)])

    def chosen(self) -> dict[str, str]:
        """The filters in use, normalised, as query-string arguments."""
        values = {
            "action": self.action.data or "",
            "user": accounts.normalise_email(self.user.data or ""),
            "reference": (self.reference.data or "").strip().upper(),
        }
        return {name: value for name, value in values.items() if value}


@dataclass
class AuditPage:
    """One page of the audit log, newest first, and where the neighbouring pages start."""

    rows: list[tuple[AuditEvent, str | None]]
    newer: int | None  # show rows after this id
    older: int | None  # show rows before this id


def audit_conditions(filters: dict[str, str]) -> list[ColumnElement[bool]]:
    """SQL conditions for the chosen filters."""
    conditions: list[ColumnElement[bool]] = []
    if "action" in filters:
        conditions.append(AuditEvent.action == filters["action"])
    if "user" in filters:
        # What the person did (also failed sign-ins typed with their address) and what was done to their account.
        user_id = select(User.id).where(User.email == filters["user"]).scalar_subquery()
        conditions.append(
            or_(
                AuditEvent.actor == filters["user"], AuditEvent.user_id == user_id, AuditEvent.target_user_id == user_id
            )
        )
    if "reference" in filters:
        conditions.append(AuditEvent.reference == filters["reference"])
    return conditions


def audit_rows(conditions: list[ColumnElement[bool]]) -> Any:
    """Audit events with the email of the account each one concerns."""
    target = aliased(User)
    return select(AuditEvent, target.email).outerjoin(target, AuditEvent.target_user_id == target.id).where(*conditions)


def _exists(conditions: list[ColumnElement[bool]]) -> bool:
    """Whether any audit row meets the conditions."""
    return db.session().scalar(select(AuditEvent.id).where(*conditions).limit(1)) is not None


def audit_page(filters: dict[str, str], before: int | None = None, after: int | None = None) -> AuditPage:
    """A page of the filtered log by keyset on id (no OFFSET: as fast on page 1,000 as on page 1)."""
    conditions = audit_conditions(filters)
    if after is not None:
        query = audit_rows([*conditions, AuditEvent.id > after]).order_by(AuditEvent.id).limit(PAGE_SIZE)
        rows = list(reversed(db.session().execute(query).all()))
    else:
        bound = [AuditEvent.id < before] if before is not None else []
        query = audit_rows([*conditions, *bound]).order_by(AuditEvent.id.desc()).limit(PAGE_SIZE)
        rows = list(db.session().execute(query).all())
    if not rows:
        return AuditPage(rows=[], newer=None, older=None)
    first, last = rows[0][0].id, rows[-1][0].id
    return AuditPage(
        rows=rows,
        newer=first if _exists([*conditions, AuditEvent.id > first]) else None,
        older=last if _exists([*conditions, AuditEvent.id < last]) else None,
    )


def export_audit_log(filters: dict[str, str]) -> Iterator[str]:
    """Record the download, then the filtered log as CSV lines, newest first, a batch at a time."""
    with db.get_db().transaction() as s:
        audit.record(s, "audit_export", detail={"filters": filters})
    query = audit_rows(audit_conditions(filters)).order_by(AuditEvent.id.desc())

    def rows() -> Iterator[tuple]:
        """One tuple of cells per audit row."""
        for event, target_email in db.session().execute(query.execution_options(yield_per=500)):
            yield (
                event.id,
                event.at.strftime("%Y-%m-%d %H:%M:%S"),
                event.actor,
                event.action,
                audit.ACTIONS.get(event.action, event.action),
                event.reference,
                target_email,
                event.ip,
                json.dumps(event.detail, sort_keys=True) if event.detail else "",
            )

    return stream_with_context(csv_chunks(CSV_HEADER, rows()))


def _filters_or_400() -> dict[str, str]:
    """The audit filters from the query string; 400 if they are not ones the page offers."""
    form = AuditFilterForm(request.args)
    if not form.validate():
        abort(400)
    return form.chosen()


@bp.get("/audit")
@admin_required
def audit_log() -> Any:
    """Who did what, newest first, with filters and keyset paging."""
    form = AuditFilterForm(request.args)
    if not form.validate():
        return render_template("review/audit.html", form=form, filters={}, page=None, actions=audit.ACTIONS), 400
    filters = form.chosen()
    page = audit_page(filters, before=request.args.get("before", type=int), after=request.args.get("after", type=int))
    return render_template("review/audit.html", form=form, filters=filters, page=page, actions=audit.ACTIONS)


@bp.get("/audit.csv")
@admin_required
@same_origin_only
def audit_csv() -> Response:
    """The filtered audit log as a CSV download (the download itself is audited)."""
    filters = _filters_or_400()
    stamp = accounts.now().strftime("%Y%m%d-%H%M")
    return Response(
        export_audit_log(filters),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="audit-log-{stamp}.csv"'},
    )
