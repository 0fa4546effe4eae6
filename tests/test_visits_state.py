"""A visit's screening state for Today: the pure function and the batch loader."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from screening import db
from screening.models import Draft, Patient, QuestionnaireVersion, Submission, Visit, VisitLink
from screening.visits.state import STATES, VisitRows, load_rows, load_states, screening_state

NOW = dt.datetime(2026, 3, 3, 9, 0, tzinfo=dt.UTC)


def _link(**kw) -> VisitLink:
    values = {"purpose": "screening", "nonce_hash": "x", "expires_at": NOW + dt.timedelta(days=2)} | kw
    return VisitLink(**values)


def test_each_state_from_its_rows():
    assert screening_state([], None, None) == "not sent"
    assert screening_state([_link(revoked_at=NOW)], None, None) == "not sent"
    assert screening_state([_link(purpose="aftercare")], None, None) == "not sent"
    assert screening_state([_link()], None, None) == "sent"
    assert screening_state([_link(revoked_at=NOW), _link(opened_at=NOW)], None, None) == "opened"
    assert screening_state([_link(opened_at=NOW)], Draft(answers={}), None) == "in progress"
    for outcome, state in [
        ("suitable", "ready"),
        ("review", "talk first"),
        ("not_suitable", "not today"),
        ("urgent", "urgent"),
    ]:
        assert screening_state([_link()], Draft(answers={}), Submission(outcome=outcome)) == state
        assert state in STATES


def test_load_states_for_many_visits(app):
    with app.app_context():
        with db.get_db().transaction() as s:
            patient = Patient(
                given_name="Maria", family_name="Smith", birth_date=dt.date(1970, 1, 2), search_name="maria smith"
            )
            s.add(patient)
            visits = [
                Visit(patient=patient, starts_at=NOW + dt.timedelta(hours=i), kind="first", questionnaire_id="q")
                for i in range(4)
            ]
            s.add_all(visits)
            s.flush()
            s.add(_link(visit_id=visits[1].id, nonce_hash="a"))
            s.add(_link(visit_id=visits[2].id, nonce_hash="b", opened_at=NOW))
            s.add(_link(visit_id=visits[3].id, nonce_hash="c", opened_at=NOW))
            s.add(QuestionnaireVersion(version="v1", questionnaire_id="q", definition={}))
            s.flush()
            s.add(
                Submission(
                    draft_token="t",
                    questionnaire_id="q",
                    version="v1",
                    answers={},
                    derived={},
                    flags=[],
                    outcome="urgent",
                    outcome_rank=0,
                    visit_id=visits[3].id,
                )
            )
            s.add(Draft(answers={}, expires_at=NOW + dt.timedelta(days=1), visit_id=visits[2].id))
            ids = [v.id for v in visits]
        states = load_states(db.session(), db.session().query(Visit).order_by(Visit.id).all(), now=NOW)
        assert [states[i] for i in ids] == ["not sent", "sent", "in progress", "urgent"]
        # A draft that has expired no longer counts: the link was opened.
        later = NOW + dt.timedelta(days=2)
        assert load_states(db.session(), db.session().query(Visit).all(), now=later)[ids[2]] == "opened"
        # Given the query of the visits rather than their ids (as Today does), the same rows;
        # a visit with none has empty ones.
        listed = load_rows(db.session(), ids, now=NOW)
        queried = load_rows(db.session(), select(Visit.id).where(Visit.id.in_(ids[1:])), now=NOW)
        assert [queried[i] for i in ids[1:]] == [listed[i] for i in ids[1:]]
        assert queried[ids[0]] == listed[ids[0]] == VisitRows([], None, None)
        assert [len(queried[i].links) for i in ids] == [0, 1, 1, 1]


def test_an_aftercare_check_does_not_change_the_screening_state(app):
    """The day-after check belongs to the visit too, but the screening state is the visit's
    own questionnaire's: an urgent aftercare answer does not turn "ready" into "urgent"."""
    with app.app_context():
        with db.get_db().transaction() as s:
            patient = Patient(
                given_name="Ann", family_name="Lee", birth_date=dt.date(1980, 5, 6), search_name="ann lee"
            )
            visit = Visit(patient=patient, starts_at=NOW, kind="first", questionnaire_id="q")
            s.add(visit)
            s.add(QuestionnaireVersion(version="v1", questionnaire_id="q", definition={}))
            s.add(QuestionnaireVersion(version="v2", questionnaire_id="aftercare", definition={}))
            s.flush()
            s.add(_link(visit_id=visit.id, nonce_hash="s", opened_at=NOW))
            s.add(_link(visit_id=visit.id, nonce_hash="a", purpose="aftercare"))
            common = {"answers": {}, "derived": {}, "flags": [], "visit_id": visit.id}
            s.add(
                Submission(
                    draft_token="t1", questionnaire_id="q", version="v1", outcome="suitable", outcome_rank=3, **common
                )
            )
            s.flush()
            s.add(
                Submission(
                    draft_token="t2",
                    questionnaire_id="aftercare",
                    version="v2",
                    outcome="urgent",
                    outcome_rank=0,
                    created_at=NOW + dt.timedelta(days=1),
                    **common,
                )
            )
            s.add(
                Draft(
                    answers={}, questionnaire_id="aftercare", expires_at=NOW + dt.timedelta(days=3), visit_id=visit.id
                )
            )
            visit_id = visit.id
        states = load_states(db.session(), db.session().query(Visit).all(), now=NOW + dt.timedelta(days=1))
        assert states[visit_id] == "ready"
