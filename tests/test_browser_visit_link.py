"""A personal link in a real browser at phone (and desktop) size: the date-of-birth
check with its error, the lock page, resuming in a second browser; axe-core on each."""

from __future__ import annotations

import pytest

from .browser_helpers import ALL_CLEAR, assert_accessible
from .conftest import DESKTOP, PHONE
from .test_browser_patient import fill, press_continue
from .visits_helpers import new_visit, path_of


def _type_date(page, day: str, month: str, year: str) -> None:
    page.fill("#dob", day)
    page.fill("#dob-month", month)
    page.fill("#dob-year", year)
    with page.expect_navigation():
        page.click("button[type=submit]")


@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_link_date_of_birth_and_resume_in_a_second_browser(live, browser, size):
    made = new_visit(live.app, at="2099-03-03 09:30")
    url = live.url + path_of(made.url)
    first = browser.new_context(viewport=size)
    second = browser.new_context(viewport=size)
    try:
        page = first.new_page()
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        page.goto(url)
        # The token is gone from the address bar: the page is the date-of-birth check.
        assert page.url == live.url + "/i/check"
        assert page.locator("h1").inner_text() == "Please confirm your date of birth"
        assert_accessible(page)
        _type_date(page, "1", "1", "1971")
        assert page.locator(".error-summary").is_visible()
        assert page.title().startswith("Error:")
        assert_accessible(page)
        _type_date(page, "25", "3", "1970")
        assert "/intake/warning_signs" in page.url
        fill(page, ALL_CLEAR["warning_signs"])
        press_continue(page)
        assert "/intake/more_warning_signs" in page.url
        # Only this site's resources were asked for.
        assert all(r.startswith(live.url) for r in requests), requests
        # Another browser, no cookies shared: the same link, the date, page 2 with page 1 kept.
        other = second.new_page()
        other.goto(url)
        _type_date(other, "25", "03", "1970")
        assert "/intake/more_warning_signs" in other.url
        assert_accessible(other)
        other.goto(live.url + "/intake/warning_signs")
        first_answer = next(iter(ALL_CLEAR["warning_signs"].items()))
        assert other.locator(f'input[name="{first_answer[0]}"][value="{first_answer[1]}"]').is_checked()
    finally:
        first.close()
        second.close()


def test_lock_and_expired_pages_pass_axe(live, browser):
    made = new_visit(live.app, at="2099-03-03 09:30")
    context = browser.new_context(viewport=PHONE)
    try:
        page = context.new_page()
        page.goto(live.url + path_of(made.url))
        for _ in range(5):
            _type_date(page, "2", "2", "1972")
        assert page.locator("h1").inner_text() == "Please wait before you try again"
        assert_accessible(page)
        page.goto(live.url + "/i?t=not-a-real-token")
        assert page.locator("h1").inner_text() == "This link does not work"
        assert_accessible(page)
    finally:
        context.close()
