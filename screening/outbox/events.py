"""Events and who hears of them: each writes its messages into the outbox in the
caller's transaction (so they commit, or not, with the event itself).

Add an event (a reminder, an aftercare check) by calling `enqueue` once per channel and
recipient with a `key` that names the event uniquely, e.g. `reminder-48h:<visit id>`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from flask import current_app, has_request_context, request
from sqlalchemy import exists, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from .. import clock
from ..models import Base, OutboxMessage, Submission
from . import content

CHANNELS = ("email", "webhook", "sms")
EVENTS = (
    "submission.urgent",
    "submission.created",
    "alert.unreviewed",
    "visit.reminder",
    "visit.aftercare",
    "visit.link_revoked",
)
# How far back the relay looks for urgent submissions to escalate.
ESCALATION_WINDOW = dt.timedelta(days=7)


def new_event_id() -> str:
    """One id per event, shared by its messages (a webhook's `webhook-id`)."""
    return uuid.uuid4().hex


def enqueue(
    s: Session,
    *,
    event: str,
    key: str,
    channel: str,
    target: str,
    payload: dict[str, Any],
    event_id: str,
    reference: str | None = None,
    urgent: bool = False,
) -> None:
    """Queue one message in `s`'s transaction; a second call for the same event, channel
    and target does nothing (the unique `dedupe_key`)."""
    insert_rows(s, [message_row(event, key, channel, target, payload, event_id, reference, urgent)])


def message_row(
    event: str,
    key: str,
    channel: str,
    target: str,
    payload: dict[str, Any],
    event_id: str,
    reference: str | None = None,
    urgent: bool = False,
) -> dict[str, Any]:
    """One outbox row's values, due now."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    now = clock.now()
    return {
        "event_id": event_id,
        "event": event,
        "channel": channel,
        "target": target,
        "dedupe_key": f"{event}:{key}:{channel}:{target}"[:400],
        "reference": reference,
        "urgent": urgent,
        "payload": payload,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


def insert_rows(s: Session, rows: list[dict[str, Any]]) -> None:
    """Insert outbox rows in one statement, skipping any whose dedupe_key is already queued."""
    if not rows:
        return
    insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(Base.metadata.tables["outbox"]).on_conflict_do_nothing(index_elements=["dedupe_key"])
    s.connection().execute(statement, rows)


def webhooks_for(event: str) -> list[dict[str, Any]]:
    """The configured endpoints that asked for this event."""
    return [hook for hook in current_app.config["ALERT_WEBHOOKS"] if event in hook.get("events", ())]


def record_url(reference: str) -> str | None:
    """The record page's address (sign-in required); None without a trusted address."""
    return staff_url(f"/review/submissions/{reference}")


def staff_url(path: str) -> str | None:
    """A clinicians' page's address (sign-in required), from PUBLIC_URL.

    Never from the request's Host header unless Flask's TRUSTED_HOSTS checks it: a
    patient's request could name any host, and the link would lead a clinician there.
    Without either, messages give the reference alone.
    """
    base = current_app.config.get("PUBLIC_URL")
    if not base and has_request_context() and current_app.config.get("TRUSTED_HOSTS"):
        base = request.host_url
    return f"{base.rstrip('/')}{path}" if base else None


def queue_event(
    s: Session, event: str, submission: Submission, emails: list[str], url: str | None, urgent: bool
) -> int:
    """Queue `event` about `submission` for these email addresses and every subscribed
    webhook; returns how many messages were asked for."""
    rows = event_rows(event, submission, emails, url, urgent)
    insert_rows(s, rows)
    return len(rows)


def event_rows(
    event: str, submission: Submission, emails: list[str], url: str | None, urgent: bool
) -> list[dict[str, Any]]:
    """The outbox rows of `event` about `submission`: one per email address and per
    subscribed webhook.

    Only the facts a message may carry are stored (content.Facts); the relay words them
    when it sends, so Send itself does no more than one INSERT.
    """
    hooks = webhooks_for(event)
    if not emails and not hooks:
        return []
    at = submission.created_at or clock.now()
    form = "aftercare check" if submission.questionnaire_id == "aftercare" else None
    facts = content.facts_payload(event, submission.reference, url, at, submission.outcome, form)
    event_id = new_event_id()
    key, reference = str(submission.id), submission.reference
    rows = [message_row(event, key, "email", address, facts, event_id, reference, urgent) for address in emails]
    for hook in hooks:
        channel = "sms" if hook.get("sms") else "webhook"
        rows.append(message_row(event, key, channel, hook["name"], facts, event_id, reference, urgent))
    return rows


def submission_saved(s: Session, submission: Submission) -> None:
    """The hook where a submission is saved (same transaction): an urgent one alerts the
    clinic at once, and any one goes to the webhooks that asked for `submission.created`."""
    config = current_app.config
    url = None
    if submission.outcome == "urgent" or webhooks_for("submission.created"):
        url = record_url(submission.reference)
    rows = []
    if submission.outcome == "urgent":
        rows += event_rows("submission.urgent", submission, list(config["ALERT_EMAIL_TO"]), url, urgent=True)
    rows += event_rows("submission.created", submission, [], url, urgent=False)
    insert_rows(s, rows)  # one statement for both events


def link_revoked(s: Session, link_id: int, visit_id: int, purpose: str) -> None:
    """The hook where a visit's personal link is revoked after too many wrong dates of
    birth (same transaction): the clinic is told, so that someone checks with the patient
    and sends a new link; the patient sees only that the link no longer works. Once per
    link (its id is the key). The message names the visit (its number and its page),
    never the patient."""
    event = "visit.link_revoked"
    emails = list(current_app.config["ALERT_EMAIL_TO"])
    hooks = webhooks_for(event)
    if not emails and not hooks:
        return
    form = "aftercare check" if purpose == "aftercare" else None
    url = staff_url(f"/review/visits?visit={visit_id}")
    facts = content.facts_payload(event, None, url, clock.now(), form=form, visit=visit_id)
    event_id, key = new_event_id(), f"link-{link_id}"
    rows = [message_row(event, key, "email", address, facts, event_id) for address in emails]
    for hook in hooks:
        channel = "sms" if hook.get("sms") else "webhook"
        rows.append(message_row(event, key, channel, hook["name"], facts, event_id))
    insert_rows(s, rows)


def escalate_unreviewed(s: Session) -> int:
    """Queue `alert.unreviewed` for every urgent submission still new after
    ALERT_ESCALATE_MINUTES (once each: the unique key); returns how many submissions."""
    config = current_app.config
    emails = list(config["ALERT_ESCALATE_EMAIL_TO"])
    if not emails and not webhooks_for("alert.unreviewed"):
        return 0
    now = clock.now()
    cutoff = now - dt.timedelta(minutes=config["ALERT_ESCALATE_MINUTES"])
    already = exists().where(OutboxMessage.event == "alert.unreviewed", OutboxMessage.reference == Submission.reference)
    due = s.scalars(
        select(Submission)
        .where(
            Submission.outcome == "urgent",
            Submission.review_state == "new",
            Submission.created_at <= cutoff,
            Submission.created_at > now - ESCALATION_WINDOW,
            ~already,
        )
        .order_by(Submission.created_at)
        .limit(100)
    ).all()
    for submission in due:
        first = s.scalars(
            select(OutboxMessage.payload).where(
                OutboxMessage.reference == submission.reference, OutboxMessage.event == "submission.urgent"
            )
        ).first()
        url = _url_in(first) or record_url(submission.reference)
        queue_event(s, "alert.unreviewed", submission, emails, url, urgent=True)
    return len(due)


def _url_in(payload: dict[str, Any] | None) -> str | None:
    """The sign-in link an earlier message about the same submission carried."""
    return (payload or {}).get("facts", {}).get("url")
