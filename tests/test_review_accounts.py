"""Accounts and sessions: who can see /review, sessions that really end, limits, setup, create-user."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from sqlalchemy import select
from werkzeug.routing import IntegerConverter

from screening import db
from screening.clock import frozen
from screening.config import Defaults
from screening.models import AuditEvent, User
from screening.review import accounts
from tests.conftest import PASSWORD, Clinician, add_user, make_app

NEW_PASSWORD = "plum orchard lantern"  # passes the policy
REFERENCE = "ABCD-EFGH-JKLM"  # a made-up submission reference
# Endpoints only admins may use; everything else under /review is for any signed-in clinician.
ADMIN_ENDPOINTS = {
    "review.users",
    "review.unlock_user",
    "review.reset_two_factor",
    "review.add_user",
    "review.deactivate_user",
    "review.reactivate_user",
    "review.reset_password",
    "review.audit_log",
    "review.audit_csv",
}
WRONG = "The email address or password is not right"


pytestmark = pytest.mark.usefixtures("fresh_limits")


class Clock:
    """A clock the test moves by hand, standing in for screening.review.accounts.now."""

    def __init__(self) -> None:
        """Start on a Monday morning."""
        self.at = dt.datetime(2025, 1, 6, 9, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        """The current (test) time."""
        return self.at

    def forward(self, **delta: float) -> None:
        """Move the clock on."""
        self.at += dt.timedelta(**delta)


@pytest.fixture
def clock(monkeypatch):
    """Sessions are stamped and checked against a clock the test controls."""
    fake = Clock()
    monkeypatch.setattr(accounts, "now", fake)
    return fake


def fill(rule) -> str:
    """A concrete URL for a rule, with made-up values for its arguments."""
    url = rule.rule
    for arg, converter in rule._converters.items():
        value = "1" if isinstance(converter, IntegerConverter) else REFERENCE
        url = re.sub(rf"<[^>]*\b{arg}>", value, url)
    return url


def review_rules(app):
    """Every URL rule under /review."""
    return [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/review")]


def goes_to_login(response) -> bool:
    """Whether a response sends the browser to the sign-in page."""
    return response.status_code == 302 and urlsplit(response.location).path == "/review/login"


def is_signed_in(client) -> bool:
    """Whether this browser can see the submissions list (or is sent to sign in)."""
    response = client.get("/review/")
    assert response.status_code in (200, 302)
    return response.status_code == 200


def sign_in(app, email: str, password: str = PASSWORD) -> Clinician:
    """A new browser, signed in."""
    browser = Clinician(app.test_client())
    assert browser.sign_in(email, password).status_code == 302
    return browser


def stolen_copy(app, browser):
    """Another browser holding a copy of this browser's session cookie."""
    thief = app.test_client()
    thief.set_cookie("screening_session", browser.client.get_cookie("screening_session").value)
    assert is_signed_in(thief)  # the copy works until the session is ended
    return thief


def audit_events(app) -> list[AuditEvent]:
    """Every audit row, oldest first."""
    with app.app_context():
        return list(db.session().scalars(select(AuditEvent).order_by(AuditEvent.id)))


def account(app, email: str) -> User:
    """The stored account with this email."""
    with app.app_context():
        return db.session().scalars(select(User).where(User.email == email)).one()


def account_id(app, email: str) -> int:
    """The id of the account with this email."""
    return account(app, email).id


def login_message(page) -> str:
    """The error shown beside the password on the sign-in page, or ''."""
    match = re.search(r'class="field-error"[^>]*>.*?</span>\s*([^<]+)</p>', page.text, re.S)
    return match.group(1).strip() if match else ""


# Who can see what


