"""What the clinicians' pages show about the outbox: urgent alerts that have not got through."""

from __future__ import annotations

import datetime as dt

from flask import current_app
from sqlalchemy import func, or_, select, true

from .. import clock, db
from ..models import OutboxMessage, Submission

# Every status but `sent` (see models.OutboxMessage.status).
NOT_SENT = ("pending", "sending", "failed", "dead", "dropped")


def failed_urgent_alerts() -> int:
    """How many urgent alerts about submissions still unreviewed have failed, died, or sat
    unsent longer than a relay's lock (no relay running?). The queue's banner shows while
    this is above zero."""
    now = clock.now()
    stale = now - dt.timedelta(seconds=current_app.config["OUTBOX_LOCK_SECONDS"])
    still_new = (
        select(Submission.id)
        .where(Submission.reference == OutboxMessage.reference, Submission.review_state == "new")
        .exists()
    )
    query = select(func.count()).where(
        # Equality and a list of statuses, so that both databases read ix_outbox_urgent
        # rather than every message ever sent.
        OutboxMessage.urgent == true(),
        OutboxMessage.status.in_(NOT_SENT),
        or_(OutboxMessage.status.in_(("failed", "dead")), OutboxMessage.next_attempt_at < stale),
        or_(OutboxMessage.reference.is_(None), still_new),
    )
    return db.session().scalar(query) or 0
