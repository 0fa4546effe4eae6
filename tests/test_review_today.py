"""Today: the clinic's visits for a day in its own time zone, with screening and review
states, what needs a clinician first at the top, and a few queries however many visits."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from screening import clock, db
from screening.models import AuditEvent

from .conftest import Clinician, add_user
from .visit_rows import Statements, add_check, add_patient, add_visit

LONDON = ZoneInfo("Europe/London")
ROW = re.compile(r'<tr class="today-row[^"]*">(.*?)</tr>', re.S)


def local(*args: int, fold: int = 0) -> dt.datetime:
    """A wall-clock time in London."""
    return dt.datetime(*args, tzinfo=LONDON).replace(fold=fold)


def rows(page) -> list[tuple[str, str]]:
    """(time, patient) of each visit in the day's table, top to bottom."""
    assert page.status_code == 200, page.text
    found = []
    for row in ROW.findall(page.text):
        time = re.search(r"<time[^>]*>([^<]+)</time>", row).group(1)
        name = re.search(r'<th scope="row"><a [^>]*>([^<]+)</a>', row).group(1)
        found.append((time, name))
    return found


def test_signing_in_lands_on_today(app):
    add_user(app, "clinician@example.org")
    browser = Clinician(app.test_client())
    response = browser.sign_in("clinician@example.org")
    assert response.status_code == 302 and response.location.endswith("/review/today")


def test_the_last_sunday_of_march_is_23_hours_long(app, clinician):
    """Clocks go forward at 01:00 GMT: 00:30, the 01:30 that becomes 02:30, and 23:30 are all on the 29th."""
    who = {name: add_patient(app, name, "Day") for name in ("Before", "Early", "Gap", "Late", "Next", "Prev")}
    add_visit(app, who["Prev"], local(2026, 3, 28, 23, 59))
    add_visit(app, who["Early"], local(2026, 3, 29, 0, 30))
    add_visit(app, who["Gap"], local(2026, 3, 29, 1, 30))  # does not exist: read as 01:30 GMT = 02:30 BST
    add_visit(app, who["Late"], local(2026, 3, 29, 23, 30))
    add_visit(app, who["Next"], local(2026, 3, 30, 0, 0))
    assert local(2026, 3, 29, 23, 30).astimezone(dt.UTC).hour == 22  # BST by then
    assert rows(clinician.get("/review/today?day=2026-03-29")) == [
        ("00:30", "Early Day"),
        ("02:30", "Gap Day"),
        ("23:30", "Late Day"),
    ]
    assert rows(clinician.get("/review/today?day=2026-03-28")) == [("23:59", "Prev Day")]
    assert rows(clinician.get("/review/today?day=2026-03-30")) == [("00:00", "Next Day")]


def test_the_last_sunday_of_october_is_25_hours_long(app, clinician):
    """Clocks go back at 02:00 BST: 01:30 happens twice, and both are on the 25th, in order."""
    who = {name: add_patient(app, name, "Day") for name in ("Early", "First", "Second", "Late", "Prev")}
    add_visit(app, who["Prev"], local(2026, 10, 24, 23, 30))
    add_visit(app, who["Late"], local(2026, 10, 25, 23, 30))
    add_visit(app, who["Second"], local(2026, 10, 25, 1, 30, fold=1))  # 01:30 GMT
    add_visit(app, who["First"], local(2026, 10, 25, 1, 30))  # 01:30 BST, an hour earlier
    add_visit(app, who["Early"], local(2026, 10, 25, 0, 30))  # 23:30 UTC on the 24th
    assert local(2026, 10, 25, 0, 30).astimezone(dt.UTC).day == 24
    assert rows(clinician.get("/review/today?day=2026-10-25")) == [
        ("00:30", "Early Day"),
        ("01:30", "First Day"),
        ("01:30", "Second Day"),
        ("23:30", "Late Day"),
    ]
    assert rows(clinician.get("/review/today?day=2026-10-24")) == [("23:30", "Prev Day")]


def test_today_is_the_clinics_today_and_tomorrow_is_one_click_away(app, clinician):
    """At 23:30 UTC on 31 May it is already 1 June in London."""
    pid = add_patient(app, "June", "First")
    add_visit(app, pid, local(2026, 6, 1, 9, 0))
    add_visit(app, add_patient(app, "June", "Second"), local(2026, 6, 2, 9, 0))
    with clock.frozen(dt.datetime(2026, 5, 31, 23, 30, tzinfo=dt.UTC)):
        page = clinician.get("/review/today")
        assert rows(page) == [("09:00", "June First")]
        assert "<h1>Today" in page.text and "Monday 1 June 2026" in page.text
        tomorrow = re.search(r'href="([^"]+)" rel="next">Tomorrow', page.text).group(1)
        assert tomorrow == "/review/today?day=2026-06-02"
        assert re.search(r'href="/review/today\?day=2026-05-31" rel="prev">', page.text)
        assert rows(clinician.get(tomorrow)) == [("09:00", "June Second")]


