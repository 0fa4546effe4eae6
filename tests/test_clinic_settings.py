"""The admin's clinic details page: edits the one settings row, audited; admins only."""

from __future__ import annotations

from sqlalchemy import select

from screening import db
from screening.models import AuditEvent, ClinicSettings

from .conftest import Clinician, add_user

DETAILS = {
    "clinic_name": "Hilltop Clinic",
    "clinic_phone": "+44 1632 960 999",
    "clinic_address": "2 Hill Road\nUpton UP1 2BB",
    "time_zone": "America/New_York",
}


def signed_in(app, role: str) -> Clinician:
    add_user(app, f"{role}@example.org", role=role)
    browser = Clinician(app.test_client())
    assert browser.sign_in(f"{role}@example.org").status_code == 302
    return browser


def test_admin_changes_the_clinic_details_audited(app):
    admin = signed_in(app, "admin")
    page = admin.get("/review/settings")
    assert page.status_code == 200
    assert 'list="time-zones"' in page.text and '<option value="Europe/London">' in page.text
    assert 'href="/review/settings">Clinic details</a>' in page.text  # in the admin nav
    saved = admin.post("/review/settings", DETAILS)
    assert saved.status_code == 302
    with app.app_context():
        row = db.session().get(ClinicSettings, 1)
        assert (row.name, row.phone, row.time_zone) == ("Hilltop Clinic", "+44 1632 960 999", "America/New_York")
        [event] = db.session().scalars(select(AuditEvent).where(AuditEvent.action == "clinic_settings_changed")).all()
        assert event.detail["changed"]["name"][1] == "Hilltop Clinic"
    start = app.test_client().get("/")
    assert "Hilltop Clinic" in start.text and 'href="tel:+441632960999"' in start.text


def test_bad_details_are_refused_with_a_clear_message(app):
    admin = signed_in(app, "admin")
    page = admin.post("/review/settings", DETAILS | {"time_zone": "Mars/Olympus", "clinic_phone": "ring us"})
    assert page.status_code == 400
    assert "Enter a time zone from the list, like Europe/London" in page.text
    assert "Enter a phone number" in page.text
    with app.app_context():
        assert db.session().get(ClinicSettings, 1) is None


def test_only_admins_may_change_the_clinic_details(app):
    clinician = signed_in(app, "clinician")
    assert clinician.get("/review/settings").status_code == 403
