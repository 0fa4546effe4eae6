"""Rate-limit counters in the app's own database: shared, and no extra write per request."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Engine, event, select

from screening import db
from screening.extensions import limiter
from screening.models import RateLimitCounter
from screening.questionnaire import load
from screening.ratelimit import DatabaseStorage

from .conftest import DEFAULT, Clinician, Patient, add_user, make_app
from .http_patient import all_clear_answers

WRITES = ("INSERT", "UPDATE", "DELETE")


@pytest.fixture(autouse=True)
def _close_the_counter_store():
    """The database store has its own engine: close its connections after each test."""
    yield
    if isinstance(limiter.storage, DatabaseStorage):
        limiter.storage.database.engine.dispose()


@contextmanager
def counting_writes() -> Iterator[list[str]]:
    """Each committed transaction that wrote, as the statements it wrote (every engine)."""
    committed: list[str] = []
    open_writes: dict[int, list[str]] = {}

    def before_execute(conn, _cursor, statement, _parameters, _context, _many) -> None:
        """Remember a write on this connection."""
        if statement.lstrip().split(None, 1)[0].upper() in WRITES:
            open_writes.setdefault(id(conn), []).append(statement.split("(")[0][:40])

    def on_commit(conn) -> None:
        """A transaction that wrote has committed."""
        if id(conn) in open_writes:
            committed.append(" | ".join(open_writes.pop(id(conn))))

    event.listen(Engine, "before_cursor_execute", before_execute)
    event.listen(Engine, "commit", on_commit)
    try:
        yield committed
    finally:
        event.remove(Engine, "before_cursor_execute", before_execute)
        event.remove(Engine, "commit", on_commit)


def test_a_patients_post_is_one_write_transaction_with_its_hit_inside(tmp_path):
    """With the default store, every saved page and the send commit once, the counter with them."""
    app = make_app(tmp_path, RATELIMIT_STORAGE_URI=None)
    patient = Patient(app.test_client())
    pages = all_clear_answers(load(DEFAULT))
    per_post = []
    for section_id, answers in pages.items():
        with counting_writes() as writes:
            assert patient.answer(section_id, answers).status_code == 302
        per_post.append(writes)
    with counting_writes() as writes:
        patient.submit()
    per_post.append(writes)
    assert all(len(writes) == 1 for writes in per_post), per_post
    assert all("rate_limits" in writes[0] for writes in per_post), per_post
    with app.app_context():
        rows = db.session().execute(select(RateLimitCounter.key, RateLimitCounter.count)).all()
    hits = [count for key, count in rows if "/budget/" not in key]
    assert sum(hits) == len(per_post)  # every POST was counted (a counter per page kind)
    # ... and in the patient's own budget once they had a draft, and the send in the address's.
    budgets = {key.split("/budget/")[1].split(":")[0]: count for key, count in rows if "/budget/" in key}
    assert sum(count for key, count in rows if "/budget/patient" in key) == len(per_post) - 1
    assert budgets["send"] == 1


def test_a_refused_post_is_still_counted(tmp_path):
    """A POST that writes nothing (a bad form) has its hit written at the end of the request."""
    app = make_app(tmp_path, RATELIMIT_STORAGE_URI=None, INTAKE_LIMIT="2 per minute")
    client = app.test_client()
    with counting_writes() as writes:
        codes = [client.post("/intake/warning_signs").status_code for _ in range(3)]
    assert codes == [400, 400, 429]
    assert len(writes) == 3 and all("rate_limits" in w for w in writes)


def test_no_rate_limit_headers_on_sign_in_or_the_patients_pages(tmp_path):
    """How many tries are left is nobody's business: no X-RateLimit headers anywhere."""
    app = make_app(tmp_path, RATELIMIT_STORAGE_URI=None)
    add_user(app, "clinician@example.org")
    browser = Clinician(app.test_client())
    responses = [
        browser.client.get("/review/login"),
        browser.sign_in("clinician@example.org", "wrong password here"),
        browser.sign_in("clinician@example.org"),
        app.test_client().post("/intake/warning_signs"),
    ]
    for response in responses:
        assert not [
            name for name, _ in response.headers.items() if name.lower().startswith(("x-ratelimit", "retry-after"))
        ]
