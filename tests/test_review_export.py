"""The CSV export: columns, escaping, filters, streaming, the audit record and the command."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from sqlalchemy import event, insert, select

from screening import db
from screening.models import AuditEvent, QuestionnaireVersion, Submission, new_reference, new_token
from screening.questionnaire import loads
from screening.review.csvstream import safe_cell
from screening.review.record_view import record_view

from .conftest import SMALL, Clinician, add_user
from .test_review_queue import add_submissions, at, triage_order

FIXED = ["reference", "submitted_at", "outcome", "review_state", "review_outcome", "flags"]


def parse(text: str) -> list[dict[str, str]]:
    """The CSV as a list of dicts, read by Python's csv module."""
    return list(csv.DictReader(io.StringIO(text, newline="")))


def question_ids(app) -> list[str]:
    """The current questionnaire's question ids, in order."""
    return list(app.extensions["screening.questionnaire"].questions)


def exports(app) -> list[AuditEvent]:
    """Every export audit row."""
    with app.app_context():
        return list(db.session().scalars(select(AuditEvent).where(AuditEvent.action == "export")))


def test_export_is_a_csv_download_that_is_never_cached(app, clinician):
    """An attachment named by today's date, text/csv, no-store, streamed."""
    add_submissions(app, {"outcome": "urgent"})
    response = clinician.get("/review/export.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.is_streamed
    today = dt.datetime.now(dt.UTC).strftime("%Y%m%d")
    assert response.headers["Content-Disposition"] == f"attachment; filename=screening-export-{today}.csv"
    assert response.headers["Cache-Control"] == "no-store"


def test_columns_are_fixed_fields_then_current_questions_then_age(app, clinician):
    """Header order, flags as id:level, multi-choice joined, missing answers empty."""
    answers = {"full_name": "Ann Smith", "date_of_birth": "1960-05-01", "medicines": "warfarin, insulin"}
    flags = [
        {"id": "saddle_numbness", "level": "urgent", "reason": "r", "source": "s", "advice": "emergency", "about": []},
        {"id": "anticoagulant", "level": "precaution", "reason": "r", "source": "s", "advice": None, "about": []},
    ]
    (ref,) = add_submissions(
        app,
        {
            "outcome": "urgent",
            "created_at": dt.datetime(2024, 3, 1, 9, 30, 15, 123456, tzinfo=dt.UTC),
            "answers": answers,
            "flags": flags,
            "derived": {"age": 63},
            "state": "reviewed",
            "review_outcome": "referred",
        },
    )
    text = clinician.get("/review/export.csv").text
    header = next(csv.reader(io.StringIO(text)))
    assert header == [*FIXED, *question_ids(app), "derived_age"]
    (row,) = parse(text)
    assert row["reference"] == ref
    assert row["submitted_at"] == "2024-03-01T09:30:15Z"
    assert row["outcome"] == "urgent"
    assert row["review_state"] == "reviewed"
    assert row["review_outcome"] == "referred"
    assert row["flags"] == "saddle_numbness:urgent; anticoagulant:precaution"
    assert row["full_name"] == "Ann Smith"
    assert row["date_of_birth"] == "1960-05-01"
    assert row["saddle_numbness"] == ""  # not answered
    assert row["derived_age"] == "63"
    assert row["medicines"] == "warfarin, insulin"


def test_awkward_values_survive_the_round_trip(app, clinician):
    """Commas, quotes, line breaks and any script come back exactly as stored."""
    awkward = 'Smith, "Jo"\nsecond line\r\nthird; Zoë Ørsted 山田 😀'
    add_submissions(app, {"name": awkward, "answers": {"full_name": awkward}})
    (row,) = parse(clinician.get("/review/export.csv").text)
    assert row["full_name"] == awkward


def test_multi_choice_answers_are_joined(small_app):
    """A list answer is one cell, its values joined by '; '."""
    add_user(small_app, "small@example.org")
    browser = Clinician(small_app.test_client())
    assert browser.sign_in("small@example.org").status_code == 302
    questions = small_app.extensions["screening.questionnaire"].questions.values()
    multi = next(q.id for q in questions if q.type == "multi_choice")
    add_submissions(small_app, {"answers": {multi: ["first", "second", "third"]}})
    (row,) = parse(browser.get("/review/export.csv").text)
    assert row[multi] == "first; second; third"


def test_formula_cells_are_escaped(app, clinician):
    """A cell a spreadsheet would run as a formula starts with ' instead; others are untouched."""
    values = {"=1+1": "'=1+1", "+x": "'+x", "-x": "'-x", "@x": "'@x", "\tx": "'\tx", "\rx": "'\rx", "Ann": "Ann"}
    for typed, written in values.items():
        assert safe_cell(typed) == written
    assert safe_cell(["ok", "=bad"]) == "ok; =bad"  # only a cell's start matters
    assert safe_cell(["=bad", "ok"]) == "'=bad; ok"
    assert safe_cell(None) == ""
    assert safe_cell(42) == "42"
    add_submissions(app, {"name": '=HYPERLINK("http://x")', "answers": {"full_name": '=HYPERLINK("http://x")'}})
    (row,) = parse(clinician.get("/review/export.csv").text)
    assert row["full_name"] == '\'=HYPERLINK("http://x")'
    assert row["reference"][0] != "'"


def test_export_follows_the_filters_in_queue_order(app, clinician):
    """Only the filtered submissions, every page of them, in the queue's order."""
    app.config["QUEUE_PAGE_SIZE"] = 2
    add_submissions(
        app,
        *[{"outcome": o, "created_at": at(i)} for i, o in enumerate(["urgent", "suitable", "urgent", "review"] * 3)],
        {"outcome": "urgent", "state": "erased", "name": None},
    )
    everything = [r["reference"] for r in parse(clinician.get("/review/export.csv").text)]
    assert everything == triage_order(app)
    urgent = parse(clinician.get("/review/export.csv?outcome=urgent").text)
    assert [r["reference"] for r in urgent] == triage_order(app, outcome="urgent")
    assert {r["outcome"] for r in urgent} == {"urgent"} and len(urgent) == 6


def test_export_reads_in_keyset_batches(app, clinician):
    """Batches of the configured size, found by keyset and never by OFFSET."""
    app.config["EXPORT_BATCH_SIZE"] = 4
    add_submissions(app, *[{"outcome": o, "created_at": at(i % 3)} for i, o in enumerate(["urgent", "review"] * 9)])
    engine = app.extensions["screening.db"].engine
    selects: list[tuple[str, tuple]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many) -> None:
        """Remember each SELECT on submissions."""
        if "FROM submissions" in statement and "count(" not in statement:
            selects.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        rows = parse(clinician.get("/review/export.csv").text)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert [r["reference"] for r in rows] == triage_order(app)
    assert len(selects) >= 18 // 4
    # SQLAlchemy always writes SQLite's LIMIT as "LIMIT ? OFFSET ?": the offset must stay 0.
    assert all("OFFSET" not in sql or params[-1] == 0 for sql, params in selects)


def test_each_export_writes_exactly_one_audit_row_without_answers(app, clinician):
    """One row per export, with the filters and the count, and no patient's name."""
    add_submissions(app, {"outcome": "urgent", "name": "Ann Smith"}, {"outcome": "suitable", "name": "Bob Jones"})
    clinician.get("/review/export.csv?outcome=urgent&q=ann")
    clinician.get("/review/export.csv")
    first, second = exports(app)
    assert first.actor == "clinician@example.org" and first.user_id is not None
    assert first.detail["filters"] == {"outcome": "urgent", "name_search": True}
    assert first.detail["rows"] == 1
    assert second.detail["filters"] == {} and second.detail["rows"] == 2
    assert "Ann" not in str(first.detail) and "ann" not in str(first.detail["filters"])


def test_a_bad_filter_exports_nothing_and_audits_nothing(app, clinician):
    """The queue's error page instead of a file, and no audit row."""
    response = clinician.get("/review/export.csv?from=tomorrow")
    assert response.status_code == 400
    assert "Write the &#39;from&#39; date as YYYY-MM-DD" in response.text
    assert exports(app) == []


def test_the_command_writes_the_same_rows_as_the_web(app, clinician, runner):
    """`flask export` with the same filters gives the same CSV, audited as the command line."""
    add_submissions(
        app,
        *[
            {"outcome": o, "created_at": at(i), "state": s}
            for i, (o, s) in enumerate([("urgent", "new"), ("review", "reviewed")] * 4)
        ],
    )
    web = clinician.get("/review/export.csv?state=new&from=2024-03-01&to=2024-03-01").text
    result = runner.invoke(args=["export", "--state", "new", "--from", "2024-03-01", "--to", "2024-03-01"])
    assert result.exit_code == 0, result.output
    assert parse(result.output) == parse(web)
    assert len(parse(web)) == 4
    cli_audit = exports(app)[-1]
    assert cli_audit.actor == "command line" and cli_audit.user_id is None and cli_audit.ip == "command line"
    assert cli_audit.detail["rows"] == 4


def test_the_command_writes_to_a_file(app, runner, tmp_path):
    """--output writes the file (UTF-8, CSV line ends) and prints nothing else."""
    add_submissions(app, {"outcome": "urgent", "name": "Zoë"}, {"outcome": "suitable"})
    target = tmp_path / "out.csv"
    result = runner.invoke(args=["export", "--outcome", "urgent", "--output", str(target)])
    assert result.exit_code == 0, result.output
    assert result.output == ""
    raw = target.read_bytes()
    assert raw.count(b"\r\n") == 2
    (row,) = parse(raw.decode("utf-8"))
    assert row["full_name"] == "Zoë" and row["outcome"] == "urgent"
    assert len(exports(app)) == 1


def test_the_command_refuses_bad_filters(app, runner):
    """A bad option is a usage error naming the problem, with no export and no audit row."""
    result = runner.invoke(args=["export", "--outcome", "critical", "--to", "2024-02-30"])
    assert result.exit_code == 2
    assert "Outcome must be urgent, not suitable, review or suitable" in result.output
    assert "2024-02-30 is not a real date" in result.output
    assert exports(app) == []


# Each row read with its own questionnaire version


def store_versions(app, *definitions) -> None:
    """Store questionnaire versions, oldest first, as the intake stores them."""
    with app.app_context(), db.get_db().transaction() as s:
        for n, defn in enumerate(definitions):
            if s.get(QuestionnaireVersion, defn.version) is None:
                s.add(
                    QuestionnaireVersion(
                        version=defn.version,
                        questionnaire_id=defn.questionnaire.id,
                        definition=defn.raw,
                        created_at=dt.datetime(2024, 1, 1 + n, tzinfo=dt.UTC),
                    )
                )


def add_answered(app, defn, answers: dict, derived: dict, created_at: dt.datetime) -> str:
    """A submission answered on this version; its reference."""
    reference = new_reference()
    with app.app_context(), db.get_db().transaction() as s:
        s.execute(
            insert(Submission),
            [
                {
                    "reference": reference,
                    "draft_token": new_token(),
                    "questionnaire_id": defn.questionnaire.id,
                    "version": defn.version,
                    "answers": answers,
                    "derived": derived,
                    "flags": [],
                    "outcome": "suitable",
                    "outcome_rank": 3,
                    "created_at": created_at,
                    "patient_name": answers.get("name"),
                    "name_key": answers.get("name", "").casefold() or None,
                }
            ],
        )
    return reference


def later_version(defn_text: str):
    """The small questionnaire with one more question and one more derived value."""
    text = defn_text.replace(
        "      - id: had_cancer\n",
        "      - id: smoker\n        text: Do you smoke?\n        type: yes_no\n      - id: had_cancer\n",
    ).replace("derived:\n", "derived:\n  age_next_year:\n    years_since: born\n")
    return loads(text, source="later.yaml")


@pytest.fixture
def two_versions(small_app):
    """The small questionnaire's current version and a later one, both stored, and a clinician."""
    first = small_app.extensions["screening.questionnaire"]
    second = later_version(Path(SMALL).read_text(encoding="utf-8"))
    assert second.version != first.version
    store_versions(small_app, first, second)
    add_user(small_app, "small@example.org")
    browser = Clinician(small_app.test_client())
    assert browser.sign_in("small@example.org").status_code == 302
    return small_app, browser, first, second


def test_an_export_spanning_two_versions_has_each_versions_columns(two_versions):
    """Both versions' questions, each once, in a stable order; a row leaves empty what its version never asked."""
    app, browser, first, second = two_versions
    old = add_answered(app, first, {"name": "Old Row", "numb": "no"}, {"age": 63}, at(0) - dt.timedelta(days=30))
    new = add_answered(
        app, second, {"name": "New Row", "numb": "no", "smoker": "yes"}, {"age": 40, "age_next_year": 41}, at(1)
    )
    text = browser.get("/review/export.csv").text
    header = next(csv.reader(io.StringIO(text)))
    first_ids = list(first.questions)
    assert header[: len(FIXED) + len(first_ids)] == [*FIXED, *first_ids]
    assert header[len(FIXED) + len(first_ids) :] == ["smoker", "derived_age", "derived_age_next_year"]
    rows = {row["reference"]: row for row in parse(text)}
    assert rows[new]["smoker"] == "Yes" and rows[new]["name"] == "New Row"
    assert rows[old]["smoker"] == "" and rows[old]["name"] == "Old Row"
    # Every derived value, not just the age.
    assert (rows[new]["derived_age"], rows[new]["derived_age_next_year"]) == ("40", "41")
    assert (rows[old]["derived_age"], rows[old]["derived_age_next_year"]) == ("63", "")
    # The same columns whichever version is newer in the range; a range of one version has only its columns.
    only_old = next(csv.reader(io.StringIO(browser.get("/review/export.csv?to=2024-02-15").text)))
    assert only_old == [*FIXED, *first_ids, "derived_age"]


def test_the_export_shows_answers_as_the_record_does(two_versions):
    """Labels, not codes: every answer cell is the text the record shows for it."""
    app, browser, first, _ = two_versions
    answers = {
        "name": "Ann Smith",
        "numb": "no",
        "ill": "cold",
        "born": "1960-05-01",
        "areas": ["back", "legs"],
        "agree": True,
    }
    reference = add_answered(app, first, answers, {"age": 63}, at(0))
    (row,) = parse(browser.get("/review/export.csv").text)
    assert row["ill"] == "A cold" and row["born"] == "1 May 1960" and row["numb"] == "No"
    assert row["areas"] == "Back, Legs" and row["agree"] == "Yes, I agree"
    with app.app_context():
        submission = db.session().scalars(select(Submission).where(Submission.reference == reference)).one()
        view = record_view(submission, first)
    shown = {answer.qid: answer.answer for section in view.sections for answer in section.rows}
    assert {qid: row[qid] for qid in answers} == {qid: shown[qid] for qid in answers}
