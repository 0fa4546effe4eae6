"""`flask --app screening outbox ...`: run the relay, send what is due, list, retry."""

from __future__ import annotations

import logging
import signal
import threading

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from .. import clock, db
from ..models import OutboxMessage
from . import admin, relay

outbox_group = AppGroup("outbox", help="Alerts and webhooks: the relay that sends them, and its queue.")


@outbox_group.command("run")
@click.option("--interval", type=float, default=None, help="Seconds between passes (default OUTBOX_INTERVAL_SECONDS).")
@with_appcontext
def run_command(interval: float | None) -> None:
    """Send due messages for ever, a pass every few seconds (make serve starts it)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    seconds = interval if interval is not None else float(current_app.config["OUTBOX_INTERVAL_SECONDS"])
    if seconds <= 0:
        raise click.BadParameter("must be more than 0", param_hint="--interval")
    click.echo(f"Outbox relay: a pass every {seconds:g} s. Stop with Ctrl+C.")
    stopping = threading.Event()
    # SIGTERM (systemd, make serve) and Ctrl+C: finish the message in hand, then stop.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    relay.run_forever(current_app._get_current_object(), seconds, stopping)  # type: ignore[attr-defined]
    click.echo("Outbox relay stopped.")


@outbox_group.command("send-due")
@with_appcontext
def send_due_command() -> None:
    """One pass: queue escalations, reminders and aftercare checks, send every due message, then stop (for cron)."""
    result = relay.run_pass()
    click.echo(
        f"Sent {result.sent}, failed {result.failed} (will retry), dead {result.dead}, escalated {result.escalated}"
        f", dropped {result.dropped}, reminders and aftercare checks queued {result.scheduled}."
    )


@outbox_group.command("list")
@click.option("--failed", is_flag=True, help="Only messages that failed or died.")
@click.option("--limit", type=click.IntRange(1, 10000), default=50, show_default=True)
@with_appcontext
def list_command(failed: bool, limit: int) -> None:
    """The newest messages: id, status, attempts, event, channel, recipient, reference, error."""
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if failed:
        query = query.where(OutboxMessage.status.in_(("failed", "dead")))
    for m in db.session().scalars(query):
        click.echo(
            f"{m.id}\t{m.status}\t{m.attempts}\t{m.event}\t{m.channel}\t{m.target}\t{m.reference or '-'}\t"
            f"{m.created_at:%Y-%m-%d %H:%M}Z\t{m.last_error or ''}"
        )


@outbox_group.command("retry")
@click.argument("message_id", type=int)
@with_appcontext
def retry_command(message_id: int) -> None:
    """Send a failed or dead message again at the next pass."""
    problem = admin.retry(message_id, actor="command line")
    if problem:
        raise click.ClickException(problem)
    click.echo(f"Message {message_id} will be sent at the next pass ({clock.now():%H:%M:%S} UTC).")
