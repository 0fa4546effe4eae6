"""Two-factor sign-in (issue 13, item 4): an authenticator app, recovery codes, an admin reset."""

from __future__ import annotations

import datetime as dt
import re

import pyotp
from sqlalchemy import select

from screening import clock, db
from screening.models import AuditEvent, User
from screening.review.twofactor import STEP_SECONDS

from .conftest import PASSWORD, RECOVERY_CODES, Clinician, add_user, make_app, totp_secret

WHEN = dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.UTC)


def password_only(browser: Clinician, email: str):
    """The first step of signing in: the password, and no code."""
    return browser.post("/review/login", {"email": email, "password": PASSWORD}, token=browser.token("/review/login"))


def code(browser: Clinician, typed: str):
    """Type a code on the second step."""
    return browser.post("/review/login/code", {"code": typed}, token=browser.token("/review/login/code"))


def actions(app) -> list[str]:
    """Every audit row's action, oldest first."""
    with app.app_context():
        return list(db.session().scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_a_password_alone_opens_nothing(app):
    """After the right password the session has not started: every page sends the person back."""
    add_user(app, "clinician@example.org")
    browser = Clinician(app.test_client())
    assert password_only(browser, "clinician@example.org").location.endswith("/review/login/code")
    assert browser.get("/review/").status_code == 302
    assert "login" in browser.get("/review/").location
    assert "login" not in actions(app)


def test_a_code_works_once_and_a_wrong_one_is_refused_and_audited(app):
    """The app's code signs in; the same code again (a replay) and a wrong code do not."""
    add_user(app, "clinician@example.org")
    now = pyotp.TOTP(totp_secret("clinician@example.org")).at(WHEN)
    with clock.frozen(WHEN):
        first = Clinician(app.test_client())
        password_only(first, "clinician@example.org")
        assert code(first, now).status_code == 302
        assert first.get("/review/").status_code == 200
        second = Clinician(app.test_client())
        password_only(second, "clinician@example.org")
        assert code(second, now).status_code == 401
        assert code(second, "000000" if now != "000000" else "111111").status_code == 401
        assert second.get("/review/").status_code == 302
    assert actions(app).count("login") == 1
    assert actions(app).count("login_failed") == 2


def test_a_recovery_code_signs_in_once(app):
    """A recovery code (typed with spaces or in capitals) works once; the page says how many are left."""
    add_user(app, "clinician@example.org")
    browser = Clinician(app.test_client())
    password_only(browser, "clinician@example.org")
    assert code(browser, " " + RECOVERY_CODES[3].upper() + " ").status_code == 302
    assert "9 left" in browser.get("/review/").text
    again = Clinician(app.test_client())
    password_only(again, "clinician@example.org")
    assert code(again, RECOVERY_CODES[3]).status_code == 401


def test_a_new_admin_must_set_up_two_factor_before_anything_else(app):
    """Without a second factor an admin reaches only the set-up page; a QR code drawn here, one
    code from the app, ten recovery codes shown once and stored hashed; audited."""
    add_user(app, "admin@example.org", role="admin", two_factor=False)
    browser = Clinician(app.test_client())
    assert browser.sign_in("admin@example.org").status_code == 302
    for page in ("/review/", "/review/users", "/review/audit"):
        assert browser.get(page).location.endswith("/review/two-factor"), page
    setup = browser.get("/review/two-factor")
    assert 'src="data:image/svg+xml' in setup.text
    secret = re.search(r'<code class="totp-secret">([A-Z2-7]+)</code>', setup.text).group(1)
    wrong = "123456" if pyotp.TOTP(secret).now() != "123456" else "654321"
    assert "That code is not right" in browser.post("/review/two-factor", {"code": wrong}).text
    done = browser.post("/review/two-factor", {"code": pyotp.TOTP(secret).now()})
    codes = re.findall(r"<li><code>([0-9a-f]{5}-[0-9a-f]{5})</code></li>", done.text)
    assert done.status_code == 200 and len(set(codes)) == 10
    assert browser.get("/review/users").status_code == 200
    with app.app_context():
        user = db.session().scalars(select(User).where(User.email == "admin@example.org")).one()
        assert user.totp_secret == secret
        assert not set(codes) & set(user.recovery_codes)  # only hashes are kept
    assert "two_factor_enrolled" in actions(app)


def test_the_clinic_can_leave_it_optional_for_clinicians_but_never_for_admins(tmp_path):
    """TWO_FACTOR_FOR_EVERYONE=false: a clinician without it gets in; an admin still must set it up."""
    app = make_app(tmp_path, TWO_FACTOR_FOR_EVERYONE=False)
    add_user(app, "clinician@example.org", two_factor=False)
    add_user(app, "admin@example.org", role="admin", two_factor=False)
    clinician, admin = Clinician(app.test_client()), Clinician(app.test_client())
    clinician.sign_in("clinician@example.org")
    admin.sign_in("admin@example.org")
    assert clinician.get("/review/").status_code == 200
    assert admin.get("/review/").location.endswith("/review/two-factor")


def test_an_admin_reset_after_a_lost_phone_is_audited_and_ends_the_sessions(app):
    """The admin clears someone's second factor: they are signed out and set it up again at sign-in."""
    add_user(app, "admin@example.org", role="admin")
    sam = add_user(app, "sam@example.org")
    admin, sam_browser = Clinician(app.test_client()), Clinician(app.test_client())
    admin.sign_in("admin@example.org")
    sam_browser.sign_in("sam@example.org")
    assert sam_browser.get("/review/").status_code == 200
    reset = admin.post(f"/review/users/{sam}/two-factor/reset", token=admin.token("/review/users"))
    assert reset.status_code == 302
    assert sam_browser.get("/review/").status_code == 302
    assert "two_factor_reset" in actions(app)
    sam_browser.sign_in("sam@example.org")
    assert sam_browser.get("/review/").location.endswith("/review/two-factor")


def test_codes_follow_rfc_6238():
    """Thirty-second steps, six digits, SHA-1: what every authenticator app expects."""
    assert STEP_SECONDS == 30
    assert pyotp.TOTP("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").at(59) == "287082"  # RFC 6238 appendix B, 8 -> 6 digits
