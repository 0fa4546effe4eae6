"""Many patients at once: concurrent submissions to one database file lose nothing."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from sqlalchemy import func, select

from screening import create_app, db
from screening.models import Draft, Submission

from .conftest import SMALL, Patient, database_url, make_app

PROCESSES = 8
PATIENTS_EACH = 6

FIRST = {"numb": "no", "ill": "no", "had_cancer": "no"}
SECOND = {"name": "Pat", "born": "1970-01-01", "sex": "female", "pregnant": "no", "pain": "2", "phone": "07700 900982"}


def one_process(url: str, instance: str, barrier, results) -> None:
    """One server process: its patients fill in the form and send it, all at once."""
    # Every simulated patient comes from one address: lift the per-address budgets (as the
    # load test does); what is under test is that nothing is lost or doubled.
    config = {"TESTING": True, "SECRET_KEY": "shared", "DATABASE_URL": url, "QUESTIONS_PATH": SMALL}
    config |= {"INTAKE_LIMIT": "100000 per minute", "INTAKE_SEND_LIMIT": "100000 per minute"}
    app = create_app(config, instance)
    references = []
    barrier.wait()
    try:
        for n in range(PATIENTS_EACH):
            patient = Patient(app.test_client())
            first = patient.answer("first", FIRST)
            second = patient.answer("second", {**SECOND, "name": f"Pat {n}", "agree": "y"})
            token = patient.token("/intake/check")
            sent = patient.post("/intake/submit", token=token)
            again = patient.post("/intake/submit", token=token)  # a double click
            statuses = (first.status_code, second.status_code, sent.status_code, again.status_code)
            assert statuses == (302, 302, 303, 303), statuses
            page = patient.get("/intake/done")
            references.append(page.text.split("Your reference: <strong>")[1].split("<")[0])
    except Exception as exc:  # report to the parent instead of leaving it waiting
        results.put(f"failed: {exc!r}")
        raise
    results.put(references)


@pytest.mark.slow
def test_eight_processes_submitting_at_once_lose_none(tmp_path: Path):
    """Every acknowledged submission is stored exactly once, and nothing else."""
    url = database_url(tmp_path)
    app = make_app(tmp_path, DATABASE_URL=url, QUESTIONS_PATH=SMALL)
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(PROCESSES)
    results = context.Queue()
    workers = [
        context.Process(target=one_process, args=(url, str(tmp_path / f"i{i}"), barrier, results))
        for i in range(PROCESSES)
    ]
    for w in workers:
        w.start()
    reports = [results.get(timeout=120) for _ in workers]
    assert not [r for r in reports if isinstance(r, str)], reports
    acknowledged = [ref for refs in reports for ref in refs]
    for w in workers:
        w.join(timeout=60)
        assert w.exitcode == 0
    with app.app_context():
        session = db.session()
        stored = session.scalars(select(Submission.reference)).all()
        drafts = session.scalar(select(func.count()).select_from(Draft).where(Draft.submission_id.is_(None)))
    assert len(acknowledged) == PROCESSES * PATIENTS_EACH
    assert sorted(stored) == sorted(acknowledged)  # none lost, none duplicated
    assert drafts == 0
