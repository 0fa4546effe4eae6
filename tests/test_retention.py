"""Erasing one submission and purging old ones: what is left afterwards, and who is told.

"Nothing left" is checked the hard way: every row of the tables is dumped as text and
searched for answers only that patient gave.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from sqlalchemy import select, text, update

from screening import db, rules
from screening.models import Base, Draft, QuestionnaireVersion, Review, Submission, new_token, utcnow
from screening.questionnaire import load
from screening.review import retention

from .conftest import SMALL, Clinician, Patient, make_app
from .test_review_record import (
    ADMIN,
    BORN,
    CLINICIAN,
    FIRST,
    SECOND,
    audit_rows,
    post_review,
    record_url,
    reviews_of,
    signed_in,
    stored,
    submit,
    text_of,
)

# Answers only one patient gives, to search the whole database for.
PRIVATE = {"name": "Zebedee Quartermaine", "notes": "Tingling since the Ulverston marathon"}
TRACES = ("Zebedee", "Quartermaine", "Ulverston")
REASON = "Patient asked by phone for their data to be deleted"


# --- helpers --------------------------------------------------------------------------


def everything(app, tables: tuple[str, ...] | None = None) -> str:
    """Every row of the given tables (default: all of them) as one text."""
    names = tables or tuple(t.name for t in Base.metadata.sorted_tables)
    with app.app_context(), db.get_db().engine.connect() as connection:
        rows = [repr(tuple(row)) for name in names for row in connection.execute(text(f"SELECT * FROM {name}"))]
    return "\n".join(rows)


def age_submission(app, reference: str, days: int) -> None:
    """Move a submission's time back by `days` days."""
    with app.app_context(), db.get_db().transaction() as s:
        when = utcnow() - dt.timedelta(days=days)
        s.execute(update(Submission).where(Submission.reference == reference).values(created_at=when))


def insert_submission(app, name: str, days_old: int) -> str:
    """A submission stored directly (no patient pages), `days_old` days old; its reference."""
    defn = load(SMALL)
    answers = {"numb": "no", "ill": "no", "had_cancer": "no", "name": name, "born": BORN, "sex": "male"}
    result = rules.evaluate_input(defn, answers | {"pain": 2, "phone": "01234 567890", "agree": "yes"})
    with app.app_context(), db.get_db().transaction() as s:
        if s.get(QuestionnaireVersion, defn.version) is None:
            s.add(
                QuestionnaireVersion(version=defn.version, questionnaire_id=defn.questionnaire.id, definition=defn.raw)
            )
        submission = Submission(
            draft_token=new_token(),
            questionnaire_id=defn.questionnaire.id,
            version=defn.version,
            answers=result.answers,
            derived=result.derived,
            flags=[f.to_dict() for f in result.flags],
            outcome=result.outcome,
            outcome_rank=3,
            created_at=utcnow() - dt.timedelta(days=days_old),
            patient_name=name,
            name_key=name.casefold(),
        )
        s.add(submission)
        s.flush()
        return submission.reference


def start_draft(app) -> str:
    """A patient who answered the first page and stopped; their draft's token."""
    patient = Patient(app.test_client())
    assert patient.answer("first", FIRST).status_code == 302
    with patient.client.session_transaction() as session:
        return session["draft"]


def expire_draft(app, token: str) -> None:
    """Make a draft an hour past its expiry."""
    with app.app_context(), db.get_db().transaction() as s:
        s.execute(update(Draft).where(Draft.token == token).values(expires_at=utcnow() - dt.timedelta(hours=1)))


def count(app, model) -> int:
    """How many rows a table holds."""
    with app.app_context(), db.get_db().sessions() as s:
        return len(s.scalars(select(model)).all())


def erase(browser: Clinician, reference: str, data: dict):
    """Post the erase form from the record page."""
    return browser.post(record_url(reference) + "/erase", data, token=browser.token(record_url(reference)))


# --- erasure ---------------------------------------------------------------------------


