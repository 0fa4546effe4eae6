"""The issue's acceptance: a visit made by CSV, by the API and by the form each gives a
link; the patient answers a page in one browser, opens the link in a second browser (no
cookies shared), confirms their date of birth and carries on; one submission."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from screening import db
from screening.models import Submission

from .conftest import Clinician, Patient, add_user
from .visits_helpers import open_link, pages_to_answer, path_of

LINK = re.compile(r"(https?://[^<\s\"]+/i\?t=[\w.-]+)")


def _staff(app) -> Clinician:
    add_user(app, "admin@example.org", role="admin")
    browser = Clinician(app.test_client())
    assert browser.sign_in("admin@example.org").status_code == 302
    return browser


def by_form(app) -> str:
    staff = _staff(app)
    fields = {
        "given_name": "Maria",
        "family_name": "Smith",
        "birth_date": "1970-03-25",
        "starts_at": "2099-03-03T09:30",
    }
    page = staff.post("/review/visits/new", fields | {"phone": "07700 900123"})
    assert page.status_code == 200
    return LINK.search(page.text).group(1)


def by_csv(app) -> str:
    staff = _staff(app)
    text = "given_name,family_name,birth_date,starts_at,phone\nMaria,Smith,25/03/1970,2099-03-03 09:30,07700 900123\n"
    token = staff.token("/review/visits/import")
    page = staff.client.post(
        "/review/visits/import",
        data={"csrf_token": token, "file": (io.BytesIO(text.encode()), "day.csv")},
        content_type="multipart/form-data",
    )
    assert page.status_code == 200, page.text
    return LINK.search(page.text).group(1)


def by_api(app) -> str:
    staff = _staff(app)
    page = staff.post("/review/api-keys", {"name": "Booking system", "scopes": ["visits:write"]})
    key = re.search(r'<code id="new-key">([^<]+)</code>', page.text).group(1)
    booking = {"given_name": "Maria", "family_name": "Smith", "birth_date": "1970-03-25"}
    booking |= {"starts_at": "2099-03-03T09:30:00+00:00", "external_id": "B-1", "phone": "07700 900123"}
    response = app.test_client().post("/api/v1/visits", json=booking, headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 201, response.json
    return response.json["link"]["url"]


@pytest.mark.parametrize("make", [by_csv, by_api, by_form], ids=["csv", "api", "form"])
def test_each_way_gives_a_link_that_resumes_on_another_device(app, make):
    url = make(app)
    pages = pages_to_answer()
    phone, laptop = Patient(app.test_client()), Patient(app.test_client())
    assert open_link(phone, url).location.endswith(f"/intake/{pages[0][0]}")
    assert phone.answer(*pages[0]).status_code == 302
    phone_token = phone.token(f"/intake/{pages[1][0]}")  # page 2 stays open on the phone
    # The second browser shares no cookie with the first: the date of birth again, then page 2.
    assert laptop.client.get_cookie("screening_session") is None
    resumed = open_link(laptop, url)
    assert resumed.status_code == 303 and resumed.location.endswith(f"/intake/{pages[1][0]}")
    for section_id, answers in pages[1:]:
        assert laptop.answer(section_id, answers).status_code == 302, section_id
    token = laptop.token("/intake/check")
    for _ in range(2):  # a double click
        assert laptop.post("/intake/submit", token=token).status_code in (302, 303)
    # The first browser, pressing on or opening the link again, is told the answers are sent.
    pressed_on = phone.post(f"/intake/{pages[1][0]}", pages[1][1], token=phone_token)
    assert "Your answers have been sent" in phone.get(pressed_on.location, follow_redirects=True).text
    assert "Your answers have been sent" in phone.get(path_of(url), follow_redirects=True).text
    with app.app_context():
        sent = db.session().scalars(select(Submission)).all()
        assert len(sent) == 1 and sent[0].visit_id is not None
        assert sent[0].answers["full_name"] == "Maria Smith" and sent[0].answers["phone"] == "07700 900123"


def test_a_second_visit_gets_the_follow_up_check_with_the_first_visits_answers(app):
    """A later visit's link opens the follow-up check; past cancer at the first visit and
    pain worse now is urgent (FR1), because the first visit's answers are in scope."""
    from screening.models import QuestionnaireVersion

    from .test_questionnaires import NOTHING_NEW
    from .visits_helpers import new_visit

    first = new_visit(app, at="2099-03-03 09:30")
    with app.app_context(), db.get_db().transaction() as s:
        s.add(QuestionnaireVersion(version="v-first", questionnaire_id="acupuncture-low-back-pain", definition={}))
        s.flush()
        answers = {"cancer_history": "yes", "cancer_back_pain_checked": "yes", "full_name": "Maria Smith"}
        s.add(
            Submission(
                draft_token="first-visit",
                questionnaire_id="acupuncture-low-back-pain",
                version="v-first",
                answers=answers,
                derived={},
                flags=[],
                outcome="review",
                outcome_rank=2,
                visit_id=first.visit.id,
            )
        )
    later = new_visit(app, at="2099-03-10 09:30")
    assert later.visit.kind == "later" and later.visit.questionnaire_id == "follow-up"
    patient = Patient(app.test_client())
    assert open_link(patient, later.url).status_code == 303
    assert "Before your next acupuncture session" in patient.get("/").text
    assert NOTHING_NEW["since_last_session"]["pain_compared"] == "worse"
    for section_id, answers in NOTHING_NEW.items():
        assert patient.answer(section_id, answers).status_code == 302, section_id
    assert patient.submit().status_code in (302, 303)
    with app.app_context():
        row = db.session().scalars(select(Submission).where(Submission.visit_id == later.visit.id)).one()
        assert row.questionnaire_id == "follow-up"
        assert row.outcome == "urgent" and row.earlier == {"first_visit.cancer_history": "yes"}
