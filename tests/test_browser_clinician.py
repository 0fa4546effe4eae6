"""The clinician's round in a real browser, and axe-core on every clinician page."""

from __future__ import annotations

import pyotp
import pytest

from .browser_helpers import assert_accessible
from .conftest import DESKTOP, PASSWORD, PHONE, add_user, totp_secret

pytestmark = pytest.mark.usefixtures("browser")


def sign_in(page, base: str, email: str, password: str = PASSWORD) -> None:
    """Sign in through the form, as a person would."""
    page.goto(base + "/review/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("main button[type=submit]")
    enter_code(page, email)


def enter_code(page, email: str) -> None:
    """The second step, as a person would: the code their authenticator app shows (checked by axe too)."""
    if "/review/login/code" not in page.url:
        return
    assert_accessible(page)
    page.fill("input[name=code]", pyotp.TOTP(totp_secret(email)).now())
    with page.expect_navigation():
        page.click("main button[type=submit]")


@pytest.fixture
def submissions(submission_factory):
    """Three patients: one all clear, one urgent (sent last), one needing a talk."""
    return {
        "suitable": submission_factory(),
        "review": submission_factory({"anticoagulant": "yes"}),
        "urgent": submission_factory({"saddle_numbness": "yes"}),
    }


@pytest.fixture
def signed_in(live, browser, app):
    """A clinician's browser, signed in through the form."""
    add_user(app, "clinician@example.org", name="Alex Physio")
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(live.url + "/review/")
    assert page.url.startswith(live.url + "/review/login")
    assert_accessible(page)
    page.fill("input[name=email]", "clinician@example.org")
    page.fill("input[name=password]", "correct horse battery")
    with page.expect_navigation():
        page.click("main button[type=submit]")
    enter_code(page, "clinician@example.org")
    yield page
    context.close()


def test_a_clinicians_review_round(submissions, signed_in, live):
    """Sign in, find the urgent one at the top, open it, read why, mark it reviewed."""
    page = signed_in
    assert page.url == live.url + "/review/"
    assert_accessible(page)
    first_row = page.locator("main table tbody tr").first
    assert submissions["urgent"] in first_row.inner_text()
    with page.expect_navigation():
        first_row.locator("a").first.click()
    assert submissions["urgent"] in page.title()
    assert "cauda equina" in page.locator("main").inner_text().lower()
    assert_accessible(page)
    page.check("input[name=outcome][value=referred]")
    page.fill("textarea[name=note]", "Phoned: going to A&E now.")
    with page.expect_navigation():
        page.click("text=Save review")
    text = page.locator("main").inner_text()
    assert "Referred" in text and "Alex Physio" in text
    assert_accessible(page)


def test_review_errors_are_accessible(submissions, signed_in, live):
    """A review sent without a decision shows the error summary, and it passes axe."""
    page = signed_in
    page.goto(f"{live.url}/review/submissions/{submissions['review']}")
    with page.expect_navigation():
        page.click("text=Save review")
    assert page.locator(".error-summary").count() == 1
    assert_accessible(page)


def test_failed_sign_in_page_is_accessible(live, browser, app):
    """The sign-in page with an error passes axe."""
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    sign_in(page, live.url, "nobody@example.org", "not the password at all")
    assert "not right" in page.locator("main").inner_text()
    assert_accessible(page)
    context.close()


@pytest.mark.parametrize("path", ["/review/users", "/review/users/new", "/review/audit", "/review/password"])
def test_admin_pages_are_accessible(submissions, live, browser, app, path):
    """Accounts, audit log and password pages pass axe (as an admin)."""
    add_user(app, "admin@example.org", role="admin")
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    sign_in(page, live.url, "admin@example.org")
    page.goto(f"{live.url}/review/submissions/{submissions['urgent']}")  # something in the audit log
    page.goto(live.url + path)
    assert page.title()
    assert_accessible(page)
    context.close()


def test_queue_and_record_on_a_phone(submissions, live, browser, app):
    """Between sessions on a phone: the queue and a record reflow without sideways scrolling."""
    add_user(app, "clinician@example.org")
    context = browser.new_context(viewport={"width": 320, "height": 640})
    page = context.new_page()
    sign_in(page, live.url, "clinician@example.org")
    for path in ("/review/", f"/review/submissions/{submissions['urgent']}"):
        page.goto(live.url + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 320, path
    context.close()


def test_first_run_setup_and_print_view_are_accessible(live, browser, app, submissions):
    """The one-time setup page (with an error) and the printable record pass axe."""
    from screening.review.accounts import setup_token

    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(f"{live.url}/setup?token={setup_token(app.instance_path)}")
    assert_accessible(page)
    page.fill("input[name=password]", "short")
    with page.expect_navigation():
        page.click("main button[type=submit]")
    assert page.locator(".error-summary").count() == 1
    assert_accessible(page)
    add_user(app, "clinician@example.org")
    sign_in(page, live.url, "clinician@example.org")
    page.goto(f"{live.url}/review/submissions/{submissions['urgent']}?print=1")
    assert_accessible(page)
    context.close()
