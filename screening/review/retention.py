"""Keeping health data no longer than needed: erasing one submission, purging old ones.

On SQLite, deleted content is overwritten with zeros (`secure_delete`) in the same
transaction, so it does not linger in the database file's free pages. The write-ahead
log is another matter: it still holds the pages as they were *before* the erasure (the
frames written when the patient sent the form), and a plain checkpoint copies the new
pages into the file but leaves the old frames in the log until they happen to be
overwritten. So after an erasure or a purge the log is checkpointed and truncated to
nothing (TRUNCATE), waiting a moment for readers to finish; if one holds on, the next
scheduled purge truncates it. `purge --vacuum` also rebuilds the file.

What an erased submission keeps: its reference (the audit log names it), when it was
sent and erased, the questionnaire version, and its outcome (urgent, not suitable
today, ...), so that the clinic's counts of outcomes stay true. Everything the patient
wrote or that could identify them goes: answers, derived values, flags, the questions
shown, name, urgent advice, review notes and review outcome.

Expired drafts are deleted on a schedule, by the app itself (`schedule_draft_purge`):
after a response has been sent, at most once every DRAFT_PURGE_MINUTES per process.
Any request drives it, `/healthz` probes included, so an idle server behind a load
balancer still purges, and nothing outside the app (cron, a timer unit) can be
forgotten. `flask purge` does the same by hand, with old submissions too.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import click
from flask import Flask, Response, current_app, g, has_app_context
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from .. import audit, db
from ..models import Draft, RateLimitCounter, Review, Submission, utcnow
from .blueprint import bp

# Rows deleted per transaction: small enough that patients' submissions never wait long.
BATCH_SIZE = 500


def _zero_deleted_content(s: Session) -> None:
    """On SQLite, overwrite deleted content with zeros (for this connection, from now on)."""
    if db.get_db().is_sqlite:
        s.execute(text("PRAGMA secure_delete = ON"))


def _checkpoint(mode: str = "TRUNCATE", database: db.Database | None = None) -> bool:
    """On SQLite, copy the log into the database file and (TRUNCATE) empty the log; whether it finished.

    TRUNCATE waits for readers (up to two seconds here, not the usual thirty: an admin's
    erasure should not hang on a long export), then tries twice more.
    """
    database = database or db.get_db()
    if not database.is_sqlite:
        return True
    if has_app_context() and "db_session" in g:
        g.db_session.close()  # this request's own reads would hold the log open (it reopens if used)
    # Outside any transaction: a checkpoint cannot run inside one.
    connection = database.engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute("PRAGMA busy_timeout = 2000")
        for _ in range(3):
            busy, _log, _done = cursor.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
            if not busy:
                return True
        return False
    finally:
        cursor.execute(f"PRAGMA busy_timeout = {int(database.busy_timeout * 1000)}")
        connection.close()


def erase(submission_id: int, reason: str) -> bool:
    """Delete a submission's answers, flags and review notes for good; False if already erased."""
    with db.get_db().transaction() as s:
        _zero_deleted_content(s)
        submission = s.get(Submission, submission_id, with_for_update=True)
        if submission is None or submission.review_state == "erased":
            return False
        submission.answers = {}
        submission.derived = {}
        submission.flags = []
        submission.shown = None
        submission.earlier = None
        submission.patient_name = None
        submission.name_key = None
        submission.urgent_advice = None
        submission.review_outcome = None
        submission.review_state = "erased"
        submission.erased_at = utcnow()
        # Review notes may quote the patient; the draft is empty once sent, but make sure.
        s.execute(delete(Review).where(Review.submission_id == submission.id))
        s.execute(update(Draft).where(Draft.submission_id == submission.id).values(answers={}, patient_name=None))
        # The reason is the admin's own words, kept so the erasure can be accounted for.
        audit.record(s, "erase", reference=submission.reference, detail={"reason": reason})
    _checkpoint()
    return True


@dataclass(frozen=True)
class Purged:
    """How many rows a purge deleted (or would delete)."""

    submissions: int
    drafts: int


def _old_submissions(cutoff: dt.datetime):
    """Submissions made before `cutoff`."""
    return select(Submission.id).where(Submission.created_at < cutoff)


def _expired_drafts(now: dt.datetime):
    """Drafts past their expiry time."""
    return select(Draft.token).where(Draft.expires_at < now)


def count_purgeable(days: int) -> Purged:
    """What a purge of submissions older than `days` days would delete."""
    s = db.session()
    old = _old_submissions(utcnow() - dt.timedelta(days=days)).subquery()
    expired = _expired_drafts(utcnow()).subquery()
    return Purged(
        submissions=s.scalar(select(func.count()).select_from(old)) or 0,
        drafts=s.scalar(select(func.count()).select_from(expired)) or 0,
    )


def _delete_submissions(s: Session, cutoff: dt.datetime, limit: int) -> int:
    """Delete one batch of old submissions with their reviews and drafts; how many went."""
    ids = s.scalars(_old_submissions(cutoff).order_by(Submission.id).limit(limit)).all()
    if ids:
        # Explicit rather than left to ON DELETE: nothing depends on the foreign-key pragma.
        s.execute(delete(Review).where(Review.submission_id.in_(ids)), execution_options={"synchronize_session": False})
        s.execute(delete(Draft).where(Draft.submission_id.in_(ids)), execution_options={"synchronize_session": False})
        s.execute(delete(Submission).where(Submission.id.in_(ids)), execution_options={"synchronize_session": False})
    return len(ids)


