"""CSV export of the filtered queue, from the browser and from the command line.

Rows are read in keyset batches, each in its own short read session, and written as
they are read, so a million rows take the memory of one batch and hold no long
transaction open. The export covers what was submitted before it began, so the row
count in its audit record matches the file even while patients keep submitting (a
review or erasure during a state-filtered export can still move a row in or out).
"""

from __future__ import annotations

import csv
import datetime as dt
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from typing import Any, TextIO

import click
from flask import Response, current_app, request, stream_with_context
from werkzeug.datastructures import MultiDict

from .. import audit, db
from ..db import Database
from ..models import Submission
from ..questionnaire import Question
from .blueprint import bp
from .csvstream import safe_cell
from .queries import Cursor, Filters, count, walk
from .queue import QueueFilters, render_queue

BATCH_SIZE = 1000  # rows per keyset query; app.config["EXPORT_BATCH_SIZE"] overrides
FIXED_COLUMNS = ("reference", "submitted_at", "outcome", "review_state", "review_outcome", "flags")

EXPORT_COLUMNS = (
    Submission.id,
    Submission.outcome_rank,
    Submission.created_at,
    Submission.reference,
    Submission.outcome,
    Submission.review_state,
    Submission.review_outcome,
    Submission.flags,
    Submission.answers,
    Submission.derived,
)


class _Line:
    """A file-like target for csv.writer that hands back each line instead of storing it."""

    def write(self, line: str) -> str:
        """Return the line csv.writer formatted."""
        return line


def header(questions: Sequence[Question]) -> list[str]:
    """The column names: the fixed ones, each current question's id, then derived_age."""
    return [*FIXED_COLUMNS, *(q.id for q in questions), "derived_age"]


def row_cells(row: Any, question_ids: Sequence[str]) -> list[str]:
    """One submission's cells, in header order."""
    answers = row.answers or {}
    flags = "; ".join(f"{f.get('id')}:{f.get('level')}" for f in row.flags or [])
    values = [
        row.reference,
        row.created_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        row.outcome,
        row.review_state,
        row.review_outcome,
        flags,
        *[answers.get(qid) for qid in question_ids],
        (row.derived or {}).get("age"),
    ]
    return [safe_cell(value) for value in values]


def rows_of(database: Database, filters: Filters, batch_size: int) -> Iterator[Any]:
    """Every matching row in queue order, read in keyset batches with a fresh session each."""
    after: Cursor | None = None
    while True:
        with database.sessions() as s:
            batch = walk(s, filters, after, batch_size, EXPORT_COLUMNS)
        yield from batch
        if len(batch) < batch_size:
            return
        after = Cursor.after(batch[-1])


def csv_lines(rows: Iterable[Any], questions: Sequence[Question]) -> Iterator[str]:
    """The CSV text, a line at a time (header first)."""
    writer = csv.writer(_Line())
    yield writer.writerow(header(questions))
    question_ids = [q.id for q in questions]
    for row in rows:
        yield writer.writerow(row_cells(row, question_ids))


def begin_export(filters: Filters, actor: str | None = None) -> Filters:
    """Fix the export's end time, count its rows and write its one audit record."""
    filters = replace(filters, until=dt.datetime.now(dt.UTC))
    with db.get_db().sessions() as s:
        rows = count(s, filters)
    with db.get_db().transaction() as s:
        detail = {"filters": filters.audit_detail(), "until": filters.until.isoformat(), "rows": rows}
        audit.record(s, "export", actor=actor, detail=detail)
    return filters


def export_batch_size() -> int:
    """Rows per keyset query."""
    return current_app.config.get("EXPORT_BATCH_SIZE", BATCH_SIZE)


def current_questions() -> list[Question]:
    """The questions of the questionnaire the app runs now, in the order asked."""
    return list(current_app.extensions["screening.questionnaire"].questions.values())


@bp.get("/export.csv")
def export_csv() -> Any:
    """The filtered queue (every page) as a CSV download."""
    form = QueueFilters(request.args)
    if not form.validate():
        return render_queue(form, None)
    filters = begin_export(form.filters())
    lines = csv_lines(rows_of(db.get_db(), filters, export_batch_size()), current_questions())
    response = Response(stream_with_context(lines), mimetype="text/csv")
    response.headers["Content-Disposition"] = (
        f"attachment; filename=screening-export-{dt.datetime.now(dt.UTC):%Y%m%d}.csv"
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.cli.command("export")
@click.option("--outcome", help="urgent, not_suitable, review or suitable.")
@click.option("--state", help="new, reviewed or erased (default: new and reviewed).")
@click.option("--from", "start", metavar="YYYY-MM-DD", help="Submitted on or after this day (UTC).")
@click.option("--to", "end", metavar="YYYY-MM-DD", help="Submitted on or before this day (UTC).")
@click.option("--output", type=click.Path(dir_okay=False, writable=True), help="Write here instead of to stdout.")
def export_command(
    outcome: str | None, state: str | None, start: str | None, end: str | None, output: str | None
) -> None:
    """Export submissions as CSV, with the same filters and columns as the web export."""
    given = {"outcome": outcome, "state": state, "from": start, "to": end}
    form = QueueFilters(MultiDict({key: value for key, value in given.items() if value is not None}))
    if not form.validate():
        problems = "; ".join(error for errors in form.errors.values() for error in errors)
        raise click.UsageError(problems)
    # Open the file first: an export that cannot be written is not audited as done.
    with open_output(output) as target:
        filters = begin_export(form.filters(), actor="command line")
        for line in csv_lines(rows_of(db.get_db(), filters, export_batch_size()), current_questions()):
            target.write(line)


def open_output(path: str | None) -> AbstractContextManager[TextIO]:
    """The file to write, or stdout (left open) when there is none or it is '-'."""
    if not path or path == "-":
        return nullcontext(sys.stdout)
    # newline="": the csv module writes its own \r\n line ends.
    return open(path, "w", encoding="utf-8", newline="")
