"""Keeping health data no longer than needed: erasing one submission, purging old ones.

On SQLite, deleted content is overwritten with zeros (`secure_delete`) in the same
transaction, and the write-ahead log is checkpointed afterwards, so the text does not
linger in the database file's free pages. `purge --vacuum` also rebuilds the file and
empties the log, for when nothing at all may remain on disk.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass

import click
from flask import current_app
from sqlalchemy import delete, func, select, text, update
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


def _checkpoint(mode: str = "PASSIVE") -> None:
    """On SQLite, copy the log into the database file (PASSIVE never waits for anyone)."""
    if not db.get_db().is_sqlite:
        return
    # Outside any transaction: a checkpoint cannot run inside one.
    connection = db.get_db().engine.raw_connection()
    try:
        connection.cursor().execute(f"PRAGMA wal_checkpoint({mode})")
    finally:
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
        submission.patient_name = None
        submission.name_key = None
        submission.review_state = "erased"
        submission.erased_at = utcnow()
        # Review notes may quote the patient; the draft is empty once sent, but make sure.
        s.execute(delete(Review).where(Review.submission_id == submission.id))
        s.execute(update(Draft).where(Draft.submission_id == submission.id).values(answers={}))
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
