"""A database that cannot be written, then can again (issue 13, item 20)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from screening import db

from .conftest import Patient, make_app


@contextlib.contextmanager
def read_only(path: Path):
    """The file cannot be opened for writing (root ignores modes: it is made immutable instead)."""
    if os.getuid() == 0:
        subprocess.run(["chattr", "+i", str(path)], check=True)
    else:
        path.chmod(0o400)
    try:
        yield
    finally:
        if os.getuid() == 0:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        else:
            path.chmod(0o600)


@pytest.mark.skipif(bool(os.environ.get("TEST_DATABASE_URL")), reason="SQLite's file")
@pytest.mark.skipif(os.getuid() == 0 and not shutil.which("chattr"), reason="needs chattr as root")
def test_a_read_only_database_is_reported_and_writes_recover_without_a_restart(tmp_path):
    """/healthz says read-only while the file cannot be written; once it can, saving works again."""
    app = make_app(tmp_path, PROPAGATE_EXCEPTIONS=False)
    app.testing = False  # a failed write is answered as in production (a 500 page), not raised
    questions = app.extensions["screening.questionnaire"].sections[0].questions
    answers = {q.id: "no" for q in questions}
    path = Path(db.get_db_of(app).url.removeprefix("sqlite:///"))

    def save_and_check() -> tuple[int, dict]:
        return Patient(app.test_client()).answer("warning_signs", answers).status_code, app.test_client().get(
            "/healthz"
        ).json

    assert save_and_check() == (302, {"status": "ok", "database": "ok"})
    db.get_db_of(app).engine.dispose()  # the connections to come open a read-only file
    with read_only(path):
        status, health = save_and_check()
        assert status == 500
        assert health == {"status": "unavailable", "database": "read-only"}
    assert save_and_check() == (302, {"status": "ok", "database": "ok"})