def test_every_review_page_refuses_an_anonymous_visitor(app):
    """Walk the URL map: every /review URL and method, except sign-in, sends a stranger away."""
    add_user(app, "clinician@example.org")
    stranger = Clinician(app.test_client())
    token = stranger.token("/review/login")  # a valid CSRF token, so the sign-in check is what refuses
    checked = set()
    for rule in review_rules(app):
        if rule.endpoint == "review.login":
            continue
        url = fill(rule)
        for method in sorted(rule.methods):
            data = {"csrf_token": token, "email": "clinician@example.org", "password": PASSWORD}
            response = stranger.client.open(url, method=method, data=data if method == "POST" else None)
            if method in ("GET", "HEAD"):
                assert goes_to_login(response), (method, url, response.status_code)
            else:
                assert response.status_code in (302, 401, 403), (method, url, response.status_code)
                assert response.status_code != 302 or goes_to_login(response), (method, url)
            checked.add(rule.endpoint)
    assert {"review.queue", "review.record", "review.logout", "review.change_password"} | ADMIN_ENDPOINTS <= checked
    assert all(event.action != "account_created" for event in audit_events(app))


def test_the_sign_in_page_is_open_to_everyone(app):
    """The one exception: a stranger can see the sign-in page."""
    assert app.test_client().get("/review/login").status_code == 200


