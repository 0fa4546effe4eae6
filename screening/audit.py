"""The audit log: who did what, to which record, when and from where.

`record` is called inside the same transaction as the action it records, so an action
and its audit row are committed together or not at all. The app offers no way to edit
or delete audit rows. Never pass answers, passwords or tokens in `detail`.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, has_request_context, request
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from .models import AuditEvent, User

ACTIONS = {
    "login": "Signed in",
    "login_failed": "Failed sign-in",
    "login_refused": "Sign-in refused (too many attempts)",
    "account_locked": "Account locked after many failed sign-ins",
    "account_unlocked": "Unlocked an account",
    "two_factor_enrolled": "Set up two-factor sign-in",
    "two_factor_reset": "Reset someone's two-factor sign-in",
    "forbidden": "Refused a page (no permission)",
    "csrf_failed": "Refused a form (security token missing or wrong)",
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
    # Visits, personal links and API keys (screening/visits/).
    "visit_added": "Added a visit",
    "visits_imported": "Imported visits from a CSV file",
    "link_issued": "Issued a personal link",
    "link_revoked": "Revoked a personal link",
    "link_identified": "Patient confirmed their date of birth on a personal link",
    "link_identity_failed": "Wrong date of birth on a personal link",
    "link_locked": "Personal link locked after wrong dates of birth",
    "link_refused_locked": "Date of birth refused: the personal link is locked",
    "api_call": "API call",
    "api_refused": "API call refused (key missing, wrong, revoked or without the scope)",
    "api_key_created": "Created an API key",
    "api_key_revoked": "Revoked an API key",
    # The outbox (screening/outbox/): alerts and webhooks.
    "alert_sent": "Sent an alert or webhook",
    "alert_failed": "An alert or webhook failed (will retry)",
    "alert_dead": "Gave up on an alert or webhook",
    "alert_retry": "Asked for an alert or webhook to be sent again",
    "webhook_disabled": "Disabled a webhook (it answered 410 Gone)",
    "webhook_enabled": "Enabled a webhook again",
    "view_deliveries": "Viewed the alert deliveries",
    # Patient reminders and the aftercare check (screening/outbox/schedule.py).
    "message_dropped": "Dropped a patient reminder no longer needed (screening sent, visit cancelled or past)",
    # The clinician's day and a patient's course (they show names and outcomes).
    "view_today": "Viewed the day's visits",
    "view_patient": "Viewed a patient's course",
    "clinic_settings_changed": "Changed the clinic's details",
}


def record_refusal(action: str) -> None:
    """Audit a refused request (a 403, a failed CSRF check) in a transaction of its own.

    Only the path is kept, never the query string (it can hold a patient's name). An
    error page must still show if the database cannot be written, so a failure to
    record is logged, not raised.
    """
    from . import db

    try:
        with db.get_db().transaction() as s:
            record(s, action, detail={"method": request.method, "path": request.path[:200]})
    except SQLAlchemyError:
        current_app.logger.exception("Could not record %s in the audit log", action)


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
