"""The clinic's own details (name, phone, address, time zone): asked at first-run setup,
changed here by an admin, audited. Patients see them on every page (clinic.current())."""

from __future__ import annotations

import re
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from flask import flash, g, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from .. import audit, clinic, db
from ..models import ClinicSettings
from .accounts import admin_required
from .blueprint import bp

PHONE = re.compile(r"^\+?[0-9 ()-]{7,30}$")


@cache
def zone_names() -> list[str]:
    """Every IANA time zone name, for the time zone's list of suggestions."""
    return sorted(name for name in available_timezones() if "/" in name and not name.startswith("Etc/"))


class ClinicForm(FlaskForm):
    """What patients see of the clinic, and the clinic's time zone."""

    clinic_name = StringField(
        "Clinic name",
        validators=[DataRequired("Enter the clinic's name"), Length(max=120, message="Use 120 characters or fewer")],
    )
    clinic_phone = StringField(
        "Clinic phone number",
        validators=[
            DataRequired("Enter the clinic's phone number"),
            Length(max=40, message="Use 40 characters or fewer"),
        ],
    )
    clinic_address = TextAreaField(
        "Clinic address",
        validators=[DataRequired("Enter the clinic's address"), Length(max=500, message="Use 500 characters or fewer")],
    )
    time_zone = StringField(
        "Time zone",
        default=clinic.DEFAULT_ZONE,
        validators=[DataRequired("Enter the clinic's time zone, like Europe/London")],
    )

    def validate_clinic_phone(self, field: Any) -> None:
        """Looks like a phone number (patients tap it to call)."""
        text = (field.data or "").strip()
        if not PHONE.match(text) or not 7 <= sum(c.isdigit() for c in text) <= 15:
            raise ValidationError("Enter a phone number, like 01632 960 123 or +44 1632 960 123")

    def validate_time_zone(self, field: Any) -> None:
        """A real IANA time zone."""
        if not clinic.valid_zone((field.data or "").strip()):
            raise ValidationError("Enter a time zone from the list, like Europe/London")

    def fill_from(self, current: clinic.Clinic) -> None:
        """Show the details as they are now."""
        self.clinic_name.data = current.name
        self.clinic_phone.data = current.phone
        self.clinic_address.data = current.address
        self.time_zone.data = current.time_zone


def save(s: Session, form: ClinicForm) -> dict[str, list[str]]:
    """Write the one settings row (id 1) from the form; return what changed, as {field: [old, new]}."""
    row = s.get(ClinicSettings, 1, with_for_update=True)
    if row is None:
        row = ClinicSettings(id=1, name="", phone="", address="", time_zone=clinic.DEFAULT_ZONE)
        s.add(row)
        old = {"name": "", "phone": "", "address": "", "time_zone": ""}
    else:
        old = {"name": row.name, "phone": row.phone, "address": row.address, "time_zone": row.time_zone}
    new = {
        "name": " ".join(form.clinic_name.data.split()),
        "phone": form.clinic_phone.data.strip(),
        "address": "\n".join(line.strip() for line in form.clinic_address.data.strip().splitlines() if line.strip()),
        "time_zone": form.time_zone.data.strip(),
    }
    row.name, row.phone, row.address, row.time_zone = new["name"], new["phone"], new["address"], new["time_zone"]
    g.pop("screening_clinic", None)  # this request reads the new details from now on
    return {key: [old[key], new[key]] for key in new if old[key] != new[key]}


@bp.route("/settings", methods=["GET", "POST"])
@admin_required
def clinic_settings() -> Any:
    """The clinic's name, phone, address and time zone (admins only; audited)."""
    form = ClinicForm()
    if request.method == "GET":
        form.fill_from(clinic.current())
    if not form.validate_on_submit():
        page = render_template("review/settings.html", form=form, zones=zone_names())
        return (page, 400) if request.method == "POST" else page
    with db.get_db().transaction() as s:
        changed = save(s, form)
        if changed:
            audit.record(s, "clinic_settings_changed", detail={"changed": changed})
    flash("The clinic's details are saved." if changed else "Nothing was changed.")
    return redirect(url_for("review.clinic_settings"))
