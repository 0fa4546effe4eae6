"""The accounts pages: adding, deactivating and reactivating accounts, password changes and resets."""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from screening import db
from screening.models import AuditEvent, User
from screening.review import accounts
from tests.conftest import PASSWORD, Clinician, add_user

NEW_PASSWORD = "plum orchard lantern"  # passes the policy
OTHER_PASSWORD = "copper kettle meadow"


pytestmark = pytest.mark.usefixtures("fresh_limits")


def sign_in(app, email: str, password: str = PASSWORD) -> Clinician:
    """A new browser, signed in."""
    browser = Clinician(app.test_client())
    assert browser.sign_in(email, password).status_code == 302
    return browser


def can_sign_in(app, email: str, password: str) -> bool:
    """Whether these credentials open a session."""
    return Clinician(app.test_client()).sign_in(email, password).status_code == 302


def is_signed_in(browser) -> bool:
    """Whether this browser can see the submissions list."""
    return browser.get("/review/").status_code == 200


def account(app, email: str) -> User:
    """The stored account with this email."""
    with app.app_context():
        return db.session().scalars(select(User).where(User.email == email)).one()


def events(app, action: str | None = None) -> list[AuditEvent]:
    """Audit rows (of one action), oldest first."""
    with app.app_context():
        query = select(AuditEvent).order_by(AuditEvent.id)
        if action:
            query = query.where(AuditEvent.action == action)
        return list(db.session().scalars(query))


def error_summary(page) -> list[str]:
    """The messages in the page's error summary."""
    match = re.search(r'<div class="error-summary".*?</div>', page.text, re.S)
    return [html.unescape(text) for text in re.findall(r"<li>(?:<a [^>]*>)?([^<]+)", match.group(0))] if match else []


def add_account(browser, **fields):
    """Post the add-account form (a valid clinician unless fields say otherwise)."""
    form = {
        "name": "Sam Physio",
        "email": "sam@example.org",
        "role": "clinician",
        "password": NEW_PASSWORD,
        "confirm": NEW_PASSWORD,
    }
    return browser.post("/review/users/new", form | fields)


def press(browser, url: str):
    """Press a button (a CSRF-only form) on the accounts page."""
    return browser.post(url, token=browser.token("/review/users"))


# Accounts


def test_the_accounts_page_lists_everyone(app, admin):
    """Name, email, role, status and created date of each account."""
    add_user(app, "jo@example.org", name="Jo Bloggs")
    add_user(app, "left@example.org", name="Lee Left", active=False)
    page = admin.get("/review/users")
    assert page.status_code == 200
    for text in ("Jo Bloggs", "jo@example.org", "Clinician", "Admin", "Lee Left", "Deactivated", "Active"):
        assert text in page.text
    created = account(app, "jo@example.org").created_at.strftime("%d %b %Y")
    assert created in page.text
    assert 'href="/review/users/new"' in page.text


def test_adding_an_account(app, admin):
    """The admin gives a name, email, role and temporary password; the person can then sign in."""
    response = add_account(admin, email="  Sam@Example.ORG ", role="admin")
    assert response.status_code == 302 and urlsplit(response.location).path == "/review/users"
    page = admin.get("/review/users")
    assert "Account created for Sam Physio (sam@example.org)" in page.text
    sam = account(app, "sam@example.org")
    assert (sam.name, sam.role, sam.active) == ("Sam Physio", "admin", True)
    assert sam.password_hash.startswith(app.config["PASSWORD_METHOD"] + "$")
    (created,) = events(app, "account_created")
    assert created.target_user_id == sam.id and created.actor == "admin@example.org"
    assert created.detail == {"role": "admin"}
    assert can_sign_in(app, "sam@example.org", NEW_PASSWORD)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"email": "Admin@Example.org"}, "An account with this email address already exists"),
        ({"password": "short", "confirm": "short"}, "Use at least 12 characters"),
        ({"password": "password1234", "confirm": "password1234"}, "too common"),
        ({"password": "sam physio rocks", "confirm": "sam physio rocks"}, "Do not use your name"),
        ({"confirm": "something else entirely"}, "The two passwords are not the same"),
        ({"email": "sam.example.org"}, "Enter an email address like name@clinic.org"),
        ({"name": ""}, "Enter the person's name"),
        ({"role": "superuser"}, "Not a valid choice"),
    ],
)
def test_adding_an_account_explains_what_is_wrong(app, admin, fields, message):
    """Errors appear in the summary at the top; nothing is stored or audited."""
    response = add_account(admin, **fields)
    assert response.status_code == 400
    assert any(message in item for item in error_summary(response)), error_summary(response)
    assert response.text.count(NEW_PASSWORD) == 0  # passwords are never echoed back
    with app.app_context():
        assert accounts.count_users() == 1
    assert events(app, "account_created") == []


def test_deactivating_ends_the_sessions_and_reactivating_lets_them_back(app, admin, clinician):
    """Deactivation signs the person out at once and stops sign-in; reactivation undoes it."""
    user = account(app, "clinician@example.org")
    assert press(admin, f"/review/users/{user.id}/deactivate").status_code == 302
    assert "account is now deactivated" in admin.get("/review/users").text
    assert not is_signed_in(clinician)
    assert not can_sign_in(app, "clinician@example.org", PASSWORD)
    stored = account(app, "clinician@example.org")
    assert not stored.active and stored.session_version > user.session_version
    (deactivated,) = events(app, "account_deactivated")
    assert deactivated.target_user_id == user.id and deactivated.detail == {"role": "clinician"}

    assert press(admin, f"/review/users/{user.id}/reactivate").status_code == 302
    assert account(app, "clinician@example.org").active
    assert len(events(app, "account_reactivated")) == 1
    assert can_sign_in(app, "clinician@example.org", PASSWORD)


