"""CSV export of the filtered queue, from the browser and from the command line.

Rows are read in keyset batches, each in its own short read session, and written as
they are read, so a million rows take the memory of one batch and hold no long
transaction open. The export covers what was submitted before it began, so the row
count in its audit record matches the file even while patients keep submitting (a
review or erasure during a state-filtered export can still move a row in or out).

Columns: the fixed ones, then every question of every questionnaire version that the
exported rows answered (oldest version first, each question once, by id, in the order
asked), then every derived value of those versions as `derived_<name>`. Each row is
read with its own version, so a question added or dropped later is an empty cell, not
a misplaced one.

Codes or words: an answer is written as the record shows it (`display`: "Yes", "1 May
1960", "Lower back, Left leg"), so the two clinician outputs never disagree and a
spreadsheet reads like the record. The fixed columns keep their codes (outcome,
review state and outcome, flags as `id:level`), which are what a clinic filters and
counts on. Derived values are written as stored. A row whose stored questionnaire
cannot be rebuilt (this should never happen) has its answers written raw under the
matching column ids of today's questionnaire.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from typing import Any, TextIO

import click
from flask import Response, current_app, request, stream_with_context
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from .. import audit, clock, db, i18n
from ..db import Database
from ..models import Submission
from ..questionnaire import Definition, Question
from ..questionnaire.vocabulary import stored_flags
from ..versions import current_definition, definition_for
from .blueprint import bp, same_origin_only
from .csvstream import csv_chunks, safe_cell
from .queries import Cursor, Filters, count, versions_in, walk
from .queue import QueueFilters, render_queue
from .record_view import display

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
    Submission.version,
    Submission.language,
)


class Shown:
    """One question's answers as the record shows them (`display`), made CSV-safe, remembered.

    Most answers repeat (yes, no, an option), and a million rows add up: each distinct
    answer is worked out once, up to a few hundred per question; free text past that
    goes straight through `display`.
    """

    __slots__ = ("question", "seen")
    LIMIT = 512

    def __init__(self, question: Question) -> None:
        self.question = question
        self.seen: dict[Any, str] = {}

    def __call__(self, answer: Any) -> str:
        """The answer as text."""
        key = tuple(answer) if type(answer) is list else answer
        try:
            return self.seen[key]
        except KeyError:
            text = safe_cell(display(self.question, answer))
            if len(self.seen) < self.LIMIT:
                self.seen[key] = text
            return text
        except TypeError:  # an unhashable answer: never cached
            return safe_cell(display(self.question, answer))


@dataclass(frozen=True)
class Layout:
    """The export's answer and derived columns, and how each version's rows fill them."""

    question_ids: list[str]
    derived_names: list[str]
    # version -> for each question column: its id, the texts remembered so far and how
    # that version shows an answer (safe_cell alone if it did not ask the question);
    # None for the whole version if it cannot be rebuilt.
    questions: dict[str, list[tuple[str, dict[Any, str], Callable[[Any], str]]] | None]
    # The language each patient answered in, as a `language` column after `flags` (a BCP 47
    # tag): present when patients may answer in more than one language, or did.
    language: str | None = None  # the clinic's language, for rows sent before it was stored

    def header(self) -> list[str]:
        """The column names."""
        fixed = [*FIXED_COLUMNS, "language"] if self.language else list(FIXED_COLUMNS)
        return [*fixed, *self.question_ids, *(f"derived_{name}" for name in self.derived_names)]


def layout(versions: Sequence[str], definitions: dict[str, Definition | None], fallback: Definition) -> Layout:
    """The columns for rows answered on these versions (in this order)."""
    readable: list[Definition] = [d for v in versions if (d := definitions[v]) is not None] or [fallback]
    if any(definitions[v] is None for v in versions):
        readable.append(fallback)  # unreadable rows are written under today's question ids
    question_ids = list(dict.fromkeys(qid for d in readable for qid in d.questions))
    derived_names = list(dict.fromkeys(name for d in readable for name in d.derived))
    questions: dict[str, list[tuple[str, dict[Any, str], Callable[[Any], str]]] | None] = {}
    for v in versions:
        defn = definitions[v]
        if defn is None:
            questions[v] = None
            continue
        asked = defn.questions
        columns: list[tuple[str, dict[Any, str], Callable[[Any], str]]] = []
        for qid in question_ids:
            shown = Shown(asked[qid]) if qid in asked else None
            columns.append((qid, shown.seen, shown) if shown is not None else (qid, {}, safe_cell))
        questions[v] = columns
    return Layout(question_ids, derived_names, questions)


def answer_cells(
    answers: dict[str, Any],
    question_ids: Sequence[str],
    asked: Sequence[tuple[str, dict[Any, str], Callable[[Any], str]]] | None,
) -> list:
    """One row's answer cells: as the record shows them, or raw when its questionnaire is unreadable."""
    get = answers.get
    if asked is None:
        return [safe_cell(get(qid)) for qid in question_ids]
    # A text answer seen before is one dict lookup (most answers: yes, no, an option).
    return [
        "" if (answer := get(qid)) is None else (type(answer) is str and seen.get(answer)) or show(answer)
        for qid, seen, show in asked
    ]


