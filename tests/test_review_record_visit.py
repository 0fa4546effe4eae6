"""The record a clinician acts on: the visit and the course at the top, the review action
before the answers, "next unreviewed" to move on, and times in the clinic's zone."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from .test_review_queue import add_submissions
from .visit_rows import add_check, add_patient, add_visit

LONDON = ZoneInfo("Europe/London")


def test_the_record_shows_its_visit_and_links_to_the_course(app, clinician):
    pid = add_patient(app, "Maria", "Smith", phone="07700 900456", email="maria@example.org")
    vid = add_visit(app, pid, dt.datetime(2026, 4, 6, 9, 30, tzinfo=LONDON), kind="later", clinician="Sam Needle")
    ref = add_check(app, vid, "review", questionnaire_id="follow-up")
    text = clinician.get(f"/review/submissions/{ref}").text
    visit = text.split('aria-labelledby="visit-title"')[1].split("</section>")[0]
    assert "Mon 6 Apr 2026, 09:30 BST" in visit  # the clinic's zone, summer time
    assert "Later session: acupuncture, with Sam Needle" in visit
    assert 'href="tel:07700900456"' in visit and "maria@example.org" in visit
    assert f'href="/review/patients/{pid}"' in visit
    # All of it comes before the flags and the answers.
    assert text.index("visit-title") < text.index("flags-title") < text.index("answers-title")


def test_the_review_action_comes_before_the_answers(app, clinician):
    (ref,) = add_submissions(app, {"outcome": "urgent", "name": "Ann Smith"})
    text = clinician.get(f"/review/submissions/{ref}").text
    assert text.index('id="review-title"') < text.index('id="flags-title"') < text.index('id="answers-title"')
    assert 'href="#review-title">Review this submission</a>' in text
    assert "record--with-action" in text


def review(clinician, ref: str) -> None:
    """Mark a submission reviewed through its form."""
    token = clinician.token(f"/review/submissions/{ref}")
    response = clinician.post(f"/review/submissions/{ref}/review", {"outcome": "cleared", "note": ""}, token=token)
    assert response.status_code == 303


def test_next_unreviewed_goes_to_the_top_of_the_unreviewed_queue(app, clinician):
    t = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
    urgent, talk, suitable, done = add_submissions(
        app,
        {"outcome": "urgent", "created_at": t},
        {"outcome": "review", "created_at": t + dt.timedelta(hours=2)},
        {"outcome": "suitable", "created_at": t + dt.timedelta(hours=3)},
        {"outcome": "urgent", "created_at": t + dt.timedelta(hours=4), "state": "reviewed"},
    )

    def next_of(ref: str) -> str | None:
        found = re.search(
            r'href="/review/submissions/([A-Z0-9-]+)" rel="next"', clinician.get(f"/review/submissions/{ref}").text
        )
        return found.group(1) if found else None

    assert next_of(done) == urgent
    assert next_of(urgent) == talk
    assert next_of(talk) == urgent
    review(clinician, urgent)
    review(clinician, talk)
    assert next_of(urgent) == suitable
    review(clinician, suitable)
    assert next_of(suitable) is None
    assert "No other submission is waiting for review." in clinician.get(f"/review/submissions/{suitable}").text


def test_the_print_view_has_no_form_and_no_next_link(app, clinician):
    (ref,) = add_submissions(app, {"outcome": "review"})
    text = clinician.get(f"/review/submissions/{ref}?print=1").text
    assert "<form" not in text.split("<main")[1] and 'rel="next"' not in text
