"""Visits from a CSV file: every row checked first, then all added or none.

A file with any bad row is refused whole, each problem named by its line number and
field, so the clinic fixes the file and uploads it again; nothing is half-imported.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from . import records

MAX_ROWS = 5000


@dataclass(frozen=True)
class RowProblem:
    """One thing wrong with the file: where (line, field) and what."""

    line: int
    field: str | None
    message: str

    def __str__(self) -> str:
        label = records.LABELS.get(self.field or "", self.field)
        return f"Line {self.line}: {label} {self.message}" if label else f"Line {self.line}: {self.message}"


@dataclass(frozen=True)
class Checked:
    """A file's rows, each with its line number, every one valid; or the file's problems."""

    rows: list[tuple[int, records.VisitInput]]
    problems: list[RowProblem]


def _header_key(name: str) -> str:
    """A column name as a field name: `Given name` -> `given_name`."""
    return "_".join(name.strip().lstrip("\ufeff").lower().replace("-", " ").split())


def decode(data: bytes) -> str | None:
    """The file's text (UTF-8, with or without Excel's byte-order mark), or None."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def check_text(text: str, zone: ZoneInfo, today: dt.date, s: Session | None = None) -> Checked:
    """Read and check every row; with a session, also against what is already stored."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        return Checked([], [RowProblem(1, None, "the file is empty: the first line must name the columns")])
    names = [_header_key(h) for h in header]
    problems: list[RowProblem] = []
    unknown = [h for h, n in zip(header, names, strict=True) if n not in records.FIELDS]
    if unknown:
        problems.append(RowProblem(1, None, "unknown columns: " + ", ".join(unknown)))
    missing = [f for f in records.REQUIRED if f not in names]
    if missing:
        problems.append(RowProblem(1, None, "missing columns: " + ", ".join(missing)))
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        problems.append(RowProblem(1, None, "columns named twice: " + ", ".join(duplicated)))
    if problems:
        return Checked([], problems)
    rows: list[tuple[int, records.VisitInput]] = []
    booking_lines: dict[str, int] = {}
    births: dict[str, tuple[dt.date, int]] = {}
    line = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(RowProblem(line, None, f"cannot be read as CSV ({exc})"))
            break
        start, line = line, reader.line_num + 1
        if not any(cell.strip() for cell in cells):
            continue  # a blank line
        if len(rows) + len(problems) >= MAX_ROWS:
            problems.append(RowProblem(start, None, f"too many rows: at most {MAX_ROWS} a file"))
            break
        if len(cells) != len(names):
            problems.append(RowProblem(start, None, f"has {len(cells)} cells, the header has {len(names)}"))
            continue
        result = records.check(dict(zip(names, cells, strict=True)), zone, today)
        if not isinstance(result, records.VisitInput):
            problems += [RowProblem(start, f, m) for f, m in result.items()]
            continue
        row_problems = _within_file(result, start, booking_lines, births)
        if not row_problems and s is not None:
            row_problems = [RowProblem(start, f, m) for f, m in records.conflicts(s, result).items()]
        if row_problems:
            problems += row_problems
            continue
        rows.append((start, result))
    if not rows and not problems:
        problems.append(RowProblem(2, None, "the file has no visits below its header"))
    return Checked(rows, problems)


def _within_file(
    data: records.VisitInput, line: int, booking_lines: dict[str, int], births: dict[str, tuple[dt.date, int]]
) -> list[RowProblem]:
    """Rows of one file that contradict each other: one booking twice, one reference two people."""
    problems = []
    if data.external_id:
        if data.external_id in booking_lines:
            seen = booking_lines[data.external_id]
            problems.append(RowProblem(line, "external_id", f"is the same as on line {seen}"))
        else:
            booking_lines[data.external_id] = line
    if data.clinic_ref:
        birth, seen = births.setdefault(data.clinic_ref, (data.birth_date, line))
        if birth != data.birth_date:
            problems.append(RowProblem(line, "clinic_ref", f"has another date of birth on line {seen}"))
    return problems


def add_all(s: Session, checked: Checked) -> list[records.Added]:
    """Add every row of a checked file, in the caller's transaction (all or nothing)."""
    if checked.problems:
        raise ValueError("a file with problems is never imported")
    ordered = sorted(checked.rows, key=lambda row: (row[1].starts_at, row[0]))
    return [records.add(s, data) for _, data in ordered]
