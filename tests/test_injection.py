"""Hostile free text is stored exactly as typed and shown harmless everywhere."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from screening import db
from screening.models import Submission

NAME = "<script>alert('x')</script> O'Brien \"Sam\""
MEDICINES = '=HYPERLINK("javascript:alert(1)","click")\n+1\n-2\n@SUM(A1)'
# A patient whose name and medicines are attacks.
HOSTILE = {"full_name": NAME, "medicines": MEDICINES}


def test_stored_as_typed_and_escaped_in_review_pages(app, clinician, submission_factory):
    """The database holds the text exactly; the queue and record show it escaped."""
    reference = submission_factory(HOSTILE)
    with app.app_context():
        row = db.session().scalars(select(Submission)).one()
        assert row.answers["full_name"] == NAME
        assert row.answers["medicines"] == MEDICINES
    for page in (clinician.get("/review/").text, clinician.get(f"/review/submissions/{reference}").text):
        assert "<script>alert" not in page
        assert "&lt;script&gt;alert(" in page
        assert 'href="javascript:' not in page


def test_exported_csv_neutralises_formulas(app, clinician, submission_factory):
    """In the CSV, every formula-looking cell starts with a quote; the rest is intact."""
    submission_factory(HOSTILE)
    body = clinician.get("/review/export.csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(body)))
    (row,) = rows
    assert row["full_name"] == NAME  # starts with "<": not a formula, kept as typed
    assert row["medicines"].startswith("'=HYPERLINK")
    for cell in row.values():
        assert not cell.startswith(("=", "+", "-", "@")), cell
