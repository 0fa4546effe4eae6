"""Random input to every intake page: never a server error, never a bad answer stored."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from screening import db, rules
from screening.models import Draft, Submission
from screening.questionnaire import load, sample

from .conftest import _APPS, DEFAULT, make_app

DEFN = load(DEFAULT)
NASTY = [
    "",
    " ",
    "yes",
    "no",
    "0",
    "-1",
    "11",
    "1e9",
    "2020-02-30",
    "31/12/2999",
    "<script>alert(1)</script>",
    "=cmd|' /C calc'!A0",
    "javascript:alert(1)",
    "'\"; DROP TABLE submissions; --",
    "\x00",
    "\u202e",
    "😀" * 50,
]


def posted(question, answer):
    """An answer as a browser posts it (a ticked box sends its value, "y")."""
    if question.widget == "consent":
        return "y"
    if isinstance(answer, list):
        return [str(v) for v in answer]
    return str(answer)


def valid_for(question) -> st.SearchStrategy:
    """Values the question should accept: the registry's own samples, as posted, and more
    of the same kind (free text may hold anything typeable)."""
    sampled = st.randoms(use_true_random=False).map(lambda rng: posted(question, sample(question, rng)))
    kind, values = question.kind.answer, [str(v) for v in question.values]
    if kind == "text":
        return st.one_of(sampled, st.text(max_size=question.limit or 200), st.sampled_from(NASTY))
    if kind == "date":
        return st.one_of(sampled, st.dates(dt.date(1900, 1, 1), dt.date.today()).map(dt.date.isoformat))
    if kind == "number" and not values:
        return st.one_of(sampled, st.integers(question.low or 0, question.high or 1000).map(str))
    if isinstance(sample(question, random.Random(0)), list):
        return st.one_of(sampled, st.lists(st.sampled_from(values), min_size=1, unique=True))
    return sampled


NASTY_VALUES = st.one_of(st.sampled_from(NASTY), st.text(max_size=300), st.lists(st.text(max_size=20), max_size=4))


@st.composite
def page_posts(draw, section) -> dict:
    """A whole page of valid answers, then up to two answers spoilt, dropped or forged."""
    ids = [q.id for q in section.questions]
    post = draw(st.fixed_dictionaries({q.id: valid_for(q) for q in section.questions}))
    post.update(draw(st.dictionaries(st.sampled_from(ids), NASTY_VALUES, max_size=2)))
    for qid in draw(st.sets(st.sampled_from(ids), max_size=2)):
        post.pop(qid, None)
    forged = st.sampled_from(["outcome", "reviewed", "flags", "review_state", "reference"])
    post.update(draw(st.dictionaries(forged, st.text(max_size=20), max_size=3)))
    return post


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory):
    """One app for all examples (CSRF off: this is about the answers, not the token)."""
    app = make_app(
        tmp_path_factory.mktemp("fuzz"),
        WTF_CSRF_ENABLED=False,
        INTAKE_LIMIT="1000000 per minute",
        INTAKE_LIMIT_PER_PATIENT="1000000 per minute",
    )
    _APPS.remove(app)  # lives for the whole module, not one test
    yield app
    app.extensions["screening.db"].engine.dispose()


def counts(app) -> tuple[int, int]:
    """Drafts and submissions stored."""
    with app.app_context():
        s = db.session()
        return s.scalar(select(func.count()).select_from(Draft)), s.scalar(select(func.count()).select_from(Submission))


@pytest.mark.parametrize("section", DEFN.sections, ids=[s.id for s in DEFN.sections])
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_posts_never_break_a_page(fuzz_app, section, data):
    """No 500; an invalid page stores nothing; a valid one stores only valid answers."""
    post = data.draw(page_posts(section))
    client = fuzz_app.test_client()
    before = counts(fuzz_app)
    response = client.post(f"/intake/{section.id}", data=post)
    assert response.status_code in (302, 400), response.status_code
    drafts, submissions = counts(fuzz_app)
    assert submissions == before[1]  # a page never submits
    if response.status_code == 400:
        if drafts != before[0]:  # an invalid page stores nothing, unless it holds an urgent answer
            with fuzz_app.app_context():
                kept = db.session().scalars(select(Draft).order_by(Draft.created_at.desc())).first().answers
            assert rules.evaluate(DEFN, kept).outcome == "urgent", kept
        return
    assert drafts == before[0] + 1
    with fuzz_app.app_context():
        token = client.get_cookie("screening_session")
        assert token is not None
        newest = db.session().scalars(select(Draft).order_by(Draft.created_at.desc())).first()
        for qid, value in newest.answers.items():
            assert DEFN.questions[qid].coerce(value) == value  # stored answers are valid answers
        assert set(newest.answers) <= {q.id for q in section.questions}


def test_a_hidden_control_character_is_refused_not_a_crash(fuzz_app):
    """NUL cannot be stored by PostgreSQL: the patient is asked to retype instead."""
    client = fuzz_app.test_client()
    response = client.post("/intake/heart_and_medicines", data={"medicines": "aspirin\x00"})
    assert response.status_code == 400
    assert "hidden character" in response.text
