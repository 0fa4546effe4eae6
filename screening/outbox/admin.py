"""What admins do to the outbox (from the deliveries page or the command line): retry a
message, enable an endpoint again. Each is audited."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, delete

from .. import audit, clock, db
from ..models import OutboxDisabledTarget, OutboxMessage


def retry(message_id: int, actor: str | None = None) -> str | None:
    """Make a failed or dead message due now (attempts start again); None, or why not."""
    with db.get_db().transaction() as s:
        message = s.get(OutboxMessage, message_id, with_for_update=True)
        if message is None:
            return f"there is no message {message_id}"
        if message.status not in ("failed", "dead"):
            return f"message {message_id} is {message.status}: only a failed or dead message can be retried"
        s.execute(
            delete(OutboxDisabledTarget).where(
                OutboxDisabledTarget.channel == message.channel, OutboxDisabledTarget.target == message.target
            )
        )
        message.status = "pending"
        message.attempts = 0
        message.next_attempt_at = clock.now()
        message.locked_until = None
        audit.record(
            s,
            "alert_retry",
            reference=message.reference,
            actor=actor,
            detail={"message": message.id, "event": message.event, "channel": message.channel, "to": message.target},
        )
    return None


def enable(channel: str, target: str) -> bool:
    """Switch a disabled endpoint back on; whether it was off."""
    with db.get_db().transaction() as s:
        result = s.execute(
            delete(OutboxDisabledTarget).where(
                OutboxDisabledTarget.channel == channel, OutboxDisabledTarget.target == target
            )
        )
        gone = cast(CursorResult[Any], result).rowcount
        if gone:
            audit.record(s, "webhook_enabled", detail={"channel": channel, "endpoint": target})
    return bool(gone)
