"""The relay: claims due messages, sends them, and records what happened.

Several relays may run at once (two `outbox run`, a cron `send-due`): a message is
claimed in a short write transaction, with SELECT ... FOR UPDATE SKIP LOCKED on
PostgreSQL (relays skip each other's rows) and under SQLite's BEGIN IMMEDIATE (one
claim at a time), and marked `sending` with `locked_until`. A relay that dies while
sending leaves the lock to expire; the message is then claimed again (at least once:
a receiver may see it twice, with the same webhook-id, and drops the repeat).
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from flask import Flask, current_app
from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from .. import audit, clinic, clock, db
from ..models import OutboxDisabledTarget, OutboxMessage
from . import channels, content, events, schedule

log = logging.getLogger(__name__)
ACTOR = "outbox relay"
JITTER = 0.10


@dataclass
class PassResult:
    """What one pass did."""

    escalated: int = 0
    scheduled: int = 0  # reminders and aftercare checks queued
    sent: int = 0
    dropped: int = 0  # reminders no longer wanted (the screening was sent meanwhile)
    failed: int = 0
    dead: int = 0
    claimed: list[int] = field(default_factory=list)


def next_delay(attempts: int, schedule: list[int], rng: Callable[[], float] = random.random) -> float | None:
    """Seconds to wait after the `attempts`-th failed try (None: that was the last), ±10%."""
    if attempts > len(schedule):
        return None
    base = schedule[attempts - 1]
    return base * (1 - JITTER + 2 * JITTER * rng())


def due_condition(now: dt.datetime) -> Any:
    """Rows to send now: waiting and due, or claimed by a relay whose lock ran out."""
    return or_(
        (OutboxMessage.status.in_(("pending", "failed"))) & (OutboxMessage.next_attempt_at <= now),
        (OutboxMessage.status == "sending") & (OutboxMessage.locked_until <= now),
    )


def claim(limit: int) -> list[OutboxMessage]:
    """Take up to `limit` due messages for this relay (status `sending`, attempts + 1)."""
    now = clock.now()
    lock = dt.timedelta(seconds=max(current_app.config["OUTBOX_LOCK_SECONDS"], 4 * _longest_try()))
    with db.get_db().transaction() as s:
        rows = list(
            s.scalars(
                select(OutboxMessage)
                .where(due_condition(now))
                .order_by(OutboxMessage.urgent.desc(), OutboxMessage.next_attempt_at, OutboxMessage.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        for row in rows:
            row.status = "sending"
            row.attempts += 1
            row.locked_until = now + lock
    return rows


def _finish(message: OutboxMessage, values: dict[str, Any], action: str, detail: dict[str, Any]) -> None:
    """Record a message's result and its audit row together."""
    with db.get_db().transaction() as s:
        s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message.id, OutboxMessage.status == "sending")
            .values(**values)
        )
        audit.record(
            s,
            action,
            reference=message.reference,
            actor=ACTOR,
            detail={
                "message": message.id,
                "event": message.event,
                "channel": message.channel,
                "to": message.target,
                "attempt": message.attempts,
            }
            | detail,
        )


class Clients:
    """The relay's HTTP client, made on first use (loading the CA bundle takes a while)
    and kept for every pass of a long-running relay."""

    def __init__(self) -> None:
        self._client: httpx.Client | None = None

    def get(self) -> httpx.Client:
        if self._client is None:
            self._client = channels.http_client(current_app.config)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def deliver(message: OutboxMessage, clients: Clients) -> str:
    """Send one claimed message and record the result: sent, failed (will retry) or dead."""
    config = current_app.config
    if message.channel != "email" and _is_disabled(message):
        error = f"{message.target}: endpoint disabled (it answered 410 Gone)"
        values = {"status": "dead", "locked_until": None, "last_error": error}
        _finish(message, values, "alert_dead", {"error": error})
        return "dead"
    minted: int | None = None
    try:
        here = clinic.current()
        to = None
        if schedule.is_patient_message(message):
            # A reminder or aftercare check: still wanted? Its link is minted only now.
            outgoing = schedule.prepare(message, ACTOR)
            if isinstance(outgoing, str):
                values = {"status": "dropped", "locked_until": None, "last_error": f"not sent: {outgoing}"}
                _finish(message, values, "message_dropped", {"why": outgoing})
                return "dropped"
            payload, to, minted = outgoing.payload, outgoing.to, outgoing.link_id
        else:
            payload = content.worded(message.channel, message.payload, here.name, here.zone)
        if message.channel == "email":
            channels.send_email(message, payload, config, to=to)
        else:
            channels.send_webhook(message, payload, config, clients.get())
    except channels.SendFailed as exc:
        _unmint(minted)
        return _failed(message, str(exc), exc)
    except Exception as exc:  # a bug or a library surprise must not stop the relay
        log.exception("outbox message %s", message.id)
        _unmint(minted)
        return _failed(message, f"{type(exc).__name__}: {exc}"[:400], None)
    now = clock.now()
    _finish(message, {"status": "sent", "sent_at": now, "locked_until": None, "last_error": None}, "alert_sent", {})
    return "sent"


