"""The clinic's own details and its time zone: every date and time a person reads or types
is in the clinic's zone, and stored in UTC (see clock.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from flask import current_app, g

from . import clock, db
from .models import ClinicSettings

DEFAULT_ZONE = "Europe/London"


@dataclass(frozen=True)
class Clinic:
    """What patients see of the clinic, and where it is in time."""

    name: str
    phone: str
    address: str
    time_zone: str

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


def valid_zone(name: str) -> bool:
    """Whether `name` is an IANA time zone such as Europe/London."""
    if name not in available_timezones():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def from_config() -> Clinic:
    """The clinic as configured (CLINIC_* settings, then the questionnaire's clinic block)."""
    from .versions import current_definition

    about = current_definition().questionnaire.clinic
    config = current_app.config
    return Clinic(
        name=config.get("CLINIC_NAME") or about.name or "Your clinic",
        phone=config.get("CLINIC_PHONE") or about.phone or "",
        address=config.get("CLINIC_ADDRESS") or "",
        time_zone=config.get("CLINIC_TIME_ZONE") or DEFAULT_ZONE,
    )


def current() -> Clinic:
    """The clinic's details as the admin last saved them, else as configured; once per request."""
    if "screening_clinic" not in g:
        row = db.session().get(ClinicSettings, 1)
        if row is None:
            g.screening_clinic = from_config()
        else:
            zone = row.time_zone if valid_zone(row.time_zone) else DEFAULT_ZONE
            g.screening_clinic = Clinic(row.name, row.phone, row.address, zone)
    return g.screening_clinic


def zone() -> ZoneInfo:
    """The clinic's time zone."""
    return current().zone


def local(at: dt.datetime) -> dt.datetime:
    """`at` (aware, usually UTC) as the clinic's wall-clock time."""
    return at.astimezone(zone())


def today() -> dt.date:
    """Today's date where the clinic is."""
    return local(clock.now()).date()


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The UTC start (inclusive) and end (exclusive) of the clinic's calendar day `day`,
    right on the days the clocks change (23 or 25 hours long)."""
    tz = zone()
    start = dt.datetime.combine(day, dt.time(), tzinfo=tz)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)
