"""Sign-in throttling (issue 13, items 1 and 10): a guesser is slowed, the owner is not locked out."""

from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy import select

from screening import clock, db
from screening.models import AuditEvent

from .conftest import PASSWORD, Clinician, add_user, make_app

WHEN = dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.UTC)


def wrong(browser: Clinician, email: str = "clinician@example.org", address: str = "203.0.113.9"):
    """One wrong password from `address`."""
    return browser.client.post(
        "/review/login",
        data={"email": email, "password": "not the password!", "csrf_token": browser.token("/review/login")},
        environ_base={"REMOTE_ADDR": address},
    )


def actions(app) -> list[str]:
    """Every audit row's action, oldest first."""
    with app.app_context():
        return list(db.session().scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_the_wait_grows_and_the_page_says_how_long(app):
    """Free tries, then 1 s, 2 s, 4 s...: each refusal says the true wait and is audited."""
    add_user(app, "clinician@example.org")
    guesser = Clinician(app.test_client())
    with clock.frozen(WHEN) as start:
        assert [wrong(guesser).status_code for _ in range(3)] == [401, 401, 401]
        refused = wrong(guesser)
        assert refused.status_code == 429 and "Please wait 1 second," in refused.text
        waits = []
        for seconds in (1, 3, 7):
            with clock.frozen(start + dt.timedelta(seconds=seconds)):
                assert wrong(guesser).status_code == 401  # let through once the wait is over
                waits.append(wrong(guesser).text.split("Please wait ")[1].split(",")[0])
    assert waits == ["2 seconds", "4 seconds", "8 seconds"]
    assert actions(app).count("login_refused") == 4


def test_a_guesser_elsewhere_does_not_keep_the_owner_out(app):
    """Hammering an account from one address does not stop its owner on another, nor on a known device."""
    add_user(app, "clinician@example.org")
    owner = Clinician(app.test_client())
    with clock.frozen(WHEN):
        assert owner.sign_in("clinician@example.org").status_code == 302  # this browser is now known
        owner.post("/review/logout", token=owner.token("/review/"))
        guesser = Clinician(app.test_client())
        for _ in range(30):
            wrong(guesser)
        assert wrong(guesser).status_code == 429
        assert owner.sign_in("clinician@example.org").status_code == 302
        elsewhere = Clinician(app.test_client())
        response = elsewhere.client.post(
            "/review/login",
            data={
                "email": "clinician@example.org",
                "password": PASSWORD,
                "csrf_token": elsewhere.token("/review/login"),
            },
            environ_base={"REMOTE_ADDR": "198.51.100.7"},
        )
        assert response.status_code == 302


def test_many_failures_lock_unknown_devices_out_and_tell_the_admins(tmp_path):
    """After LOGIN_LOCK_FAILURES from many addresses the account is locked for unknown devices only,
    the lock is audited and shown on the accounts page, and an admin can lift it."""
    app = make_app(tmp_path, LOGIN_LOCK_FAILURES=6)
    add_user(app, "clinician@example.org")
    add_user(app, "admin@example.org", role="admin")
    owner = Clinician(app.test_client())
    admin = Clinician(app.test_client())
    with clock.frozen(WHEN):
        assert owner.sign_in("clinician@example.org").status_code == 302
        guesser = Clinician(app.test_client())
        for n in range(6):
            assert wrong(guesser, address=f"192.0.2.{n}").status_code == 401
        assert wrong(guesser, address="192.0.2.99").status_code == 429
        assert "account_locked" in actions(app)
        owner.post("/review/logout", token=owner.token("/review/"))
        assert owner.sign_in("clinician@example.org").status_code == 302  # a known device
        assert admin.sign_in("admin@example.org").status_code == 302
        page = admin.get("/review/users").text
        assert "1 account locked" in page
        unlock = page.split('action="/review/users/')[-1].split('"')[0]
        assert unlock.endswith("/unlock")
        assert admin.post(f"/review/users/{unlock}", token=admin.token("/review/users")).status_code == 302
        assert "account_unlocked" in actions(app)
        assert "account locked" not in admin.get("/review/users").text


def test_parallel_wrong_passwords_cannot_race_past_the_limit(tmp_path):
    """Ten wrong passwords at once from one address: only the free tries reach the password
    check, as they would one after another; the rest are refused before it (issue 13, item 10)."""
    app = make_app(tmp_path)
    add_user(app, "clinician@example.org")
    browsers = [Clinician(app.test_client()) for _ in range(10)]
    tokens = [b.token("/review/login") for b in browsers]
    barrier = threading.Barrier(10)
    codes: list[int] = []

    def attempt(browser: Clinician, token: str) -> None:
        barrier.wait()
        response = browser.client.post(
            "/review/login",
            data={"email": "clinician@example.org", "password": "not the password!", "csrf_token": token},
        )
        codes.append(response.status_code)

    with clock.frozen(WHEN):
        threads = [threading.Thread(target=attempt, args=pair) for pair in zip(browsers, tokens, strict=True)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(codes) == [401] * 3 + [429] * 7
    assert actions(app).count("login_failed") == 3
