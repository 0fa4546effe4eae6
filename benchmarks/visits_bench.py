"""7. The clinician's Today with 200 visits, and the course page of a patient with 30 visits,
on the seeded database (the submissions the queue benchmark left in it).

Both are timed in-process (Flask test client, a signed-in clinician: auth, queries,
template), with the number of statements each page runs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from sqlalchemy import create_engine, event, insert, select, text

from .common import Target, frozen_like_a_worker, latency_summary, make_app
from .queue_bench import sign_in_test_client, timed

DAY = dt.date(2030, 6, 3)  # a Monday far from the seeded rows, so nothing else is on it
VISITS_ON_THE_DAY = 200
COURSE_VISITS = 30


def _populate(app: Any) -> int:
    """200 visits on DAY in every screening state, and one patient with 30 visits and checks;
    returns that patient's id."""
    from screening import db
    from screening.models import (
        OUTCOME_RANK,
        Draft,
        Patient,
        QuestionnaireVersion,
        Submission,
        Visit,
        VisitLink,
        new_reference,
        new_token,
    )

    far = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
    start = dt.datetime.combine(DAY, dt.time(8), dt.UTC)
    outcomes = ["suitable", "review", "not_suitable", "urgent"]
    with app.app_context(), db.get_db().transaction() as s:
        version = s.scalar(select(QuestionnaireVersion.version).limit(1))
        assert version is not None, "seed the database first"

        def check(visit_id: int, n: int, at: dt.datetime, questionnaire: str = "acupuncture-low-back-pain") -> dict:
            outcome = outcomes[n % 4]
            return {
                "reference": new_reference(),
                "draft_token": new_token(),
                "questionnaire_id": questionnaire,
                "version": version,
                "answers": {"pain_now": (8 - n) % 11},
                "derived": {},
                "flags": [],
                "outcome": outcome,
                "outcome_rank": OUTCOME_RANK[outcome],
                "created_at": at,
                "patient_name": "Bench Patient",
                "name_key": "bench patient",
                "review_state": "new" if n % 3 else "reviewed",
                "visit_id": visit_id,
            }

        checks = []
        for n in range(VISITS_ON_THE_DAY):
            patient = Patient(
                given_name=f"Day{n}", family_name="Bench", birth_date=dt.date(1970, 1, 1), search_name=f"day{n} bench"
            )
            visit = Visit(
                patient=patient,
                starts_at=start + dt.timedelta(minutes=3 * n),
                kind="first" if n % 2 else "later",
                questionnaire_id="acupuncture-low-back-pain",
            )
            s.add(visit)
            s.flush()
            if n % 5:
                link = VisitLink(
                    visit_id=visit.id,
                    purpose="screening",
                    nonce_hash=hashlib.sha256(secrets.token_bytes(16)).hexdigest(),
                    expires_at=far,
                    opened_at=start if n % 5 > 1 else None,
                )
                s.add(link)
            if n % 5 == 3:
                s.add(Draft(visit_id=visit.id, answers={}, expires_at=far))
            if n % 5 == 4:
                checks.append(check(visit.id, n, start - dt.timedelta(days=1)))
        patient = Patient(given_name="Course", family_name="Bench", birth_date=dt.date(1970, 1, 1), search_name="x")
        s.add(patient)
        s.flush()
        for n in range(COURSE_VISITS):
            at = start - dt.timedelta(days=7 * (COURSE_VISITS - n))
            visit = Visit(patient_id=patient.id, starts_at=at, kind="later" if n else "first", questionnaire_id="x")
            s.add(visit)
            s.flush()
            checks.append(check(visit.id, n, at - dt.timedelta(hours=12)))
            checks.append(check(visit.id, n + 1, at + dt.timedelta(hours=20), "aftercare"))
        s.execute(insert(Submission), checks)
        return patient.id


def analyze(target: Target) -> None:
    """ANALYZE every table (the visits, links and drafts just added)."""
    engine = create_engine(target.url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()


def measure(target: Target, quick: bool) -> dict[str, Any]:
    """Today with 200 visits and a 30-visit course: p50/p95 in-process, and statements per page."""
    # 200 samples: the p95 of 40 was their second slowest, one scheduler hiccup on a shared machine.
    samples, budget = (10, 1.0) if quick else (200, 15.0)
    app = make_app(target)
    patient_id = _populate(app)
    analyze(target)  # fresh statistics for the new visits, as autovacuum would have made them
    client = sign_in_test_client(app)
    engine = app.extensions["screening.db"].engine
    results: dict[str, Any] = {"samples": samples, "pages": {}}
    for name, url in (
        (f"Today, {VISITS_ON_THE_DAY} visits", f"/review/today?day={DAY.isoformat()}"),
        (f"course, {COURSE_VISITS} visits", f"/review/patients/{patient_id}"),
    ):
        statements: list[str] = []

        def capture(_conn, _cursor, statement, *_rest, seen: list[str] = statements) -> None:
            seen.append(statement)

        event.listen(engine, "before_cursor_execute", capture)
        response = client.get(url)
        event.remove(engine, "before_cursor_execute", capture)
        assert response.status_code == 200, (url, response.status_code)

        def get(url: str = url) -> None:
            assert client.get(url).status_code == 200

        with frozen_like_a_worker():
            times = timed(get, samples, budget)
        results["pages"][name] = {"in_process": latency_summary(times), "statements": len(statements)}
    engine.dispose()
    return results