def _unmint(link_id: int | None) -> None:
    """A patient message that did not go: stop the link minted for it."""
    if link_id is not None:
        try:
            schedule.revoke_link(link_id)
        except Exception:
            log.exception("could not revoke link %s", link_id)


def _failed(message: OutboxMessage, error: str, exc: channels.SendFailed | None) -> str:
    """A failed try: schedule the next, or give up (dead) after the last or on 410."""
    now = clock.now()
    if exc is not None and exc.gone:
        _disable(message, error)
        _finish(message, {"status": "dead", "locked_until": None, "last_error": error}, "alert_dead", {"error": error})
        return "dead"
    delay = next_delay(message.attempts, list(current_app.config["OUTBOX_RETRY_SECONDS"]))
    if delay is None:
        _finish(message, {"status": "dead", "locked_until": None, "last_error": error}, "alert_dead", {"error": error})
        return "dead"
    if exc is not None and exc.retry_after:
        delay = max(delay, min(exc.retry_after, 86400))
    values = {
        "status": "failed",
        "locked_until": None,
        "last_error": error,
        "next_attempt_at": now + dt.timedelta(seconds=delay),
    }
    _finish(message, values, "alert_failed", {"error": error, "retry_in_s": round(delay)})
    return "failed"


def _is_disabled(message: OutboxMessage) -> bool:
    """Whether the message's endpoint was switched off (410 Gone) since it was queued."""
    with db.get_db().sessions() as s:
        return s.get(OutboxDisabledTarget, (message.channel, message.target)) is not None


def _disable(message: OutboxMessage, error: str) -> None:
    """An endpoint answered 410 Gone: switch it off (audited), and drop its waiting messages."""
    with db.get_db().transaction() as s:
        insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
        s.execute(
            insert(OutboxDisabledTarget)
            .values(channel=message.channel, target=message.target, disabled_at=clock.now(), reason=error[:200])
            .on_conflict_do_nothing()
        )
        s.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.channel == message.channel,
                OutboxMessage.target == message.target,
                OutboxMessage.status.in_(("pending", "failed")),
            )
            .values(status="dead", last_error="endpoint disabled (410 Gone)")
        )
        detail = {"channel": message.channel, "endpoint": message.target}
        audit.record(s, "webhook_disabled", actor=ACTOR, detail=detail)


def _longest_try() -> float:
    """Seconds one try can take at worst (a slow server answering just inside each timeout)."""
    config = current_app.config
    return 2 * max(float(config["SMTP_TIMEOUT_SECONDS"]), float(config["WEBHOOK_TIMEOUT_SECONDS"]))


def _time_left(message: OutboxMessage) -> bool:
    """Whether this relay's claim on the message outlasts one more try at its slowest."""
    margin = dt.timedelta(seconds=_longest_try())
    return message.locked_until is not None and clock.now() + margin < message.locked_until


def _release(ids: list[int]) -> None:
    """Hand claimed messages back unsent: due again at once (the try is not counted)."""
    with db.get_db().transaction() as s:
        s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.status == "sending")
            .values(locked_until=clock.now(), attempts=OutboxMessage.attempts - 1)
        )


def escalate() -> int:
    """Queue escalations for urgent submissions still unreviewed (once each)."""
    with db.get_db().transaction() as s:
        return events.escalate_unreviewed(s)


def run_pass(limit: int | None = None, clients: Clients | None = None) -> PassResult:
    """One pass: escalations, then every due message (in batches) until none is left."""
    result = PassResult(escalated=escalate(), scheduled=schedule.queue())
    limit = limit or current_app.config["OUTBOX_BATCH_SIZE"]
    own = clients is None
    clients = clients or Clients()
    try:
        while True:
            batch = claim(limit)
            for n, message in enumerate(batch):
                if not _time_left(message):
                    # Slow receivers used up the claim: hand the rest back at once rather
                    # than send after another relay may have taken them.
                    _release([m.id for m in batch[n:]])
                    return result
                outcome = deliver(message, clients)
                setattr(result, outcome, getattr(result, outcome) + 1)
                result.claimed.append(message.id)
            if len(batch) < limit:
                break
    finally:
        if own:
            clients.close()
    return result


def run_forever(app: Flask, interval: float, stopping: threading.Event | None = None) -> None:
    """`outbox run`: a pass every `interval` seconds until `stopping` is set (the message
    being sent is finished first); a database or network error is logged and the next
    pass tries again."""
    stopping = stopping or threading.Event()
    clients = Clients()
    while not stopping.is_set():
        try:
            with app.app_context():
                result = run_pass(clients=clients)
            if result.claimed or result.escalated or result.scheduled:
                log.info(
                    "outbox: %s sent, %s failed, %s dead, %s dropped, %s escalated, %s reminders queued",
                    result.sent,
                    result.failed,
                    result.dead,
                    result.dropped,
                    result.escalated,
                    result.scheduled,
                )
        except Exception:
            log.exception("outbox relay pass failed; trying again in %s s", interval)
        stopping.wait(interval)
    clients.close()