def test_each_visit_shows_its_screening_and_review_state(app, clinician):
    day = (2026, 4, 14)
    states = {}
    for hour, (name, setup) in enumerate(
        {
            "Nosend": {},
            "Revoked": {"link": "revoked"},
            "Sent": {"link": "sent"},
            "Opened": {"link": "opened"},
            "Drafting": {"link": "opened", "draft": True},
            "Ready": {"link": "opened", "check": ("suitable", "reviewed")},
            "Talk": {"link": "opened", "check": ("review", "new")},
            "Nottoday": {"link": "opened", "check": ("not_suitable", "reviewed")},
            "Urgent": {"link": "opened", "check": ("urgent", "new")},
        }.items()
    ):
        pid = add_patient(app, name, "Patient")
        check = setup.pop("check", None)
        vid = add_visit(app, pid, local(*day, 8 + hour, 0), kind="later" if hour % 2 else "first", **setup)
        if check:
            # A later visit's screening is the follow-up check (its own questionnaire).
            questionnaire = "follow-up" if hour % 2 else "acupuncture-low-back-pain"
            add_check(app, vid, check[0], state=check[1], name=f"{name} Patient", questionnaire_id=questionnaire)
        states[name] = check
    page = clinician.get("/review/today?day=2026-04-14").text
    table = page.split('<table class="today-table">')[1]
    found = dict(
        re.findall(
            r'>(\w+) Patient</a></th>\s*<td><span class="visit-state[^"]*">'
            r'<span class="visit-state__mark" aria-hidden="true"></span>([^<]+)</span>',
            table,
        )
    )
    assert found == {
        "Nosend": "Not sent",
        "Revoked": "Not sent",
        "Sent": "Sent",
        "Opened": "Opened",
        "Drafting": "In progress",
        "Ready": "Ready",
        "Talk": "Talk first",
        "Nottoday": "Not today",
        "Urgent": "Urgent",
    }
    assert "First session" in table and "Later session" in table and "Alex Physio" in table
    assert table.count(">Not reviewed<") == 2 and table.count(">Reviewed<") == 2
    # What needs a clinician first: urgent, then the unreviewed talk-first; nothing reviewed.
    attention = page.split('class="today-attention"')[1].split("</section>")[0]
    assert re.findall(r'class="attention-name" href="[^"]+">([^<]+)</a>', attention) == [
        "Urgent Patient",
        "Talk Patient",
    ]
    assert page.index("today-attention") < page.index("today-table")


def test_a_cancelled_visit_is_listed_apart(app, clinician):
    add_visit(app, add_patient(app, "Off", "Today"), local(2026, 4, 14, 9, 0), status="cancelled")
    add_visit(app, add_patient(app, "On", "Today"), local(2026, 4, 14, 10, 0))
    page = clinician.get("/review/today?day=2026-04-14")
    assert rows(page) == [("10:00", "On Today")]
    assert "Cancelled (1)" in page.text and "Off Today" in page.text


def test_a_few_queries_whatever_the_number_of_visits(app, clinician):
    """No query per visit: 3 visits and 30 visits cost the same number of statements."""

    def day_with(day: int, count: int) -> int:
        for n in range(count):
            pid = add_patient(app, f"P{day}x{n}", "Many")
            vid = add_visit(app, pid, local(2026, 5, day, 8, 0) + dt.timedelta(minutes=10 * n), link="opened")
            if n % 2:
                add_check(app, vid, "review", name=f"P{day}x{n} Many")
        with Statements(app) as seen:
            page = clinician.get(f"/review/today?day=2026-05-{day:02d}")
        assert len(rows(page)) == count
        return len(seen.selects)

    few, many = day_with(5, 3), day_with(6, 30)
    assert few == many, (few, many)
    assert many <= 10


@pytest.mark.parametrize("day", ["tomorrow", "2026-02-30", "2026-3-1", "9" * 300])
def test_a_bad_day_is_explained(clinician, day):
    page = clinician.get("/review/today", query_string={"day": day})
    assert page.status_code == 400
    assert "There is a problem with the day" in page.text
    assert "YYYY-MM-DD" in page.text or "is not a real date" in page.text


def test_each_view_is_audited_without_names(app, clinician):
    add_visit(app, add_patient(app, "Audit", "Me"), local(2026, 4, 14, 9, 0))
    clinician.get("/review/today?day=2026-04-14")
    with app.app_context():
        events = db.session().scalars(select(AuditEvent).where(AuditEvent.action == "view_today")).all()
    assert [e.detail for e in events] == [{"day": "2026-04-14"}]


def test_today_needs_a_signed_in_clinician(app):
    response = app.test_client().get("/review/today")
    assert response.status_code == 302 and "/review/login" in response.location
