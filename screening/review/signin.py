"""Sign in and sign out."""

from __future__ import annotations

import re
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired

from .. import audit, db
from ..extensions import limiter
from . import accounts
from .blueprint import ActionForm, bp

EMAIL_SHAPE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class LoginForm(FlaskForm):
    """Email and password."""

    email = EmailField("Email address", validators=[DataRequired("Enter your email address")])
    password = PasswordField("Password", validators=[DataRequired("Enter your password")])


def typed_address(email: str) -> str | None:
    """The address typed at a failed sign-in, for the audit log, if it looks like one.

    People sometimes type their password into the email box: anything not shaped like
    an address is left out, so the audit log never keeps a password.
    """
    typed = accounts.normalise_email(email)
    return typed[:254] if EMAIL_SHAPE.fullmatch(typed) else None


def _count_failure(response: Response) -> bool:
    """Only failed sign-ins count towards the limits."""
    return response.status_code != 302


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_ACCOUNT"],
    key_func=lambda: "account:" + accounts.normalise_email(request.form.get("email", "")),
    methods=["POST"],
    deduct_when=_count_failure,
)
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_ADDRESS"], methods=["POST"], deduct_when=_count_failure)
def login() -> Any:
    """Sign in; the message for a wrong email and a wrong password is the same."""
    form = LoginForm()
    if current_user.is_authenticated and request.method == "GET":
        return redirect(accounts.safe_next(request.args.get("next")))
    if not form.validate_on_submit():
        return render_template("review/login.html", form=form), 400 if request.method == "POST" else 200
    user = accounts.authenticate(form.email.data, form.password.data)
    with db.get_db().transaction() as s:
        if user is None:
            audit.record(s, "login_failed", actor=typed_address(form.email.data))
        else:
            audit.record(s, "login", user=user)
    if user is None:
        form.password.errors = ["The email address or password is not right. Check them and try again."]
        return render_template("review/login.html", form=form), 401
    accounts.start_session(user)
    return redirect(accounts.safe_next(request.args.get("next")))


@bp.post("/logout")
def logout() -> Response:
    """Sign out, and end every other copy of this session too."""
    if ActionForm().validate():
        user_id = current_user.id
        with db.get_db().transaction() as s:
            audit.record(s, "logout")
        accounts.end_all_sessions(user_id)
        logout_user()
        flash("You have signed out.")
    return redirect(url_for("review.login"))
