"""The clinic's details and time zone: saved settings win over configuration, and a
clinic's calendar day is right on the days the clocks change."""

from __future__ import annotations

import datetime as dt

from screening import clinic, clock, db
from screening.models import ClinicSettings


def test_configured_until_saved(app):
    """Before an admin saves settings, the configured zone and the questionnaire's clinic apply."""
    with app.test_request_context():
        assert clinic.current().time_zone == "Europe/London"
        assert clinic.current().name
    with app.app_context():
        db.session().add(ClinicSettings(id=1, name="Elm Street Physio", phone="020 7946 0000", time_zone="Asia/Tokyo"))
        db.session().commit()
    with app.test_request_context():
        assert clinic.current().name == "Elm Street Physio"
        with clock.frozen(dt.datetime(2030, 6, 30, 16, 0, tzinfo=dt.UTC)):
            assert clinic.today() == dt.date(2030, 7, 1)  # already tomorrow in Tokyo


def test_day_bounds_on_the_days_the_clocks_change(app):
    """The last Sundays of March and October are 23 and 25 hours long in London."""
    with app.test_request_context():
        start, end = clinic.day_bounds(dt.date(2030, 3, 31))
        assert start == dt.datetime(2030, 3, 31, 0, 0, tzinfo=dt.UTC)
        assert end - start == dt.timedelta(hours=23)
        start, end = clinic.day_bounds(dt.date(2030, 10, 27))
        assert start == dt.datetime(2030, 10, 26, 23, 0, tzinfo=dt.UTC)
        assert end - start == dt.timedelta(hours=25)
        assert clinic.local(dt.datetime(2030, 7, 1, 12, 0, tzinfo=dt.UTC)).hour == 13


def test_valid_zone():
    assert clinic.valid_zone("Europe/London")
    assert not clinic.valid_zone("Mars/Olympus")
    assert not clinic.valid_zone("../etc/passwd")
