"""Issue 13: sign-out, downloads from other sites, the append-only audit log, passwords."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from screening import clock, db
from screening.models import AuditEvent, User
from screening.review import accounts

from .conftest import PASSWORD, Clinician, add_user

NEW_PASSWORD = "plum orchard lantern"


def test_sign_out_ends_the_session_even_with_a_token_hours_old(app, clinician):
    """Item 8: the page's CSRF token has expired; Sign out still signs out, and the cookie is dead."""
    token = clinician.token("/review/")
    copied = clinician.client.get_cookie("screening_session").value
    # Every token is now past its time limit (itsdangerous reads the wall clock, so the
    # limit moves rather than the clock): an ordinary form refuses it.
    app.config["WTF_CSRF_TIME_LIMIT"] = -1
    assert clinician.post("/review/password", {"current": PASSWORD}, token=token).status_code == 400
    response = clinician.post("/review/logout", token=token)
    assert response.status_code == 302 and response.location.endswith("/review/login")
    assert clinician.get("/review/").status_code == 302
    thief = app.test_client()
    thief.set_cookie("screening_session", copied)
    assert thief.get("/review/").status_code == 302


def test_a_forged_sign_out_from_another_site_is_refused(clinician):
    """Without our token and from another site, a sign-out post changes nothing."""
    response = clinician.client.post("/review/logout", headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 400
    assert clinician.get("/review/").status_code == 200


@pytest.mark.parametrize("url", ["/review/export.csv", "/review/audit.csv"])
def test_downloads_are_refused_when_another_site_asks_for_them(admin, url):
    """Item 15: a hostile page cannot make a clinician's browser download the export."""
    assert admin.client.get(url, headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert admin.client.get(url, headers={"Sec-Fetch-Site": "same-site"}).status_code == 403
    assert admin.client.get(url, headers={"Referer": "https://evil.example/page"}).status_code == 403
    assert admin.client.get(url, headers={"Sec-Fetch-Site": "same-origin"}).status_code == 200
    assert admin.client.get(url).status_code == 200  # a script with the cookie, no browser headers


def test_a_patients_fhir_download_is_refused_when_another_site_asks_for_it(admin, submission_factory):
    """Item 15 for the other health-data download: one submission as a FHIR Bundle."""
    url = f"/review/submissions/{submission_factory()}/fhir"
    assert admin.client.get(url, headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert admin.client.get(url, headers={"Referer": "https://evil.example/page"}).status_code == 403
    assert admin.client.get(url, headers={"Sec-Fetch-Site": "same-origin"}).status_code == 200


def test_the_audit_log_cannot_be_changed_or_deleted_even_by_the_apps_own_connection(app, clinician):
    """Item 16: the database itself refuses UPDATE and DELETE on audit rows (a trigger)."""
    with app.app_context():
        database = db.get_db()
        for statement in (update(AuditEvent).values(actor="someone else"), delete(AuditEvent)):
            with pytest.raises(DBAPIError, match="append-only"), database.transaction() as s:
                s.execute(statement)
        with database.sessions() as s:
            assert s.scalar(select(AuditEvent.actor).where(AuditEvent.action == "login")) == "clinician@example.org"
        with pytest.raises(DBAPIError, match="append-only"), database.transaction() as s:
            s.execute(text("DELETE FROM audit_events"))


@pytest.mark.parametrize("password", ["Clinic2026!!", "Physio2026!!", "Summer2026!!", "Qwerty123456", "P@ssw0rd2026"])
def test_guessable_passwords_that_pass_the_length_rule_are_refused(password):
    """Item 11: the strength estimator refuses what a short list let through."""
    assert accounts.password_problem(password, "jo@example.org", "Jo Bloggs") is not None


def test_a_temporary_password_must_be_changed_and_expires(app, admin):
    """Item 12: after an admin reset the person can only change their password; after 3 days it no longer works."""
    sam = add_user(app, "sam@example.org")
    reset = {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert admin.post(f"/review/users/{sam}/password", reset).status_code == 302
    browser = Clinician(app.test_client())
    assert browser.sign_in("sam@example.org", NEW_PASSWORD).status_code == 302
    assert browser.get("/review/").location.endswith("/review/password")
    change = {"current": NEW_PASSWORD, "password": "copper kettle meadow", "confirm": "copper kettle meadow"}
    assert browser.post("/review/password", change).status_code == 302
    assert browser.get("/review/").status_code == 200
    # A second reset, never used: three days later it is refused.
    assert admin.post(f"/review/users/{sam}/password", reset).status_code == 302
    with clock.frozen(dt.datetime.now(dt.UTC) + dt.timedelta(days=3, minutes=1)):
        late = Clinician(app.test_client())
        response = late.sign_in("sam@example.org", NEW_PASSWORD)
    assert response.status_code == 401 and "temporary password has expired" in response.text
    with app.app_context():
        assert db.session().scalars(select(User).where(User.email == "sam@example.org")).one().temporary_until


def test_a_new_account_starts_with_a_temporary_password(app, admin):
    """An account an admin adds must choose its own password at the first sign-in."""
    form = {"name": "Pat Physio", "email": "pat@example.org", "role": "clinician"}
    form |= {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert admin.post("/review/users/new", form).status_code == 302
    browser = Clinician(app.test_client())
    browser.sign_in("pat@example.org", NEW_PASSWORD)
    assert browser.get("/review/").location.endswith("/review/password")
