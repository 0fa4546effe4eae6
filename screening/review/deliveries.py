"""Admins: the alert deliveries page (/review/alerts): every message the outbox sent or
is trying to send, the failures, a retry button, and endpoints switched off after 410.

Also the banner the queue (and any clinicians' page) shows while an urgent alert has not
got through: `templates/review/_alert_banner.html`, fed by the `failed_urgent_alerts`
template function registered here.
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from .. import audit, db, outbox
from ..models import OutboxDisabledTarget, OutboxMessage
from ..outbox import admin as outbox_admin
from .accounts import admin_required
from .blueprint import ActionForm, bp

PAGE_SIZE = 100
STATUSES = {
    "pending": "Waiting to send",
    "sending": "Sending",
    "sent": "Sent",
    "failed": "Failed, will retry",
    "dead": "Gave up",
    "dropped": "Not needed any more (a reminder after the screening was sent)",
}


@bp.app_template_global("failed_urgent_alerts")
def failed_urgent_alerts() -> int:
    """How many urgent alerts have not got through (0 when none): for the banner."""
    return outbox.failed_urgent_alerts()


@bp.get("/alerts")
@admin_required
def deliveries() -> str:
    """The newest messages (or only failures), with a retry button on each failure."""
    only_failed = request.args.get("show") == "failed"
    before = request.args.get("before", type=int)
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(PAGE_SIZE + 1)
    if only_failed:
        query = query.where(OutboxMessage.status.in_(("failed", "dead")))
    if before:
        query = query.where(OutboxMessage.id < before)
    rows = list(db.session().scalars(query))
    older = rows[PAGE_SIZE - 1].id if len(rows) > PAGE_SIZE else None
    disabled = list(db.session().scalars(select(OutboxDisabledTarget).order_by(OutboxDisabledTarget.disabled_at)))
    with db.get_db().transaction() as s:
        audit.record(s, "view_deliveries", detail={"failed_only": only_failed})
    config = current_app.config
    return render_template(
        "review/deliveries.html",
        messages=rows[:PAGE_SIZE],
        older=older,
        only_failed=only_failed,
        statuses=STATUSES,
        disabled=disabled,
        email_ready=bool(config.get("SMTP_HOST") and config.get("ALERT_FROM")),
        recipients=len(config["ALERT_EMAIL_TO"]),
        escalation=len(config["ALERT_ESCALATE_EMAIL_TO"]),
        escalate_minutes=config["ALERT_ESCALATE_MINUTES"],
        webhooks=len(config["ALERT_WEBHOOKS"]),
    )


@bp.post("/alerts/<int:message_id>/retry")
@admin_required
def retry_delivery(message_id: int) -> Response:
    """Send a failed or dead message again at the relay's next pass (audited)."""
    if not ActionForm().validate_on_submit():
        abort(400)
    problem = outbox_admin.retry(message_id)
    if problem:
        flash(problem[0].upper() + problem[1:] + ".")
    else:
        flash(f"Message {message_id} will be sent again at the relay's next pass.")
    return redirect(url_for("review.deliveries", show=request.args.get("show") or None))


@bp.post("/alerts/endpoints/<channel>/<target>/enable")
@admin_required
def enable_endpoint(channel: str, target: str) -> Response:
    """Switch a webhook that answered 410 Gone back on (audited)."""
    if not ActionForm().validate_on_submit():
        abort(400)
    if outbox_admin.enable(channel, target):
        flash(f"{target} is on again: new messages will go to it.")
    return redirect(url_for("review.deliveries"))