def test_admin_erasure_leaves_no_answer_text_but_keeps_the_audit_entry(site):
    """After erasure no answer or review note is in any row, but the audit log records it."""
    reference = submit(site, second=PRIVATE)
    clinician = signed_in(site, CLINICIAN)
    post_review(clinician, reference, {"outcome": "other", "note": "Spoke to Zebedee about Ulverston"})
    admin = signed_in(site, ADMIN)
    assert "Zebedee" in everything(site, ("submissions", "reviews"))

    response = erase(admin, reference, {"reason": REASON, "confirm": "y"})

    assert response.status_code == 303 and response.headers["Location"].endswith(record_url(reference))
    dump = everything(site, ("submissions", "reviews", "drafts"))
    for trace in TRACES:
        assert trace not in dump
    submission = stored(site, reference)
    assert (submission.answers, submission.derived, submission.flags) == ({}, {}, [])
    assert submission.review_state == "erased" and submission.erased_at is not None
    assert submission.patient_name is None and submission.name_key is None
    assert reviews_of(site, reference) == []
    [event] = audit_rows(site, "erase")
    assert (event.reference, event.actor, event.detail) == (reference, ADMIN, {"reason": REASON})
    assert len(audit_rows(site, "review")) == 1  # the earlier history of actions stays


def test_erased_record_says_when_and_by_whom_and_shows_no_answers(site):
    """An erased record says when, by whom and why, and shows nothing of the answers."""
    reference = submit(site, {"numb": "yes"}, PRIVATE)
    admin = signed_in(site, ADMIN)
    erase(admin, reference, {"reason": REASON, "confirm": "y"})
    page = signed_in(site, CLINICIAN).get(record_url(reference))
    assert page.status_code == 200
    shown = text_of(page)
    assert "This submission was erased" in shown
    assert "by Ada Admin (admin@example.org)" in shown and f"Reason given: {REASON}" in shown
    for gone in ("Zebedee", "Are you numb?", "Numbness.", "URGENT", "Flagged answers"):
        assert gone not in shown
    assert "Save review" not in page.text and "Erase for good" not in page.text
    assert len(audit_rows(site, "view_submission")) >= 1


def test_erasing_twice_or_reviewing_after_erasure_changes_nothing(site):
    """A second erasure or a late review of an erased submission stores nothing."""
    reference = submit(site)
    admin = signed_in(site, ADMIN)
    erase(admin, reference, {"reason": REASON, "confirm": "y"})
    again = erase(admin, reference, {"reason": REASON, "confirm": "y"})
    assert again.status_code == 303
    assert "had already been erased" in text_of(admin.get(record_url(reference)))
    assert len(audit_rows(site, "erase")) == 1
    post_review(admin, reference, {"outcome": "cleared"})
    assert reviews_of(site, reference) == [] and audit_rows(site, "review") == []
    assert stored(site, reference).review_state == "erased"


def test_clinician_cannot_erase_or_see_the_erase_form(site):
    """Only admins see the erase form; a clinician's post is a 403 and changes nothing."""
    reference = submit(site, second=PRIVATE)
    clinician = signed_in(site, CLINICIAN)
    assert "Erase this submission" not in clinician.get(record_url(reference)).text
    assert "Erase this submission" in signed_in(site, ADMIN).get(record_url(reference)).text
    response = erase(clinician, reference, {"reason": REASON, "confirm": "y"})
    assert response.status_code == 403
    submission = stored(site, reference)
    assert submission.review_state == "new" and submission.answers["name"] == PRIVATE["name"]
    assert audit_rows(site, "erase") == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"reason": REASON}, "Tick the box to confirm the erasure"),
        ({"reason": "Asked to", "confirm": "y"}, "Give a reason of 10 to 500 characters"),
        ({"reason": "   ", "confirm": "y"}, "Say why you are erasing this submission"),
    ],
)
def test_erasure_needs_a_reason_and_a_ticked_box(site, data, message):
    """Erasure without a proper reason or the ticked box shows the problem and erases nothing."""
    reference = submit(site, second=PRIVATE)
    page = erase(signed_in(site, ADMIN), reference, data)
    assert page.status_code == 400
    shown = text_of(page)
    assert "There is a problem" in shown and message in shown
    assert stored(site, reference).answers["name"] == PRIVATE["name"]
    assert audit_rows(site, "erase") == []


