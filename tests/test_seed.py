"""seed.py: made-up submissions that the real rules would have produced, inserted fast."""

from __future__ import annotations

import datetime as dt
import random
import re

from sqlalchemy import func, select

from screening import db, rules, seed
from screening.models import OUTCOME_RANK, QuestionnaireVersion, Submission
from screening.questionnaire import coerce_answers, load

from .conftest import DEFAULT

DEFN = load(DEFAULT)
TODAY = dt.date(2026, 11, 24)


def test_a_random_answer_to_every_question_is_a_valid_one():
    """random_answer goes through the type registry's sample: coerce accepts it unchanged."""
    rng = random.Random(1)
    for q in DEFN.questions.values():
        for _ in range(10):
            answer = seed.random_answer(q, rng, TODAY, "full_name")
            assert q.coerce(answer, TODAY) == answer, q.id


def test_the_name_question_gets_a_name():
    """The question configured as the patient's name is answered with a first and last name."""
    q = DEFN.questions["full_name"]
    name = seed.random_answer(q, random.Random(2), TODAY, "full_name")
    first, last = name.split(" ", 1)
    assert first in seed.FIRST_NAMES and last in seed.LAST_NAMES


def test_the_pool_holds_what_the_rules_say(app):
    """Every pooled answer set's outcome, flags and rank are what evaluate gives for it."""
    with app.app_context():
        pool = seed.answer_pool(DEFN, random.Random(3), size=120, today=TODAY)
    assert sum(len(entries) for entries in pool.values()) > 100
    assert pool["suitable"] and pool["urgent"]
    for outcome, entries in pool.items():
        for entry in entries:
            result = rules.evaluate(DEFN, coerce_answers(DEFN, entry["answers"], TODAY), TODAY)
            assert result.outcome == outcome == entry["outcome"]
            assert [f.to_dict() for f in result.flags] == entry["flags"]
            assert entry["outcome_rank"] == OUTCOME_RANK[outcome]


def test_references_look_like_the_apps_own():
    """XXXX-XXXX-XXXX from the unambiguous alphabet, different each time."""
    make = seed.reference_factory()
    references = {make() for _ in range(5000)}
    assert len(references) == 5000
    assert all(re.fullmatch(r"[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}", r) for r in references)


def test_seeding_inserts_rows_the_queue_can_show(app):
    """N rows in batches, with the questionnaire version stored, names copied and seed- tokens."""
    with app.app_context():
        database = db.get_db()
        done = seed.seed(database, app.extensions["screening.questionnaire"], 250, batch_size=100, random_seed=4)
        s = db.session()
        assert done == 250
        assert s.scalar(select(func.count()).select_from(Submission)) == 250
        assert s.get(QuestionnaireVersion, DEFN.version) is not None
        rows = s.scalars(select(Submission)).all()
    assert all(r.draft_token.startswith("seed-") for r in rows)
    assert len({r.reference for r in rows}) == 250
    for r in rows:
        if r.review_state == "erased":
            assert r.answers == {} and r.flags == [] and r.patient_name is None
        else:
            assert r.patient_name and r.answers["full_name"] == r.patient_name
            assert r.name_key == r.patient_name.casefold()
        assert r.outcome_rank == OUTCOME_RANK[r.outcome]