def test_pressing_deactivate_twice_changes_nothing_the_second_time(app, admin):
    """A double click writes one audit row, not two."""
    user_id = add_user(app, "jo@example.org")
    press(admin, f"/review/users/{user_id}/deactivate")
    press(admin, f"/review/users/{user_id}/deactivate")
    assert len(events(app, "account_deactivated")) == 1
    assert "already deactivated" in admin.get("/review/users").text


def test_an_admin_cannot_deactivate_themselves(app, admin):
    """The button is not offered, and a forged request is refused with a message."""
    me = account(app, "admin@example.org")
    page = admin.get("/review/users")
    assert f"/review/users/{me.id}/deactivate" not in page.text
    press(admin, f"/review/users/{me.id}/deactivate")
    assert "You cannot deactivate your own account" in admin.get("/review/users").text
    assert account(app, "admin@example.org").active
    assert is_signed_in(admin)
    assert events(app, "account_deactivated") == []


def test_account_changes_need_a_csrf_token(app, admin):
    """A cross-site form cannot deactivate anyone."""
    user_id = add_user(app, "jo@example.org")
    response = admin.client.post(f"/review/users/{user_id}/deactivate")
    assert response.status_code == 400
    assert account(app, "jo@example.org").active


def test_changing_an_unknown_account_is_404(app, admin):
    """A made-up account id is not found."""
    assert press(admin, "/review/users/999/deactivate").status_code == 404
    assert press(admin, "/review/users/999/reactivate").status_code == 404
    assert admin.get("/review/users/999/password").status_code == 404


def test_resetting_a_password(app, admin, clinician):
    """The new password works, the old does not, and the person is signed out everywhere."""
    user = account(app, "clinician@example.org")
    url = f"/review/users/{user.id}/password"
    assert "Reset the password of Clinician" in admin.get(url).text
    weak = admin.post(url, {"password": "short", "confirm": "short"})
    assert weak.status_code == 400 and "Use at least 12 characters" in error_summary(weak)[0]
    personal = admin.post(url, {"password": "clinician garden", "confirm": "clinician garden"})
    assert personal.status_code == 400 and "Do not use your name" in error_summary(personal)[0]
    assert admin.post(url, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 302
    assert "password is reset" in admin.get("/review/users").text
    assert not is_signed_in(clinician)
    assert not can_sign_in(app, "clinician@example.org", PASSWORD)
    assert can_sign_in(app, "clinician@example.org", NEW_PASSWORD)
    (reset,) = events(app, "password_reset")
    assert reset.target_user_id == user.id and reset.actor == "admin@example.org"


def test_an_admin_resets_their_own_password_on_the_change_password_page(app, admin):
    """Their own password needs their current one, so the reset page sends them there."""
    me = account(app, "admin@example.org")
    response = admin.get(f"/review/users/{me.id}/password")
    assert response.status_code == 302 and urlsplit(response.location).path == "/review/password"


# Your own password


def change(browser, current: str = PASSWORD, new: str = NEW_PASSWORD, confirm: str | None = None):
    """Post the change-password form."""
    data = {"current": current, "password": new, "confirm": new if confirm is None else confirm}
    return browser.post("/review/password", data)


def test_changing_your_own_password(app, clinician):
    """This browser stays signed in, others are signed out, and only the new password works."""
    elsewhere = sign_in(app, "clinician@example.org")
    response = change(clinician)
    assert response.status_code == 302 and urlsplit(response.location).path == "/review/"
    assert "Your password is changed" in clinician.get("/review/").text
    assert is_signed_in(clinician)
    assert not is_signed_in(elsewhere)
    assert can_sign_in(app, "clinician@example.org", NEW_PASSWORD)
    assert not can_sign_in(app, "clinician@example.org", PASSWORD)
    (changed,) = events(app, "password_changed")
    assert changed.actor == "clinician@example.org"


@pytest.mark.parametrize(
    ("current", "new", "confirm", "message"),
    [
        ("not my password", NEW_PASSWORD, None, "Your current password is not right"),
        (PASSWORD, PASSWORD, None, "different from your current one"),
        (PASSWORD, "short", None, "Use at least 12 characters"),
        (PASSWORD, NEW_PASSWORD, OTHER_PASSWORD, "The two passwords are not the same"),
    ],
)
def test_changing_your_password_explains_what_is_wrong(app, clinician, current, new, confirm, message):
    """Errors in the summary, nothing changed, nobody signed out."""
    response = change(clinician, current, new, confirm)
    assert response.status_code == 400
    assert any(message in item for item in error_summary(response)), error_summary(response)
    assert is_signed_in(clinician)
    assert can_sign_in(app, "clinician@example.org", PASSWORD)
    assert events(app, "password_changed") == []


def test_guessing_the_current_password_is_limited(app, clinician):
    """A borrowed session cannot try password after password."""
    codes = [change(clinician, f"guess number {n}").status_code for n in range(6)]
    assert codes == [400] * 5 + [429]


@pytest.mark.parametrize("url", ["/review/users", "/review/users/new", "/review/password", "/review/audit"])
def test_admin_pages_have_no_inline_script_or_style(admin, url):
    """The CSP forbids inline code, so these pages must not rely on any."""
    html = admin.get(url).text
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), url
    assert "<style" not in html and " style=" not in html, url
    assert not re.search(r"\son[a-z]+=", html), url
