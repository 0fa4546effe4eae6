"""Admins: the accounts pages. Everyone signed in: their own password.

Every change is one write transaction holding the change and its one audit row.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash
from werkzeug.wrappers import Response
from wtforms import EmailField, PasswordField, RadioField, StringField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, ValidationError

from .. import audit, clock, db
from ..extensions import limiter
from ..models import User
from . import accounts, throttle
from .accounts import admin_required
from .blueprint import ActionForm, bp

ROLES = {"clinician": "Clinician", "admin": "Admin"}
DUPLICATE_EMAIL = "An account with this email address already exists"


# Forms


def _email_problem(email: str) -> str | None:
    """Why `email` is not a usable sign-in address, or None."""
    email = accounts.normalise_email(email)
    if "@" not in email or " " in email or email.startswith("@") or email.endswith("@"):
        return "Enter an email address like name@clinic.org"
    return None


def _check_new_password(password: str, email: str, name: str) -> None:
    """Raise the policy's objection to a new password, if it has one."""
    problem = accounts.password_problem(password or "", email or "", name or "")
    if problem:
        raise ValidationError(problem)


class NewAccountForm(FlaskForm):
    """An admin adds an account: name, email, role and a temporary password (twice)."""

    name = StringField("Full name", validators=[DataRequired("Enter the person's name"), Length(max=200)])
    email = EmailField("Email address", validators=[DataRequired("Enter their email address"), Length(max=254)])
    role = RadioField(
        "Role",
        choices=[SelectChoice(value, label) for value, label in ROLES.items()],
        default="clinician",
        validators=[InputRequired("Choose a role")],
    )
    password = PasswordField("Temporary password", validators=[DataRequired("Enter a temporary password")])
    confirm = PasswordField(
        "Temporary password again", validators=[EqualTo("password", "The two passwords are not the same")]
    )

    def validate_email(self, field: Any) -> None:
        """A real-looking address that no account uses yet."""
        problem = _email_problem(field.data or "")
        if problem:
            raise ValidationError(problem)
        if db.session().scalar(select(User.id).where(User.email == accounts.normalise_email(field.data))):
            raise ValidationError(DUPLICATE_EMAIL)

    def validate_password(self, field: Any) -> None:
        """Long, and not common or personal."""
        _check_new_password(field.data, self.email.data, self.name.data)


class NewPasswordForm(FlaskForm):
    """An admin sets a new password for someone else's account (twice)."""

    password = PasswordField("New password", validators=[DataRequired("Enter a new password")])
    confirm = PasswordField(
        "New password again", validators=[EqualTo("password", "The two passwords are not the same")]
    )

    def __init__(self, account: User, **kwargs: Any) -> None:
        """The form for this account's new password."""
        super().__init__(**kwargs)
        self.account = account

    def validate_password(self, field: Any) -> None:
        """Long, and not common or personal to the account's owner."""
        _check_new_password(field.data, self.account.email, self.account.name)


class ChangePasswordForm(FlaskForm):
    """The signed-in person changes their own password: the current one, then the new one twice."""

    current = PasswordField("Current password", validators=[DataRequired("Enter your current password")])
    password = PasswordField("New password", validators=[DataRequired("Enter a new password")])
    confirm = PasswordField(
        "New password again", validators=[EqualTo("password", "The two passwords are not the same")]
    )

    def validate_current(self, field: Any) -> None:
        """The password they signed in with, so a borrowed session cannot take the account over."""
        if not check_password_hash(current_user.password_hash, field.data or ""):
            raise ValidationError("Your current password is not right")

    def validate_password(self, field: Any) -> None:
        """Long, not common or personal, and not the current one."""
        _check_new_password(field.data, current_user.email, current_user.name)
        if field.data == self.current.data:
            raise ValidationError("Choose a new password that is different from your current one")


# Accounts


def account_or_404(user_id: int) -> User:
    """The account with this id, or a 404."""
    account = db.session().get(User, user_id)
    if account is None:
        abort(404)
    return account


def all_accounts() -> list[User]:
    """Every account, active ones first, then by name."""
    return list(db.session().scalars(select(User).order_by(User.active.desc(), User.name, User.email)))


def create_account(name: str, email: str, role: str, password: str) -> User | None:
    """Add an account and its audit row; None if the email was taken meanwhile."""
    password_hash = accounts.hash_password(password)  # slow on purpose: before taking the write lock
    try:
        with db.get_db().transaction() as s:
            account = User(
                email=accounts.normalise_email(email),
                name=name.strip(),
                password_hash=password_hash,
                role=role,
                temporary_until=temporary_until(),
            )
            s.add(account)
            s.flush()
            audit.record(s, "account_created", target=account, detail={"role": role})
    except IntegrityError:
        return None  # another admin added the same email between our check and our insert
    return account


def set_active(user_id: int, active: bool) -> tuple[User, bool]:
    """Deactivate (ending every session) or reactivate an account; whether anything changed."""
    with db.get_db().transaction() as s:
        account = s.get(User, user_id)
        if account is None:
            abort(404)
        if account.active == active:
            return account, False
        account.active = active
        if not active:
            accounts.end_all_sessions(account.id, s)
        action = "account_reactivated" if active else "account_deactivated"
        audit.record(s, action, target=account, detail={"role": account.role})
    return account, True


