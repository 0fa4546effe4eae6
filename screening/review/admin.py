"""Admins: accounts and the audit log. Everyone signed in: their own password.

Every change is one write transaction holding the change and its one audit row.
Audit rows are only ever read here: there is no page that edits or deletes them.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from flask import Response, abort, current_app, flash, redirect, render_template, request, stream_with_context, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from werkzeug.security import check_password_hash
from wtforms import EmailField, Form, PasswordField, RadioField, SelectField, StringField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, Optional, ValidationError

from .. import audit, db
from ..extensions import limiter
from ..models import AuditEvent, User
from . import accounts
from .accounts import admin_required
from .blueprint import ActionForm, bp
from .export import safe_cell

ROLES = {"clinician": "Clinician", "admin": "Admin"}
DUPLICATE_EMAIL = "An account with this email address already exists"
PAGE_SIZE = 50
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
CSV_HEADER = ["id", "when (UTC)", "who", "action", "what", "reference", "account", "ip", "detail"]


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


class AuditFilterForm(Form):
    """The audit log's filters, read from the query string (a GET form: no CSRF needed)."""

    action = SelectField(
        "Action",
        choices=[SelectChoice("", "Any action")] + [SelectChoice(key, words) for key, words in audit.ACTIONS.items()],
        default="",
    )
    user = StringField("Person (email address)", validators=[Optional(), Length(max=254)])
    reference = StringField("Submission reference", validators=[Optional(), Length(max=16)])

    def chosen(self) -> dict[str, str]:
        """The filters in use, normalised, as query-string arguments."""
        values = {
            "action": self.action.data or "",
            "user": accounts.normalise_email(self.user.data or ""),
            "reference": (self.reference.data or "").strip().upper(),
        }
        return {name: value for name, value in values.items() if value}


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
                email=accounts.normalise_email(email), name=name.strip(), password_hash=password_hash, role=role
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


def save_password(user_id: int, password: str, action: str) -> User:
    """Store a new password, end every session of the account, and audit it (never the password)."""
    password_hash = accounts.hash_password(password)
    with db.get_db().transaction() as s:
        account = s.get(User, user_id)
        account.password_hash = password_hash
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
    return render_template("review/users.html", accounts=all_accounts(), roles=ROLES)


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
    flash(f"Account created for {account.name} ({account.email}). Give them the temporary password in person.")
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


# The audit log


@dataclass
class AuditPage:
    """One page of the audit log, newest first, and where the neighbouring pages start."""

    rows: list[tuple[AuditEvent, str | None]]
    newer: int | None  # show rows after this id
    older: int | None  # show rows before this id


def audit_conditions(filters: dict[str, str]) -> list[ColumnElement[bool]]:
    """SQL conditions for the chosen filters."""
    conditions: list[ColumnElement[bool]] = []
    if "action" in filters:
        conditions.append(AuditEvent.action == filters["action"])
    if "user" in filters:
        # What the person did (also failed sign-ins typed with their address) and what was done to their account.
        user_id = select(User.id).where(User.email == filters["user"]).scalar_subquery()
        conditions.append(
            or_(
                AuditEvent.actor == filters["user"], AuditEvent.user_id == user_id, AuditEvent.target_user_id == user_id
            )
        )
    if "reference" in filters:
        conditions.append(AuditEvent.reference == filters["reference"])
    return conditions


def audit_rows(conditions: list[ColumnElement[bool]]) -> Any:
    """Audit events with the email of the account each one concerns."""
    target = aliased(User)
    return select(AuditEvent, target.email).outerjoin(target, AuditEvent.target_user_id == target.id).where(*conditions)


def _exists(conditions: list[ColumnElement[bool]]) -> bool:
    """Whether any audit row meets the conditions."""
    return db.session().scalar(select(AuditEvent.id).where(*conditions).limit(1)) is not None


def audit_page(filters: dict[str, str], before: int | None = None, after: int | None = None) -> AuditPage:
    """A page of the filtered log by keyset on id (no OFFSET: as fast on page 1,000 as on page 1)."""
    conditions = audit_conditions(filters)
    if after is not None:
        query = audit_rows([*conditions, AuditEvent.id > after]).order_by(AuditEvent.id).limit(PAGE_SIZE)
        rows = list(reversed(db.session().execute(query).all()))
    else:
        bound = [AuditEvent.id < before] if before is not None else []
        query = audit_rows([*conditions, *bound]).order_by(AuditEvent.id.desc()).limit(PAGE_SIZE)
        rows = list(db.session().execute(query).all())
    if not rows:
        return AuditPage(rows=[], newer=None, older=None)
    first, last = rows[0][0].id, rows[-1][0].id
    return AuditPage(
        rows=rows,
        newer=first if _exists([*conditions, AuditEvent.id > first]) else None,
        older=last if _exists([*conditions, AuditEvent.id < last]) else None,
    )


def export_audit_log(filters: dict[str, str]) -> Iterator[str]:
    """Record the download, then the filtered log as CSV lines, newest first, a batch at a time."""
    with db.get_db().transaction() as s:
        audit.record(s, "audit_export", detail={"filters": filters})
    query = audit_rows(audit_conditions(filters)).order_by(AuditEvent.id.desc())

    def lines() -> Iterator[str]:
        """The CSV text in chunks of about 16 kB."""
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_HEADER)
        for event, target_email in db.session().execute(query.execution_options(yield_per=500)):
            writer.writerow(
                safe_cell(value)
                for value in (
                    event.id,
                    event.at.strftime("%Y-%m-%d %H:%M:%S"),
                    event.actor,
                    event.action,
                    audit.ACTIONS.get(event.action, event.action),
                    event.reference,
                    target_email,
                    event.ip,
                    json.dumps(event.detail, sort_keys=True) if event.detail else "",
                )
            )
            if buffer.tell() > 16_384:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return stream_with_context(lines())


def _filters_or_400() -> dict[str, str]:
    """The audit filters from the query string; 400 if they are not ones the page offers."""
    form = AuditFilterForm(request.args)
    if not form.validate():
        abort(400)
    return form.chosen()


@bp.get("/audit")
@admin_required
def audit_log() -> Any:
    """Who did what, newest first, with filters and keyset paging."""
    form = AuditFilterForm(request.args)
    if not form.validate():
        return render_template("review/audit.html", form=form, filters={}, page=None, actions=audit.ACTIONS), 400
    filters = form.chosen()
    page = audit_page(filters, before=request.args.get("before", type=int), after=request.args.get("after", type=int))
    return render_template("review/audit.html", form=form, filters=filters, page=page, actions=audit.ACTIONS)


@bp.get("/audit.csv")
@admin_required
def audit_csv() -> Response:
    """The filtered audit log as a CSV download (the download itself is audited)."""
    filters = _filters_or_400()
    stamp = accounts.now().strftime("%Y%m%d-%H%M")
    return Response(
        export_audit_log(filters),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="audit-log-{stamp}.csv"'},
    )
