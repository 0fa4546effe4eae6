"""Today, a patient's course with its pain chart, and the record's review action, in a real
browser at phone and desktop size, with axe-core finding no WCAG 2.2 A/AA violation."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from .browser_helpers import assert_accessible
from .conftest import DESKTOP, PHONE, add_user
from .test_browser_clinician import sign_in
from .visit_rows import add_check, add_patient, add_visit

pytestmark = pytest.mark.usefixtures("browser")
LONDON = ZoneInfo("Europe/London")
DAY = dt.date(2026, 4, 14)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON)


@pytest.fixture
def clinic_day(app):
    """A day of visits in every screening state, and Maria Smith's course of five sessions."""
    states = [
        ("Nora", {}, None),
        ("Sam", {"link": "sent"}, None),
        ("Olga", {"link": "opened"}, None),
        ("Ivan", {"link": "opened", "draft": True}, None),
        ("Rita", {"link": "opened"}, ("suitable", "reviewed")),
        ("Tom", {"link": "opened"}, ("review", "new")),
        ("Nina", {"link": "opened"}, ("not_suitable", "reviewed")),
        ("Uma", {"link": "opened"}, ("urgent", "new")),
    ]
    for n, (name, setup, check) in enumerate(states):
        vid = add_visit(app, add_patient(app, name, "Jones"), at(DAY, 8 + n, 15), **setup)
        if check:
            add_check(app, vid, check[0], state=check[1], name=f"{name} Jones")
    maria = add_patient(app, "Maria", "Smith")
    refs = []
    for n, pain in enumerate([8, 7, 5, 5, 2]):
        day = DAY - dt.timedelta(days=7 * (5 - n))
        vid = add_visit(app, maria, at(day, 10), kind="later" if n else "first", link="opened")
        questionnaire = "follow-up" if n else "acupuncture-low-back-pain"
        sent = at(day - dt.timedelta(days=1), 19)
        outcome, state = ("review", "new") if n == 4 else ("suitable", "reviewed")
        refs.append(
            add_check(app, vid, outcome, questionnaire_id=questionnaire, pain=pain, created_at=sent, state=state)
        )
    add_visit(app, maria, at(DAY, 17, 45), kind="later", link="sent")
    add_user(app, "clinician@example.org", name="Alex Physio")
    return {"maria": maria, "latest": refs[-1]}


@pytest.fixture(params=[PHONE, DESKTOP], ids=["phone", "desktop"])
def page(request, browser, live, clinic_day):
    context = browser.new_context(viewport=request.param)
    tab = context.new_page()
    sign_in(tab, live.url, "clinician@example.org")
    tab.viewport = request.param
    yield tab
    context.close()


def no_sideways_scroll(page) -> None:
    """The page itself never scrolls sideways (a wide table scrolls in its own box)."""
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_today_lands_after_sign_in_and_shows_the_day(page, live, clinic_day):
    assert page.url == live.url + "/review/today"
    assert page.locator("h1").inner_text().startswith("Today")
    assert_accessible(page)
    page.goto(live.url + f"/review/today?day={DAY.isoformat()}")
    attention = page.locator(".today-attention")
    assert attention.is_visible()
    names = attention.locator(".attention-name").all_inner_texts()
    assert names == ["Uma Jones", "Tom Jones"]  # urgent first, then the unreviewed talk-first
    rows = page.locator(".today-table tbody tr")
    assert rows.count() == 9
    assert "URGENT" in rows.nth(7).inner_text().upper() and "Uma Jones" in rows.nth(7).inner_text()
    no_sideways_scroll(page)
    assert_accessible(page)
    with page.expect_navigation():
        page.click("text=Next day")
    assert page.url.endswith("day=2026-04-15")
    assert "No visits are booked on this day." in page.locator("main").inner_text()
    assert_accessible(page)


def test_the_course_page_and_its_chart(page, live, clinic_day):
    page.goto(live.url + f"/review/today?day={DAY.isoformat()}")
    with page.expect_navigation():
        page.locator(".today-table").get_by_role("link", name="Maria Smith").click()
    assert page.url == live.url + f"/review/patients/{clinic_day['maria']}"
    chart = page.get_by_role("img", name="Pain score (0 to 10) at each check")
    assert chart.is_visible()
    box = chart.bounding_box()
    assert box is not None and box["width"] <= page.viewport["width"] and box["height"] > 100
    assert page.locator(".pain-chart__point--meaningful").count() == 2  # 7 → 5 and 5 → 2
    table = page.get_by_role("table", name="Pain scores, oldest first")
    assert table.locator("tbody tr").count() == 5
    assert "Down 3 points: a meaningful improvement" in table.inner_text()
    assert "meaningful improvement" in page.locator(".pain-summary").inner_text()
    no_sideways_scroll(page)
    assert_accessible(page)


def test_the_review_action_is_in_reach_on_the_record(page, live, clinic_day):
    page.goto(live.url + f"/review/submissions/{clinic_day['latest']}")
    assert "Maria Smith" in page.locator(".record-visit").inner_text()
    save = page.get_by_role("button", name="Save review")
    if page.viewport == DESKTOP:
        assert save.bounding_box()["y"] + 40 < DESKTOP["height"]  # in view at once
        page.mouse.wheel(0, 3000)
        page.wait_for_timeout(100)
        box = save.bounding_box()
        assert 0 <= box["y"] < DESKTOP["height"]  # and still in view further down
    else:
        page.click("text=Review this submission")  # the skip link at the top
        page.wait_for_function("location.hash === '#review-title'")
        assert 0 <= save.bounding_box()["y"] < PHONE["height"]
    assert_accessible(page)
    page.check("input[name=outcome][value=contacted]")
    with page.expect_navigation():
        save.click()
    assert "Saved your review" in page.locator("main").inner_text()
    assert page.get_by_role("link", name="Next unreviewed submission").is_visible()
    no_sideways_scroll(page)
    assert_accessible(page)


def test_a_name_search_leaves_no_name_in_the_address_or_the_access_log(browser, live, app, caplog):
    """Type "Smith" in the queue's search: Maria Smith is found; no URL and no log line has her name."""
    import logging

    from .test_review_queue import add_submissions

    add_submissions(app, {"name": "Maria Smith"}, {"name": "Other Person"})
    add_user(app, "searcher@example.org")
    context = browser.new_context(viewport=DESKTOP)
    tab = context.new_page()
    visited: list[str] = []
    tab.on("request", lambda request: visited.append(request.url))
    sign_in(tab, live.url, "searcher@example.org")
    caplog.set_level(logging.INFO, logger="werkzeug")
    tab.goto(live.url + "/review/")
    tab.fill("input[name=q]", "Smith")
    with tab.expect_navigation():
        tab.click("main button:has-text('Filter')")
    rows = tab.locator("main table tbody tr")
    assert rows.count() == 1 and "Maria Smith" in rows.first.inner_text()
    assert tab.input_value("input[name=q]") == "Smith"
    assert_accessible(tab)
    history = tab.evaluate("location.href")
    context.close()
    assert "smith" not in history.lower()
    assert not [url for url in visited if "smith" in url.lower()]
    lines = [record.getMessage() for record in caplog.records if record.name == "werkzeug"]
    assert any("POST /review/search" in line for line in lines)
    assert not [line for line in lines if "smith" in line.lower()]
