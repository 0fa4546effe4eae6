"""The audit log: who did what, to which record, when and from where.

`record` is called inside the same transaction as the action it records, so an action
and its audit row are committed together or not at all. The app offers no way to edit
or delete audit rows. Never pass answers, passwords or tokens in `detail`.
"""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy.orm import Session

from .models import AuditEvent, User

ACTIONS = {
    "login": "Signed in",
    "login_failed": "Failed sign-in",
    "logout": "Signed out",
    "view_queue": "Viewed the list of submissions",
    "view_submission": "Viewed a submission",
    "print_submission": "Printed a submission",
    "review": "Reviewed a submission",
    "export": "Exported submissions",
    "erase": "Erased a submission",
    "purge": "Purged old submissions",
    "account_created": "Created an account",
    "account_deactivated": "Deactivated an account",
    "account_reactivated": "Reactivated an account",
    "password_reset": "Reset a password",
    "password_changed": "Changed own password",
    "audit_export": "Downloaded the audit log",
    "fhir_export": "Exported a submission as FHIR",
    "fhir_questionnaire": "Downloaded a questionnaire as FHIR",
}


def record(
    session: Session,
    action: str,
    *,
    reference: str | None = None,
    target: User | None = None,
    detail: dict[str, Any] | None = None,
    user: User | None = None,
    actor: str | None = None,
) -> AuditEvent:
    """Add one audit row to the session's transaction."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    if user is None and has_request_context() and current_user.is_authenticated:
        user = current_user
    event = AuditEvent(
        user_id=user.id if user else None,
        actor=user.email if user else actor,
        action=action,
        reference=reference,
        target_user_id=target.id if target else None,
        ip=request.remote_addr if has_request_context() else "command line",
        detail=detail or {},
    )
    session.add(event)
    return event
