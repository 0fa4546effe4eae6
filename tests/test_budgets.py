"""A waiting room on one address is served; a flood from one address is refused (issue 13, item 9)."""

from __future__ import annotations

import re

from .conftest import SMALL, Patient, make_app
from .test_ratelimit import _close_the_counter_store  # noqa: F401 - the database store's connections closed
from .test_review_record import FIRST, SECOND


def send_one(app) -> int:
    """A new patient completes the small questionnaire from the shared address; the send's status."""
    patient = Patient(app.test_client())
    for section, answers in (("first", FIRST), ("second", SECOND)):
        response = patient.answer(section, answers)
        if response.status_code != 302:
            return response.status_code
    status = patient.submit().status_code
    return 302 if status == 303 else status  # sent (a 303 to the outcome page)


def test_thirty_patients_on_one_address_are_never_refused_but_a_flood_is(tmp_path):
    """Thirty patients send at once; a script sending many more is stopped, told the true wait."""
    app = make_app(tmp_path, QUESTIONS_PATH=SMALL, PATIENT_NAME_QUESTION="name", RATELIMIT_STORAGE_URI=None)
    waiting_room = [send_one(app) for _ in range(30)]
    assert set(waiting_room) == {302}
    flood = [send_one(app) for _ in range(40)]
    assert flood[:30] == [302] * 30 and set(flood[30:]) == {429}
    patient = Patient(app.test_client())
    patient.answer("first", FIRST)
    patient.answer("second", SECOND)
    page = patient.post("/intake/submit", token=patient.token("/intake/check")).text
    wait = re.search(r"Please wait (\d+) (minute|second)s?", page)
    assert wait and (wait.group(2) == "second" or int(wait.group(1)) <= 10)


def test_one_patient_posting_faster_than_anyone_types_is_refused(tmp_path):
    """Sixty posts a minute is the most one person's draft may send."""
    app = make_app(tmp_path, QUESTIONS_PATH=SMALL, INTAKE_LIMIT_PER_PATIENT="5 per minute")
    patient = Patient(app.test_client())
    # The first post (before a draft exists) counts only for the address; then five for the draft.
    codes = [patient.answer("first", FIRST).status_code for _ in range(7)]
    assert codes == [302] * 6 + [429]
    assert Patient(app.test_client()).answer("first", FIRST).status_code == 302  # another patient, same address