def _delete_drafts(s: Session, now: dt.datetime, limit: int) -> int:
    """Delete one batch of expired drafts; how many went."""
    tokens = s.scalars(_expired_drafts(now).limit(limit)).all()
    if tokens:
        s.execute(delete(Draft).where(Draft.token.in_(tokens)), execution_options={"synchronize_session": False})
    return len(tokens)


def _in_batches(step: Callable[[Session, int], int]) -> int:
    """Run `step` in one transaction per batch until a batch comes back short; the total."""
    total = 0
    while True:
        with db.get_db().transaction() as s:
            _zero_deleted_content(s)
            done = step(s, BATCH_SIZE)
        total += done
        if done < BATCH_SIZE:
            return total


def purge(days: int) -> Purged:
    """Delete submissions older than `days` days and expired drafts, then audit it once."""
    cutoff = utcnow() - dt.timedelta(days=days)
    now = utcnow()
    submissions = _in_batches(lambda s, limit: _delete_submissions(s, cutoff, limit))
    drafts = _in_batches(lambda s, limit: _delete_drafts(s, now, limit))
    with db.get_db().transaction() as s:
        # Rate-limit counters whose window has closed hold only addresses: drop them too.
        s.execute(delete(RateLimitCounter).where(RateLimitCounter.expires_at < time.time()))
        detail = {"days": days, "count": submissions, "drafts": drafts, "before": cutoff.isoformat(timespec="seconds")}
        audit.record(s, "purge", actor="command line", detail=detail)
    _checkpoint()
    return Purged(submissions, drafts)


def purge_expired_drafts(database: db.Database) -> int:
    """Delete every expired draft (zeroed on disk, the log emptied); how many went."""
    total = 0
    while True:
        with database.transaction() as s:
            if database.is_sqlite:
                s.execute(text("PRAGMA secure_delete = ON"))
            done = _delete_drafts(s, utcnow(), BATCH_SIZE)
        total += done
        if done < BATCH_SIZE:
            break
    if total:
        _checkpoint(database=database)
    return total


def schedule_draft_purge(app: Flask) -> None:
    """Purge expired drafts after a response is sent, at most once every DRAFT_PURGE_MINUTES per process."""
    state = {"last": time.monotonic()}  # the first one a full interval after start
    lock = threading.Lock()

    def purge_later(response: Response) -> Response:
        interval = app.config["DRAFT_PURGE_MINUTES"] * 60
        now = time.monotonic()
        with lock:  # one request per interval and process takes the turn
            if now - state["last"] < interval:
                return response
            state["last"] = now

        def purge_now() -> None:
            try:
                purge_expired_drafts(db.get_db_of(app))
            except SQLAlchemyError:
                app.logger.exception("Purging expired drafts failed; the next interval tries again")

        response.call_on_close(purge_now)
        return response

    app.after_request(purge_later)


def vacuum() -> None:
    """Rebuild the SQLite file and empty its log, so no deleted text remains on disk."""
    connection = db.get_db().engine.raw_connection()
    try:
        connection.cursor().execute("VACUUM")
    finally:
        connection.close()
    _checkpoint("TRUNCATE")


def retention_days() -> int:
    """RETENTION_DAYS from the configuration; exit 2 with a message if unset or not a number of days."""
    days = current_app.config.get("RETENTION_DAYS")
    if days is None:
        click.echo("Error: give --older-than DAYS, or set RETENTION_DAYS in the configuration.", err=True)
        raise SystemExit(2)
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        click.echo(f"Error: RETENTION_DAYS must be a whole number of days, 1 or more (it is {days!r}).", err=True)
        raise SystemExit(2)
    return days


def _positive_days(_ctx: click.Context, _param: click.Parameter, value: str | None) -> int | None:
    """DAYS as a whole number, 1 or more."""
    if value is None:
        return None
    if not value.strip().isdigit() or int(value) < 1:
        raise click.BadParameter(f"DAYS must be a whole number of days, 1 or more (not {value!r})")
    return int(value)


@bp.cli.command("purge")
@click.option(
    "--older-than",
    "days",
    metavar="DAYS",
    callback=_positive_days,
    help="Delete submissions made more than DAYS days ago (default: RETENTION_DAYS).",
)
@click.option("--dry-run", is_flag=True, help="Only say how many rows would be deleted.")
@click.option(
    "--vacuum",
    "rebuild",
    is_flag=True,
    help="SQLite: afterwards rebuild the file so deleted text is gone from disk too (writers wait meanwhile).",
)
def purge_command(days: int | None, dry_run: bool, rebuild: bool) -> None:
    """Delete old submissions (with their reviews) and expired drafts."""
    days = days or retention_days()
    if dry_run:
        found = count_purgeable(days)
        click.echo(
            f"Would delete {found.submissions} submission(s) older than {days} days "
            f"and {found.drafts} expired draft(s). Nothing was deleted."
        )
        return
    done = purge(days)
    click.echo(f"Deleted {done.submissions} submission(s) older than {days} days and {done.drafts} expired draft(s).")
    if rebuild and db.get_db().is_sqlite:
        vacuum()
        click.echo("Rebuilt the database file.")
    elif rebuild:
        click.echo("--vacuum only applies to SQLite; on PostgreSQL use the server's own maintenance.")