def temporary_until() -> dt.datetime:
    """When a password given now by an admin stops working."""
    return clock.now() + dt.timedelta(days=current_app.config["TEMPORARY_PASSWORD_DAYS"])


def save_password(user_id: int, password: str, action: str) -> User:
    """Store a new password, end every session of the account, and audit it (never the password).

    An admin's reset gives a temporary password (it must be changed, and expires); the
    person's own change makes it theirs.
    """
    password_hash = accounts.hash_password(password)
    with db.get_db().transaction() as s:
        account = s.get(User, user_id)
        if account is None:
            abort(404)
        account.password_hash = password_hash
        account.temporary_until = temporary_until() if action == "password_reset" else None
        accounts.end_all_sessions(account.id, s)
        audit.record(s, action, target=account, detail={"role": account.role})
    return account


def _render(template: str, **context: Any) -> tuple[str, int]:
    """A form page: 200 when first shown, 400 when a posted form had errors."""
    return render_template(template, **context), 400 if request.method == "POST" else 200


@bp.get("/users")
@admin_required
def users() -> str:
    """The accounts, with buttons to deactivate, reactivate and reset passwords."""
    everyone = all_accounts()
    locked = throttle.locked_accounts([account.email for account in everyone])
    return render_template("review/users.html", accounts=everyone, roles=ROLES, locked=locked)


@bp.post("/users/<int:user_id>/unlock")
@admin_required
def unlock_user(user_id: int) -> Response:
    """Lift a lock-out after many failed sign-ins (the guesser's own slow-down stays)."""
    if not ActionForm().validate_on_submit():
        abort(400)
    with db.get_db().transaction() as s:
        account = s.get(User, user_id)
        if account is None:
            abort(404)
        throttle.unlock(s, account.email)
        audit.record(s, "account_unlocked", target=account)
    flash(f"{account.name}'s account is unlocked.")
    return redirect(url_for("review.users"))


@bp.route("/users/new", methods=["GET", "POST"])
@admin_required
def add_user() -> Any:
    """Add an account with a temporary password the admin gives the person."""
    form = NewAccountForm()
    if not form.validate_on_submit():
        return _render("review/user_new.html", form=form)
    account = create_account(form.name.data, form.email.data, form.role.data, form.password.data)
    if account is None:
        form.email.errors = [DUPLICATE_EMAIL]
        return _render("review/user_new.html", form=form)
    flash(
        f"Account created for {account.name} ({account.email}). Give them the temporary password in person: "
        f"it works for {current_app.config['TEMPORARY_PASSWORD_DAYS']} days, and only to choose their own."
    )
    return redirect(url_for("review.users"))


@bp.post("/users/<int:user_id>/deactivate")
@admin_required
def deactivate_user(user_id: int) -> Response:
    """Deactivate an account: it cannot sign in, and its open sessions end at once."""
    if not ActionForm().validate_on_submit():
        abort(400)
    if user_id == current_user.id:
        flash("You cannot deactivate your own account. Ask another admin.")
        return redirect(url_for("review.users"))
    account, changed = set_active(user_id, active=False)
    flash(f"{account.name}'s account is {'now' if changed else 'already'} deactivated.")
    return redirect(url_for("review.users"))


@bp.post("/users/<int:user_id>/reactivate")
@admin_required
def reactivate_user(user_id: int) -> Response:
    """Let a deactivated account sign in again (with its existing password)."""
    if not ActionForm().validate_on_submit():
        abort(400)
    account, changed = set_active(user_id, active=True)
    flash(f"{account.name}'s account is {'active again' if changed else 'already active'}.")
    return redirect(url_for("review.users"))


@bp.route("/users/<int:user_id>/password", methods=["GET", "POST"])
@admin_required
def reset_password(user_id: int) -> Any:
    """Give someone a new password; every session they have open ends."""
    account = account_or_404(user_id)
    if account.id == current_user.id:
        # Your own password needs your current one: the change-password page asks for it.
        return redirect(url_for("review.change_password"))
    form = NewPasswordForm(account)
    if not form.validate_on_submit():
        return _render("review/user_password.html", form=form, account=account)
    save_password(account.id, form.password.data, "password_reset")
    flash(f"{account.name}'s password is reset and they are signed out everywhere. Give them the new one in person.")
    return redirect(url_for("review.users"))


@bp.route("/password", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_ACCOUNT"],
    # Runs before the sign-in check, so an anonymous request must not fail here.
    key_func=lambda: f"password:{getattr(current_user, 'id', None)}",
    methods=["POST"],
    # Only wrong answers count: a successful change redirects.
    deduct_when=lambda response: response.status_code != 302,
)
def change_password() -> Any:
    """Change your own password; your other sessions end, this one carries on."""
    form = ChangePasswordForm()
    if not form.validate_on_submit():
        return _render("review/password.html", form=form)
    accounts.start_session(save_password(current_user.id, form.password.data, "password_changed"))
    flash("Your password is changed. Anywhere else you were signed in, you are now signed out.")
    return redirect(url_for("review.queue"))
