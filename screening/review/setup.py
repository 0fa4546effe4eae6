"""First run: the one-time page that creates the first admin account."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from .. import audit, db
from ..models import User
from . import accounts, settings

setup_bp = Blueprint("setup", __name__)


class AccountForm(FlaskForm):
    """Name, email and a new password (entered twice)."""

    name = StringField("Your name", validators=[DataRequired("Enter your name"), Length(max=200)])
    email = EmailField("Email address", validators=[DataRequired("Enter your email address"), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired("Enter a password")])
    confirm = PasswordField("Password again", validators=[EqualTo("password", "The two passwords are not the same")])

    def validate_email(self, field: Any) -> None:
        """Looks like an email address."""
        if "@" not in (field.data or "") or " " in field.data.strip():
            raise ValidationError("Enter an email address like name@clinic.org")

    def validate_password(self, field: Any) -> None:
        """Long, and not common or personal."""
        problem = accounts.password_problem(field.data or "", self.email.data or "", self.name.data or "")
        if problem:
            raise ValidationError(problem)


class SetupForm(AccountForm, settings.ClinicForm):
    """The first admin's account, and the clinic's details."""


@setup_bp.route("/setup", methods=["GET", "POST"])
def setup() -> Any:
    """Create the first admin, with the token printed at start-up; then never again."""
    token = request.args.get("token")
    if not accounts.setup_token_valid(token):
        abort(404)
    form = SetupForm()
    if not form.validate_on_submit():
        page = render_template("review/setup.html", form=form, zones=settings.zone_names())
        return page, 400 if request.method == "POST" else 200
    password_hash = accounts.hash_password(form.password.data)
    # Two people posting at the same moment: only the one who claims the token goes on.
    with accounts.claimed_setup_token() as claimed:
        if not claimed:
            abort(404)
        with db.get_db().transaction() as s:
            user = User(
                email=accounts.normalise_email(form.email.data),
                name=form.name.data.strip(),
                password_hash=password_hash,
                role="admin",
            )
            s.add(user)
            s.flush()
            audit.record(s, "account_created", user=user, target=user, detail={"role": "admin", "via": "setup"})
            changed = settings.save(s, form)
            audit.record(s, "clinic_settings_changed", user=user, detail={"changed": changed, "via": "setup"})
    # Signed in at once: the next step is the admin's second factor, not signing in again.
    accounts.start_session(user)
    flash("Your admin account is ready. Now set up two-factor sign-in.")
    return redirect(url_for("review.enrol"))