def test_a_clinician_gets_403_on_every_admin_page(app, clinician):
    """Accounts and the audit log are for admins only, whatever the method."""
    other = add_user(app, "other@example.org")
    token = clinician.token("/review/")
    rules = [rule for rule in review_rules(app) if rule.endpoint in ADMIN_ENDPOINTS]
    assert {rule.endpoint for rule in rules} == ADMIN_ENDPOINTS
    before = len(audit_events(app))
    refused = []
    for rule in rules:
        url = fill(rule).replace("/users/1/", f"/users/{other}/")
        for method in sorted(rule.methods - {"OPTIONS"}):
            data = {"csrf_token": token, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
            response = clinician.client.open(url, method=method, data=data if method == "POST" else None)
            assert response.status_code == 403, (method, url, response.status_code)
            refused.append((method, urlsplit(url).path))
    assert account(app, "other@example.org").active
    # Nothing happened, and each refusal is in the audit log with who tried what (issue 13, item 16).
    added = audit_events(app)[before:]
    assert [(e.action, e.actor, e.detail["method"], e.detail["path"]) for e in added] == [
        ("forbidden", "clinician@example.org", method, path) for method, path in refused
    ]


# Sessions that really end


def test_a_cookie_replayed_after_sign_out_is_refused(app, clinician):
    """Signing out ends the session everywhere, including in a copied cookie."""
    thief = stolen_copy(app, clinician)
    clinician.post("/review/logout", token=clinician.token("/review/"))
    assert not is_signed_in(clinician.client)
    assert goes_to_login(thief.get("/review/"))


def test_a_cookie_replayed_after_deactivation_is_refused(app, clinician, admin):
    """A deactivated clinician's sessions end at once."""
    thief = stolen_copy(app, clinician)
    user_id = account_id(app, "clinician@example.org")
    admin.post(f"/review/users/{user_id}/deactivate", token=admin.token("/review/users"))
    assert goes_to_login(thief.get("/review/"))
    assert not is_signed_in(clinician.client)


def test_a_cookie_replayed_after_a_password_change_is_refused(app, clinician):
    """Changing your password ends every other session, but not the one you changed it in."""
    elsewhere = sign_in(app, "clinician@example.org")
    thief = stolen_copy(app, clinician)
    response = clinician.post(
        "/review/password", {"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert is_signed_in(clinician.client)
    assert not is_signed_in(elsewhere.client)
    assert goes_to_login(thief.get("/review/"))


def test_a_cookie_replayed_after_an_admin_reset_is_refused(app, clinician, admin):
    """A password reset by an admin signs the person out everywhere."""
    thief = stolen_copy(app, clinician)
    user_id = account_id(app, "clinician@example.org")
    url = f"/review/users/{user_id}/password"
    assert admin.post(url, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 302
    assert goes_to_login(thief.get("/review/"))
    assert not is_signed_in(clinician.client)


@pytest.mark.parametrize(("idle_minutes", "still_in"), [(29, True), (31, False)])
def test_an_idle_session_ends_after_30_minutes(app, clock, idle_minutes, still_in):
    """Half an hour without a request signs the clinician out, with a message saying why."""
    add_user(app, "clinician@example.org")
    browser = sign_in(app, "clinician@example.org")
    clock.forward(minutes=idle_minutes)
    assert is_signed_in(browser.client) is still_in
    if not still_in:
        assert "session timed out" in browser.get("/review/login").text
        clock.forward(minutes=1)
        assert not is_signed_in(browser.client)  # and it stays ended


def test_a_busy_session_still_ends_after_12_hours(app, clock):
    """Activity every 20 minutes keeps a session going, but never past 12 hours in all."""
    add_user(app, "clinician@example.org")
    browser = sign_in(app, "clinician@example.org")
    for _ in range(12 * 3):
        clock.forward(minutes=20)
        assert is_signed_in(browser.client), clock.at
    clock.forward(minutes=20)
    assert not is_signed_in(browser.client)


# Where sign-in leads


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example", "/\\evil.example", "javascript:alert(1)", "/\t/evil.example", "/"],
)
def test_an_outside_next_is_ignored(app, target):
    """After signing in, a `next` that leads off the review pages goes to Today, the landing page."""
    add_user(app, "clinician@example.org")
    browser = Clinician(app.test_client())
    url = "/review/login?" + urlencode({"next": target})
    response = browser.post(url, {"email": "clinician@example.org", "password": PASSWORD})
    response = browser.second_step(response, "clinician@example.org")
    assert response.status_code == 302
    location = urlsplit(response.location)
    assert (location.scheme, location.netloc, location.path) == ("", "", "/review/today")


def test_an_inside_next_is_honoured(app):
    """A `next` within the review pages is where sign-in leads."""
    add_user(app, "clinician@example.org")
    browser = Clinician(app.test_client())
    target = f"/review/submissions/{REFERENCE}"
    response = browser.post(
        "/review/login?" + urlencode({"next": target}), {"email": "clinician@example.org"} | {"password": PASSWORD}
    )
    response = browser.second_step(response, "clinician@example.org")
    assert response.status_code == 302 and response.location == target


def test_a_timed_out_page_comes_back_after_signing_in(app, clock):
    """Signed out by the idle timeout, the clinician signs in again and lands where they were."""
    add_user(app, "clinician@example.org")
    browser = sign_in(app, "clinician@example.org")
    clock.forward(minutes=31)
    response = browser.get(f"/review/submissions/{REFERENCE}")
    assert goes_to_login(response)
    again = browser.post(response.location, {"email": "clinician@example.org", "password": PASSWORD})
    again = browser.second_step(again, "clinician@example.org")
    assert urlsplit(again.location).path == f"/review/submissions/{REFERENCE}"


# Sign-in failures


def attempts(app, email: str) -> list[tuple[int, str, str]]:
    """Five wrong passwords, then the right one: each answer's status, message and page (tokens removed)."""
    browser = Clinician(app.test_client())
    token = browser.token("/review/login")
    answers = []
    for password in ["wrong password!"] * 5 + [PASSWORD]:
        page = browser.client.post("/review/login", data={"email": email, "password": password, "csrf_token": token})
        text = re.sub(r'value="[^"]*"', 'value=""', page.text)  # CSRF tokens and the typed email
        answers.append((page.status_code, login_message(page), text))
    return answers


def test_wrong_passwords_slow_the_guesser_down_and_say_nothing_about_whether_the_account_exists(app):
    """Three tries from one address, then a wait the page states (even for the right password);
    a stranger's email gets exactly the same answers. (test_throttle: the owner elsewhere is not held up.)"""
    add_user(app, "clinician@example.org")
    with frozen(dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.UTC)):  # the waits are not slept through
        real = attempts(app, "clinician@example.org")
        made_up = attempts(app, "nobody@example.org")
    assert [status for status, _, _ in real] == [401] * 3 + [429] * 3
    assert all(WRONG in message for _, message, _ in real[:3])
    assert "Too many attempts. Please wait 1 second, then try again." in real[3][2]
    assert real == made_up
    assert not is_signed_in(app.test_client())


def test_a_deactivated_account_gets_the_same_message_as_a_wrong_password(app):
    """Deactivated people cannot sign in, and the page does not say the account exists."""
    add_user(app, "left@example.org", active=False)
    add_user(app, "clinician@example.org")
    browser = Clinician(app.test_client())
    deactivated = browser.sign_in("left@example.org")
    wrong = browser.sign_in("clinician@example.org", "not my password")
    assert deactivated.status_code == wrong.status_code == 401
    assert login_message(deactivated) == login_message(wrong) and WRONG in login_message(wrong)
    assert not is_signed_in(browser.client)


# Passwords


def test_passwords_are_hashed_with_strong_scrypt(tmp_path):
    """scrypt with N=2^15, r=8, p=3 unless configured; the same password hashes differently each time (salted)."""
    app = make_app(tmp_path, PASSWORD_METHOD=Defaults.PASSWORD_METHOD)
    with app.app_context():
        first, second = accounts.hash_password(NEW_PASSWORD), accounts.hash_password(NEW_PASSWORD)
    assert first.startswith("scrypt:32768:8:3$")
    assert first != second and NEW_PASSWORD not in first


def common_passwords() -> list[str]:
    """The refused list's entries long enough to pass the length rule."""
    path = Path(accounts.__file__).parent / "common_passwords.txt"
    lines = [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]
    return [line for line in lines if len(line) >= accounts.MIN_PASSWORD_LENGTH]


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("eleven char", "at least 12"),
        ("x" * 11, "at least 12"),
        ("aaaaaaaaaaaaaaa", "too common"),
        ("jane.doe garden path", "name or email"),
    ],
)
def test_weak_passwords_are_refused(password, problem):
    """Too short, too simple, or made of the person's own name."""
    assert problem in accounts.password_problem(password, "jane.doe@example.org", "Jane Doe")


