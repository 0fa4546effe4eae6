"""The bare stack's CSV export: one SELECT on the driver, csv.writer, nothing else.

    python -m benchmarks.baseline_export DATABASE_URL OUTPUT

The yardstick for `flask export`: the same columns and order (urgent first, newest
first), every answer of the current questionnaire as a cell, but with no ORM, no
keyset batches, no audit record and no formula escaping. PostgreSQL rows come through
a server-side cursor so memory stays flat, as the app's batches keep it.
"""

from __future__ import annotations

import csv
import json
import sqlite3
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
# One query per outcome rank, each a backwards walk of the (outcome_rank, created_at, id)
# index: a single ORDER BY rank, created_at DESC cannot use it and sorts the whole table.
QUERY = (
    "SELECT reference, created_at, outcome, review_state, review_outcome, flags, answers, derived "
    "FROM submissions WHERE review_state != 'erased' AND outcome_rank = {rank} ORDER BY created_at DESC, id DESC"
)
RANKS = range(4)


def question_ids() -> list[str]:
    """The default questionnaire's question ids, in order (read straight from the YAML)."""
    data = yaml.safe_load((ROOT / "questions.yaml").read_text(encoding="utf-8"))
    return [q["id"] for s in data["sections"] for q in s["questions"]]


def main() -> int:
    """Export every row; print how many."""
    url, output = sys.argv[1], sys.argv[2]
    ids = question_ids()
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))

        def rows():
            """Every row, rank by rank."""
            for rank in RANKS:
                yield from conn.execute(QUERY.format(rank=rank))

        decode = json.loads
    else:
        import psycopg

        conn = psycopg.connect(url.replace("+psycopg", ""))

        def rows():
            """Every row, rank by rank, through server-side cursors (fetched in chunks)."""
            for rank in RANKS:
                with conn.cursor(name=f"export_{rank}") as cursor:
                    cursor.itersize = 2000
                    cursor.execute(QUERY.format(rank=rank))
                    yield from cursor

        def decode(value):
            """jsonb arrives already decoded."""
            return value

    count = 0
    with open(output, "w", encoding="utf-8", newline="") as target:
        writer = csv.writer(target)
        writer.writerow(["reference", "submitted_at", "outcome", "review_state", "review_outcome", "flags", *ids])
        for reference, created_at, outcome, state, review_outcome, flags, answers, derived in rows():
            answers, flags, derived = decode(answers), decode(flags), decode(derived)
            flag_text = "; ".join(f"{f.get('id')}:{f.get('level')}" for f in flags or [])
            cells = [answers.get(qid) for qid in ids]
            writer.writerow(
                [reference, created_at, outcome, state, review_outcome, flag_text, *cells, (derived or {}).get("age")]
            )
            count += 1
    conn.close()
    print(count)
    return 0


if __name__ == "__main__":
    sys.exit(main())