def test_erasure_without_a_csrf_token_changes_nothing(site):
    """An erasure posted without a CSRF token is refused."""
    reference = submit(site)
    admin = signed_in(site, ADMIN)
    response = admin.post(record_url(reference) + "/erase", {"reason": REASON, "confirm": "y"}, token="")
    assert response.status_code == 400
    assert stored(site, reference).review_state == "new"


# --- purge -----------------------------------------------------------------------------


def test_purge_deletes_only_old_submissions_and_expired_drafts(site):
    """Purge removes old submissions with their reviews and expired drafts, keeps the rest, audits once."""
    old = submit(site, second=PRIVATE)
    post_review(signed_in(site, CLINICIAN), old, {"outcome": "other", "note": "Zebedee rang back"})
    age_submission(site, old, 100)
    recent = submit(site)
    abandoned = start_draft(site)
    expire_draft(site, abandoned)
    live = start_draft(site)

    result = site.test_cli_runner().invoke(args=["purge", "--older-than", "30"])

    assert result.exit_code == 0, result.output
    assert "Deleted 1 submission(s) older than 30 days and 1 expired draft(s)." in result.output
    with site.app_context(), db.get_db().sessions() as s:
        assert s.scalars(select(Submission.reference)).all() == [recent]
        tokens = set(s.scalars(select(Draft.token)).all())
    assert live in tokens and abandoned not in tokens
    assert count(site, Review) == 0
    for trace in TRACES:
        assert trace not in everything(site)
    [event] = audit_rows(site, "purge")
    assert event.actor == "command line" and event.user_id is None
    assert (event.detail["days"], event.detail["count"], event.detail["drafts"]) == (30, 1, 1)


def test_purge_works_in_batches(site, monkeypatch):
    """More old rows than one batch holds are all deleted, with one audit row."""
    monkeypatch.setattr(retention, "BATCH_SIZE", 2)
    for n in range(5):
        insert_submission(site, f"Old Patient {n}", days_old=40)
    kept = insert_submission(site, "New Patient", days_old=3)
    result = site.test_cli_runner().invoke(args=["purge", "--older-than", "30"])
    assert result.exit_code == 0, result.output
    assert "Deleted 5 submission(s)" in result.output
    with site.app_context(), db.get_db().sessions() as s:
        assert s.scalars(select(Submission.reference)).all() == [kept]
    assert "Old Patient" not in everything(site)
    assert len(audit_rows(site, "purge")) == 1