def test_every_common_password_is_refused_in_any_case():
    """The breached-password list is checked case-insensitively."""
    common = common_passwords()
    assert len(common) >= 10
    for password in common:
        assert accounts.password_problem(password) is not None, password
        assert accounts.password_problem(password.upper()) is not None, password


def test_a_long_uncommon_password_is_accepted():
    """A few unrelated words pass."""
    assert accounts.password_problem(NEW_PASSWORD, "jane.doe@example.org", "Jane Doe") is None


# The audit trail of sign-in and account changes


def new_events(app, since: int) -> list[AuditEvent]:
    """Audit rows added after row `since`."""
    return [event for event in audit_events(app) if event.id > since]


def last_id(app) -> int:
    """The id of the newest audit row (0 if none)."""
    events = audit_events(app)
    return events[-1].id if events else 0


def assert_one_event(app, since: int, action: str, actor: str | None, target: str | None = None) -> AuditEvent:
    """Exactly one audit row was added: this action, by this person, just now, from the test client."""
    events = new_events(app, since)
    assert [event.action for event in events] == [action]
    event = events[0]
    assert event.actor == actor
    assert event.ip == "127.0.0.1"
    assert abs(dt.datetime.now(dt.UTC) - event.at) < dt.timedelta(minutes=1)
    if target is not None:
        assert event.target_user_id == account_id(app, target)
    return event


def test_sign_in_and_failed_sign_in_each_write_one_audit_row(app):
    """Who, what, when and from where, once per attempt."""
    add_user(app, "clinician@example.org")
    browser = Clinician(app.test_client())
    since = last_id(app)
    browser.sign_in("clinician@example.org", "a wrong password")
    assert assert_one_event(app, since, "login_failed", "clinician@example.org").user_id is None
    since = last_id(app)
    browser.sign_in("clinician@example.org")
    event = assert_one_event(app, since, "login", "clinician@example.org")
    assert event.user_id == account_id(app, "clinician@example.org")


