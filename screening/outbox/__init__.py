"""The outbox: every alert, webhook call and text the app sends, queued as a row in the
same transaction as the event that causes it, then sent by a relay process.

- `events`: what happened (an urgent submission, a new one, one still unreviewed, a
  personal link stopped after too many wrong dates of birth) and who is told;
  `enqueue` is how any event (a reminder, an aftercare check) adds its messages. Each
  row has a unique key per event, channel and recipient, so an event is never queued
  twice, and a crash after the commit loses nothing.
- `channels`: email over SMTP, webhooks signed the Standard Webhooks way, SMS through a
  webhook to the clinic's own provider.
- `relay`: claims due rows (FOR UPDATE SKIP LOCKED on PostgreSQL, BEGIN IMMEDIATE on
  SQLite), sends them, retries with back-off and jitter, marks them dead after the last
  try, and audits every send and failure.
- `commands`: `flask outbox run | send-due | list | retry`.

Nothing clinical leaves the app: a message says which clinic, what happened, the
reference, a link that needs sign-in and the time (see `content`).
"""

from __future__ import annotations

from .events import enqueue, link_revoked, submission_saved
from .status import failed_urgent_alerts

__all__ = ["enqueue", "failed_urgent_alerts", "link_revoked", "submission_saved"]