def test_dry_run_only_counts(site):
    """--dry-run says how many would go and deletes nothing."""
    old = insert_submission(site, "Old Patient", days_old=40)
    expire_draft(site, start_draft(site))
    result = site.test_cli_runner().invoke(args=["purge", "--older-than", "30", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Would delete 1 submission(s) older than 30 days and 1 expired draft(s)" in result.output
    assert stored(site, old).patient_name == "Old Patient"
    assert count(site, Draft) == 1
    assert audit_rows(site, "purge") == []


def test_purge_uses_retention_days_when_not_told(tmp_path):
    """Without --older-than, RETENTION_DAYS decides what is old."""
    app = make_app(tmp_path, QUESTIONS_PATH=SMALL, RETENTION_DAYS=60)
    insert_submission(app, "Old Patient", days_old=61)
    kept = insert_submission(app, "Newer Patient", days_old=59)
    result = app.test_cli_runner().invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    assert "Deleted 1 submission(s) older than 60 days" in result.output
    assert stored(app, kept).patient_name == "Newer Patient"


def test_purge_without_days_or_retention_days_is_refused(site):
    """With neither --older-than nor RETENTION_DAYS, purge refuses and deletes nothing."""
    insert_submission(site, "Old Patient", days_old=4000)
    result = site.test_cli_runner().invoke(args=["purge"])
    assert result.exit_code == 2
    assert "give --older-than DAYS, or set RETENTION_DAYS" in result.output
    assert count(site, Submission) == 1


@pytest.mark.parametrize("days", ["0", "-3", "abc", "1.5", ""])
def test_purge_refuses_days_that_are_not_a_positive_whole_number(site, days):
    """DAYS must be a whole number, 1 or more; anything else deletes nothing."""
    insert_submission(site, "Old Patient", days_old=4000)
    result = site.test_cli_runner().invoke(args=["purge", "--older-than", days])
    assert result.exit_code == 2
    assert "DAYS must be a whole number of days, 1 or more" in result.output
    assert count(site, Submission) == 1
    assert audit_rows(site, "purge") == []


@pytest.mark.skipif(bool(os.environ.get("TEST_DATABASE_URL")), reason="the SQLite file itself is read")
def test_purge_with_vacuum_leaves_no_answer_text_in_the_database_files(site, tmp_path):
    """With --vacuum, a purged patient's answers are gone from the SQLite files themselves."""
    old = submit(site, second=PRIVATE)
    age_submission(site, old, 100)
    submit(site)
    result = site.test_cli_runner().invoke(args=["purge", "--older-than", "30", "--vacuum"])
    assert result.exit_code == 0, result.output
    assert "Rebuilt the database file." in result.output
    files = [path for path in Path(tmp_path).glob("test.db*") if path.is_file()]
    assert files
    for path in files:
        content = path.read_bytes()
        for trace in TRACES:
            assert trace.encode() not in content, f"{trace} is still in {path.name}"


# --- nothing readable on disk (issue 13, item 2) --------------------------------------------


def on_disk(app) -> bytes:
    """The bytes of the SQLite database file and its write-ahead log."""
    path = Path(db.get_db_of(app).url.removeprefix("sqlite:///"))
    return b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists())


@pytest.mark.skipif(bool(os.environ.get("TEST_DATABASE_URL")), reason="the file layout of SQLite")
def test_an_erased_submission_is_not_readable_in_the_file_or_its_log(site):
    """After erasure neither the database file nor its -wal holds the name, the answers or the note."""
    reference = submit(site, second=PRIVATE)
    post_review(signed_in(site, CLINICIAN), reference, {"outcome": "other", "note": "Spoke to Zebedee at home"})
    assert b"Zebedee" in on_disk(site)
    assert erase(signed_in(site, ADMIN), reference, {"reason": REASON, "confirm": "y"}).status_code == 303
    raw = on_disk(site)
    for trace in TRACES:
        assert trace.encode() not in raw, trace


def test_an_erased_row_keeps_only_its_reference_dates_version_and_outcome(site):
    """What is kept is decided and documented: no urgent advice, review outcome or questions shown."""
    reference = submit(site, second=PRIVATE)
    post_review(signed_in(site, CLINICIAN), reference, {"outcome": "referred", "note": "x"})
    erase(signed_in(site, ADMIN), reference, {"reason": REASON, "confirm": "y"})
    row = stored(site, reference)
    assert (row.shown, row.urgent_advice, row.review_outcome) == (None, None, None)
    assert row.outcome and row.created_at and row.erased_at and row.version


def test_expired_drafts_are_purged_by_the_app_itself(tmp_path):
    """No command needed: after a response, an expired draft is deleted (every request here)."""
    app = make_app(tmp_path, QUESTIONS_PATH=SMALL, DRAFT_PURGE_MINUTES=0)
    patient = Patient(app.test_client())
    assert patient.answer("first", FIRST).status_code == 302
    assert patient.answer("second", SECOND | PRIVATE).status_code == 302
    with app.app_context(), db.get_db().sessions() as s:
        [token] = s.scalars(select(Draft.token)).all()
    expire_draft(app, token)
    response = app.test_client().get("/healthz")
    response.close()
    assert count(app, Draft) == 0
    if not os.environ.get("TEST_DATABASE_URL"):
        assert b"Quartermaine" not in on_disk(app)
