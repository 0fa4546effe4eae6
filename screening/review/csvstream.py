"""One way to write CSV on the clinicians' side: streamed in chunks, every cell formula-safe.

Used by the submissions export and the audit log's download. Rows are formatted into
a buffer and handed on about 16 kB at a time, so a million rows take the memory of
one chunk, and the web server and the file system see a few large writes rather than
one per line.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

CHUNK_SIZE = 16_384
# A spreadsheet runs a cell that starts with one of these as a formula (OWASP: CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """A cell as text, with a leading ' if a spreadsheet would take it for a formula."""
    if value is None:
        return ""
    if type(value) is str:  # most cells: skip the other checks (a million rows add up)
        text = value
    elif isinstance(value, list | tuple):
        text = "; ".join(safe_text(item) for item in value)
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    else:
        text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def safe_text(value: Any) -> str:
    """One value of a multi-choice answer as text."""
    return "" if value is None else str(value)


def csv_chunks(
    header: Sequence[str], rows: Iterable[Sequence[Any]], chunk_size: int = CHUNK_SIZE, made_safe: bool = False
) -> Iterator[str]:
    """The CSV text (header first, CRLF line ends), every cell made safe, in chunks of about `chunk_size`.

    `made_safe`: the caller already passed every cell through `safe_cell` (a million rows
    add up, and a caller that remembers its texts can do it once per distinct text).
    """
    buffer = io.StringIO()
    writerow = csv.writer(buffer).writerow
    writerow([safe_cell(name) for name in header])
    starts = FORMULA_STARTS
    for row in rows:
        if made_safe:
            writerow(row)
        else:  # plain text that cannot start a formula is most cells: no call for those
            writerow([v if type(v) is str and not v.startswith(starts) else safe_cell(v) for v in row])
        if buffer.tell() > chunk_size:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