def row_cells(row: Any, columns: Layout) -> list[str]:
    """One submission's cells, in header order, each made safe for a spreadsheet."""
    derived = row.derived or {}
    return [
        safe_cell(row.reference),
        row.created_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        safe_cell(row.outcome),
        safe_cell(row.review_state),
        safe_cell(row.review_outcome),
        safe_cell("; ".join(f"{f.id}:{f.level}" for f in stored_flags(row.flags))),
        *((safe_cell(row.language or columns.language),) if columns.language else ()),
        *answer_cells(row.answers or {}, columns.question_ids, columns.questions.get(row.version)),
        *(safe_cell(derived.get(name)) for name in columns.derived_names),
    ]


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


def csv_lines(rows: Iterable[Any], columns: Layout) -> Iterator[str]:
    """The CSV text, in chunks (header first)."""
    return csv_chunks(columns.header(), (row_cells(row, columns) for row in rows), made_safe=True)


def export_layout(filters: Filters) -> Layout:
    """The columns of an export: the versions its rows answered, oldest first."""
    versions = versions_in(db.session(), filters)
    found = layout(versions, {v: definition_for(v) for v in versions}, current_definition())
    return replace(found, language=current_app.config["DEFAULT_LANGUAGE"]) if languages_used() else found


def languages_used() -> bool:
    """Whether patients may answer in another language than the clinic's, or any did."""
    default = current_app.config["DEFAULT_LANGUAGE"]
    if len(i18n.reviewed_languages(current_definition())) > 1:
        return True
    other = select(Submission.id).where(Submission.language.is_not(None), Submission.language != default)
    return db.session().scalars(other.limit(1)).first() is not None


def begin_export(filters: Filters, actor: str | None = None) -> Filters:
    """Fix the export's end time, count its rows and write its one audit record."""
    until = clock.now()
    filters = replace(filters, until=until)
    with db.get_db().sessions() as s:
        rows = count(s, filters)
    with db.get_db().transaction() as s:
        detail = {"filters": filters.audit_detail(), "until": until.isoformat(), "rows": rows}
        audit.record(s, "export", actor=actor, detail=detail)
    return filters


def export_batch_size() -> int:
    """Rows per keyset query."""
    return current_app.config.get("EXPORT_BATCH_SIZE", BATCH_SIZE)


@bp.get("/export.csv")
@same_origin_only
def export_csv() -> Any:
    """The filtered queue (every page) as a CSV download."""
    form = QueueFilters(request.args)
    if not form.validate():
        return render_queue(form, None)
    filters = begin_export(form.filters())
    columns = export_layout(filters)
    # The rows are read in short sessions of their own: hold no connection while streaming.
    db.session().close()
    lines = csv_lines(rows_of(db.get_db(), filters, export_batch_size()), columns)
    response = Response(stream_with_context(lines), mimetype="text/csv")
    response.headers["Content-Disposition"] = f"attachment; filename=screening-export-{clock.now():%Y%m%d}.csv"
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
        for line in csv_lines(rows_of(db.get_db(), filters, export_batch_size()), export_layout(filters)):
            target.write(line)


def open_output(path: str | None) -> AbstractContextManager[TextIO]:
    """The file to write, or stdout (left open) when there is none or it is '-'."""
    if not path or path == "-":
        return nullcontext(sys.stdout)
    # newline="": the csv module writes its own \r\n line ends.
    return open(path, "w", encoding="utf-8", newline="")
