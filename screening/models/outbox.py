"""The outbox: messages (emails, webhook calls, texts) waiting to be sent by the relay,
and the webhook endpoints that asked for nothing more to be sent (migration 0009)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, JSONType, UTCDateTime, utcnow


class OutboxMessage(Base):
    """One message to send (an email, a webhook call, a text), queued in the same
    transaction as the event that causes it and sent by the relay (screening/outbox/).

    `dedupe_key` is unique per event, channel and recipient, so an event can never be
    queued twice. `payload` holds only what may leave the app: no patient details.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    # One id per event, shared by its messages; sent as `webhook-id`, the same on every retry.
    event_id: Mapped[str] = mapped_column(String(32))
    event: Mapped[str] = mapped_column(String(40))  # submission.urgent, submission.created, ...
    channel: Mapped[str] = mapped_column(String(16))  # email | webhook | sms
    target: Mapped[str] = mapped_column(String(254))  # an address, or a configured endpoint's name
    dedupe_key: Mapped[str] = mapped_column(String(400), unique=True)
    reference: Mapped[str | None] = mapped_column(String(16), index=True)  # the submission, if any
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    payload: Mapped[dict] = mapped_column(JSONType, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|sending|sent|failed|dead|dropped
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        # The relay's claim: due rows by status and time.
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_created", "created_at", "id"),
        # The failed-alert banner's count, on every queue and Today view (migration 0012).
        Index("ix_outbox_urgent", "urgent", "status", "next_attempt_at"),
    )


class OutboxDisabledTarget(Base):
    """A webhook endpoint that answered 410 Gone: nothing more is sent to it until an
    admin enables it again on the deliveries page."""

    __tablename__ = "outbox_disabled_targets"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    target: Mapped[str] = mapped_column(String(254), primary_key=True)
    disabled_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    reason: Mapped[str] = mapped_column(String(200), default="")
