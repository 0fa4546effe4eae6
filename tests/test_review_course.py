"""A patient's course: every visit and check with its outcome, and the pain score across
the course as a server-drawn chart with a table beside it; audited."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from sqlalchemy import select

from screening import db
from screening.models import AuditEvent

from .visit_rows import Statements, add_check, add_patient, add_visit

LONDON = ZoneInfo("Europe/London")


def at(month: int, day: int, hour: int = 9) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, 0, tzinfo=LONDON)


def a_course(app) -> tuple[int, list[str]]:
    """Maria Smith: a first visit, two later sessions (one cancelled), aftercare checks, pain 7 → 6 → 3."""
    pid = add_patient(app, "Maria", "Smith", clinic_ref="PMS-1042")
    first = add_visit(app, pid, at(3, 2), link="opened")
    second = add_visit(app, pid, at(3, 9), kind="later", link="opened")
    add_visit(app, pid, at(3, 16), kind="later", status="cancelled")
    third = add_visit(app, pid, at(4, 6), kind="later", link="sent")  # after the clocks change
    refs = [
        add_check(app, first, "review", pain=7, created_at=at(3, 1, 18), state="reviewed"),
        add_check(app, first, "suitable", questionnaire_id="aftercare", pain=6, created_at=at(3, 3, 10)),
        add_check(app, second, "suitable", questionnaire_id="follow-up", pain=3, created_at=at(3, 8, 20)),
    ]
    assert third
    return pid, refs


def test_the_course_lists_every_visit_and_check_with_its_outcome(app, clinician):
    pid, refs = a_course(app)
    page = clinician.get(f"/review/patients/{pid}")
    assert page.status_code == 200
    text = page.text
    assert "<h1>Maria Smith</h1>" in text and "PMS-1042" in text and "07700 900123" in text
    assert "Visits (4)" in text
    assert text.count("First session") == 1 and text.count("Later session") == 3
    assert "<strong>Cancelled</strong>" in text
    for ref in refs:
        assert f'href="/review/submissions/{ref}"' in text
    assert "First-visit screening" in text and "Aftercare check" in text and "Follow-up check" in text
    assert "Talk first" in text and "Sent" in text  # the screening states of the visits
    # Times in the clinic's zone: 6 April is BST.
    assert re.search(r"Mon 6 Apr 2026, 09:00", text)


def test_the_pain_chart_marks_a_two_point_change_in_words(app, clinician):
    pid, _ = a_course(app)
    text = clinician.get(f"/review/patients/{pid}").text
    svg = re.search(r"<svg .*?</svg>", text, re.S).group(0)
    assert 'role="img"' in svg and "<title" in svg and "<desc" in svg
    assert svg.count('class="pain-chart__point"') == 2 and svg.count("pain-chart__point--meaningful") == 1
    assert "−3" in svg
    assert (
        "Pain went from 7 (1 Mar 2026) to 3 (8 Mar 2026) over 3 scores: down 4 points: a meaningful improvement" in text
    )
    table = text.split('<table class="pain-table">')[1].split("</table>")[0]
    cells = re.findall(r'<td class="pain-score">(\d+)</td>', table)
    assert cells == ["7", "6", "3"]
    assert "<strong>Down 3 points: a meaningful improvement</strong>" in table
    assert "Down 1 point<" in table
    assert "<script" not in text.split("<main")[1]  # the chart needs no JavaScript


def test_a_patient_without_scores_has_no_chart_but_says_so(app, clinician):
    pid = add_patient(app, "No", "Scores")
    add_visit(app, pid, at(3, 2))
    text = clinician.get(f"/review/patients/{pid}").text
    assert "No pain scores yet." in text and "<svg" not in text


def test_each_view_of_a_course_is_audited(app, clinician):
    pid, _ = a_course(app)
    clinician.get(f"/review/patients/{pid}")
    with app.app_context():
        events = db.session().scalars(select(AuditEvent).where(AuditEvent.action == "view_patient")).all()
    assert [e.detail for e in events] == [{"patient_id": pid}]
    assert events[0].actor == "clinician@example.org"


def test_an_unknown_patient_is_404_and_not_audited(app, clinician):
    assert clinician.get("/review/patients/999999").status_code == 404
    assert clinician.get("/review/patients/99999999999999999999").status_code == 404
    with app.app_context():
        assert not db.session().scalars(select(AuditEvent).where(AuditEvent.action == "view_patient")).all()


def test_the_course_needs_a_signed_in_clinician(app):
    pid, _ = a_course(app)
    response = app.test_client().get(f"/review/patients/{pid}")
    assert response.status_code == 302 and "/review/login" in response.location


def test_a_few_queries_however_long_the_course(app, clinician):
    def course_of(visits: int) -> int:
        pid = add_patient(app, f"Long{visits}", "Course")
        for n in range(visits):
            vid = add_visit(app, pid, at(1, 5) + dt.timedelta(days=7 * n), kind="later" if n else "first")
            add_check(app, vid, "suitable", pain=max(0, 8 - n % 9), created_at=at(1, 4) + dt.timedelta(days=7 * n))
        with Statements(app) as seen:
            assert clinician.get(f"/review/patients/{pid}").status_code == 200
        return len(seen.selects)

    short, long = course_of(3), course_of(30)
    assert short == long, (short, long)
    assert long <= 12