def test_each_account_change_and_audit_download_writes_one_audit_row(app, admin):
    """Create, deactivate, reactivate, reset, change own password, download the log: one row each."""
    since = last_id(app)
    form = {"name": "Sam Physio", "email": "sam@example.org", "role": "clinician"}
    admin.post("/review/users/new", form | {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert_one_event(app, since, "account_created", "admin@example.org", "sam@example.org")
    sam = account_id(app, "sam@example.org")
    for path, action in [("deactivate", "account_deactivated"), ("reactivate", "account_reactivated")]:
        since = last_id(app)
        admin.post(f"/review/users/{sam}/{path}", token=admin.token("/review/users"))
        assert_one_event(app, since, action, "admin@example.org", "sam@example.org")
    since = last_id(app)
    admin.post(
        f"/review/users/{sam}/password", {"password": "another fine password", "confirm": "another fine password"}
    )
    assert_one_event(app, since, "password_reset", "admin@example.org", "sam@example.org")
    since = last_id(app)
    admin.post("/review/password", {"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert_one_event(app, since, "password_changed", "admin@example.org", "admin@example.org")
    since = last_id(app)
    assert admin.get("/review/audit.csv").status_code == 200
    assert_one_event(app, since, "audit_export", "admin@example.org")


def test_no_password_or_hash_ever_reaches_the_audit_log(app, admin, runner):
    """Dump every audit row after every kind of password use: no password, no hash."""
    passwords = [PASSWORD, NEW_PASSWORD, "another fine password", "a wrong password!", "setup admin password"]
    browser = Clinician(app.test_client())
    browser.sign_in("admin@example.org", "a wrong password!")
    browser.sign_in("admin@example.org")
    # People type their password into the email box; that must not be kept either.
    Clinician(app.test_client()).sign_in("Tr0ub4dor&3 horse")
    passwords.append("tr0ub4dor&3 horse")
    form = {"name": "Sam Physio", "email": "sam@example.org", "role": "clinician"}
    admin.post("/review/users/new", form | {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    sam = account_id(app, "sam@example.org")
    admin.post(
        f"/review/users/{sam}/password", {"password": "another fine password", "confirm": "another fine password"}
    )
    admin.post("/review/password", {"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    runner.invoke(
        args=["create-user", "--email", "cli@example.org", "--name", "Cli", "--password-stdin"],
        input=("setup admin password\n"),
    )
    admin.get("/review/audit.csv")
    with app.app_context():
        hashes = list(db.session().scalars(select(User.password_hash)))
    dump = "\n".join(
        json.dumps([e.id, str(e.at), e.user_id, e.actor, e.action, e.reference, e.target_user_id, e.ip, e.detail])
        for e in audit_events(app)
    ).casefold()
    assert len(audit_events(app)) >= 9
    for secret in passwords + hashes:
        assert secret.casefold() not in dump, secret
    assert "scrypt" not in dump


# First run


def test_setup_is_404_without_the_right_token(app):
    """No token, or a wrong one: the page does not exist."""
    accounts.setup_token(app.instance_path)
    browser = Clinician(app.test_client())
    assert browser.get("/setup").status_code == 404
    assert browser.get("/setup?token=wrong").status_code == 404
    form = {"name": "Eve", "email": "eve@example.org", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert browser.post("/setup?token=wrong", form, token=browser.token("/review/login")).status_code == 404
    with app.app_context():
        assert accounts.count_users() == 0


CLINIC = {
    "clinic_name": "Riverside Physio",
    "clinic_phone": "01632 960 123",
    "clinic_address": "1 River Street\nTownham TN1 1AA",
    "time_zone": "Europe/London",
}


def test_setup_creates_the_first_admin_once(app):
    """With the printed token and no accounts, the page makes an admin and saves the clinic's
    details; the admin is signed in and goes on to set up two-factor sign-in; then the token is spent."""
    from screening.models import ClinicSettings

    token = accounts.setup_token(app.instance_path)
    browser = Clinician(app.test_client())
    url = f"/setup?token={token}"
    form = {"name": "Ada Admin", "email": "Ada@Example.org"} | CLINIC
    weak = browser.post(url, form | {"password": "short", "confirm": "short"})
    assert weak.status_code == 400 and "at least 12" in weak.text
    common = common_passwords()[0]
    assert browser.post(url, form | {"password": common, "confirm": common}).status_code == 400
    bad_zone = browser.post(
        url, form | {"time_zone": "Europe/Atlantis", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert bad_zone.status_code == 400 and "Enter a time zone from the list, like Europe/London" in bad_zone.text
    done = browser.post(url, form | {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 302 and done.headers["Location"].endswith("/review/two-factor")
    assert browser.get("/review/two-factor").status_code == 200  # signed in: not asked to sign in again
    ada = account(app, "ada@example.org")
    assert (ada.role, ada.active, ada.name) == ("admin", True, "Ada Admin")
    assert ada.password_hash.startswith(app.config["PASSWORD_METHOD"] + "$")
    assert [event.action for event in audit_events(app)] == ["account_created", "clinic_settings_changed"]
    with app.app_context():
        row = db.session().get(ClinicSettings, 1)
        assert (row.name, row.phone, row.address, row.time_zone) == (
            "Riverside Physio",
            "01632 960 123",
            "1 River Street\nTownham TN1 1AA",
            "Europe/London",
        )
    start = app.test_client().get("/")
    assert "Riverside Physio" in start.text and 'href="tel:01632960123"' in start.text
    assert "Townham TN1 1AA" in start.text
    assert browser.get(url).status_code == 404
    again = form | {"email": "eve@example.org", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert browser.post(url, again, token=browser.token("/review/two-factor")).status_code == 404
    with app.app_context():
        assert accounts.count_users() == 1


def test_setup_is_404_once_an_account_exists(app):
    """An account made another way (create-user) also closes the setup page."""
    token = accounts.setup_token(app.instance_path)
    add_user(app, "clinician@example.org")
    assert app.test_client().get(f"/setup?token={token}").status_code == 404


# flask create-user


def create_user(runner, email: str, password: str, *extra: str):
    """Run `flask create-user` with the password on standard input."""
    args = ["create-user", "--email", email, "--name", "Pat Physio", "--password-stdin", *extra]
    return runner.invoke(args=args, input=password + "\n")


def test_create_user_makes_an_account(app, runner):
    """The command creates a clinician (or admin) with a strong hash, and audits it."""
    result = create_user(runner, "Pat@Example.org", NEW_PASSWORD, "--role", "admin")
    assert result.exit_code == 0, result.output
    assert "Created admin account for pat@example.org" in result.output
    pat = account(app, "pat@example.org")
    assert pat.role == "admin" and pat.password_hash.startswith(app.config["PASSWORD_METHOD"] + "$")
    (event,) = audit_events(app)
    assert (event.action, event.actor, event.ip, event.target_user_id) == (
        "account_created",
        "command line",
        "command line",
        pat.id,
    )
    assert sign_in(app, "pat@example.org", NEW_PASSWORD)


def test_create_user_refuses_a_weak_password(app, runner):
    """A clear error, a failing exit code, and no account."""
    result = create_user(runner, "pat@example.org", "password")
    assert result.exit_code != 0
    assert "password refused: Use at least 12 characters" in result.output
    assert audit_events(app) == []
    with app.app_context():
        assert accounts.count_users() == 0


def test_create_user_refuses_a_duplicate_email(app, runner):
    """An email already in use, in any case, is refused clearly."""
    add_user(app, "pat@example.org")
    result = create_user(runner, "PAT@example.org", NEW_PASSWORD)
    assert result.exit_code != 0
    assert "an account for pat@example.org already exists" in result.output
    with app.app_context():
        assert accounts.count_users() == 1


def test_create_user_refuses_something_that_is_not_an_email(app, runner):
    """A typo in the address is caught before anything is stored."""
    result = create_user(runner, "pat.example.org", NEW_PASSWORD)
    assert result.exit_code != 0 and "is not an email address" in result.output
    with app.app_context():
        assert accounts.count_users() == 0
