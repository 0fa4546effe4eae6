"""Personal links (spec 3.3): the token, the date-of-birth check and lockout, resume on
another device, one submission, no Referer and no token in a log, key rotation."""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging

from sqlalchemy import func, select

from screening import clock, db
from screening.models import AuditEvent, Draft, Submission

from .conftest import Patient, make_app
from .visits_helpers import BIRTH, new_visit, open_link, pages_to_answer, path_of


def test_resume_on_a_second_device_and_one_submission(app):
    """Spec 3.3 checks 3 and 5: page 1 in one browser, the rest in another, sent once."""
    made = new_visit(app)
    first, second = Patient(app.test_client()), Patient(app.test_client())
    response = open_link(first, made.url)
    assert response.status_code == 303
    pages = pages_to_answer()
    landing = response.location
    assert landing.endswith(f"/intake/{pages[0][0]}")
    assert first.answer(*pages[0]).status_code == 302
    # A second browser (no cookies shared): the same link, the date again, page 2.
    response = open_link(second, made.url)
    assert response.status_code == 303
    assert response.location.endswith(f"/intake/{pages[1][0]}")
    page = second.get(f"/intake/{pages[0][0]}")
    for qid, value in pages[0][1].items():
        if isinstance(value, str):
            assert f'value="{value}"' in page.text or value in page.text, qid
    for section_id, answers in pages[1:]:
        assert second.answer(section_id, answers).status_code == 302, section_id
    about = second.get("/intake/about_you")
    assert 'name="full_name"' not in about.text and 'name="date_of_birth"' not in about.text
    token = second.token("/intake/check")
    # A double click: the same form sent twice.
    assert second.post("/intake/submit", token=token).status_code in (302, 303)
    assert second.post("/intake/submit", token=token).status_code in (302, 303)
    # Both devices now see "already sent"; one submission, with the visit and the identity.
    assert "Your answers have been sent" in second.get("/i/sent").text
    done = first.get("/intake/done", follow_redirects=True)
    assert "Your answers have been sent" in done.text
    reopened = first.get(path_of(made.url), follow_redirects=True)
    assert "Your answers have been sent" in reopened.text
    with app.app_context():
        rows = db.session().scalars(select(Submission)).all()
        assert len(rows) == 1
        assert rows[0].visit_id == made.visit.id
        assert rows[0].answers["full_name"] == "Maria Smith"
        assert rows[0].answers["date_of_birth"] == "1970-03-25"
