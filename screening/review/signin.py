"""Sign in (password, then the second factor) and sign out."""

from __future__ import annotations

import re
import secrets
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import validate_csrf
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, ValidationError

from .. import audit, clock, db, security
from ..extensions import csrf
from ..models import User
from . import accounts, throttle, twofactor
from .blueprint import bp

EMAIL_SHAPE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
WRONG = "The email address or password is not right. Check them and try again."
DEVICE_DAYS = 90
PENDING_SECONDS = 300  # between the password and the code


class LoginForm(FlaskForm):
    """Email and password."""

    email = EmailField("Email address", validators=[DataRequired("Enter your email address")])
    password = PasswordField("Password", validators=[DataRequired("Enter your password")])


class CodeForm(FlaskForm):
    """The authenticator app's code, or a recovery code."""

    code = StringField("Code from your authenticator app", validators=[DataRequired("Enter the code")])


def typed_address(email: str) -> str | None:
    """The address typed at a failed sign-in, for the audit log, if it looks like one.

    People sometimes type their password into the email box: anything not shaped like
    an address is left out, so the audit log never keeps a password.
    """
    typed = accounts.normalise_email(email)
    return typed[:254] if EMAIL_SHAPE.fullmatch(typed) else None


# Known devices: a browser someone signed in on before carries a signed cookie naming the
# account, so a guesser elsewhere slowing that account down does not slow its owner.


def device_cookie_name() -> str:
    """`__Host-` in production: only this host, over HTTPS, for the whole site."""
    return "__Host-screening_device" if current_app.config["PRODUCTION"] else "screening_device"


def _devices() -> URLSafeTimedSerializer:
    """Signs and reads the known-device cookie."""
    return security.serializer("screening.known-device")


def known_device(email: str) -> str | None:
    """This browser's device id, if it has signed in to `email` before."""
    raw = request.cookies.get(device_cookie_name())
    if not raw:
        return None
    try:
        value = _devices().loads(raw, max_age=DEVICE_DAYS * 86400)
    except BadSignature:
        return None
    if not isinstance(value, list) or len(value) != 2 or value[0] != email:
        return None
    return str(value[1])


def remember_device(response: Response, email: str) -> Response:
    """Mark this browser as a known device of `email`."""
    value = _devices().dumps([email, secrets.token_hex(16)])
    response.set_cookie(
        device_cookie_name(),
        value,
        max_age=DEVICE_DAYS * 86400,
        path="/",
        secure=current_app.config["PRODUCTION"],
        httponly=True,
        samesite="Lax",
    )
    return response


def _login_page(form: FlaskForm, status: int, message: str) -> tuple[str, int]:
    """The sign-in page with `message` under the password."""
    form.password.errors = [message]
    return render_template("review/login.html", form=form), status


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Sign in; the message for a wrong email and a wrong password is the same."""
    form = LoginForm()
    if current_user.is_authenticated and request.method == "GET":
        return redirect(accounts.safe_next(request.args.get("next")))
    if not form.validate_on_submit():
        return render_template("review/login.html", form=form), 400 if request.method == "POST" else 200
    email = accounts.normalise_email(form.email.data)
    keys = throttle.Keys.of(email, request.remote_addr or "", known_device(email))
    with db.get_db().transaction() as s:
        refusal = throttle.reserve(s, keys, email)
    if refusal is not None:
        return _login_page(form, 429, refusal.message())
    user = accounts.authenticate(email, form.password.data)
    expired = user is not None and accounts.temporary_password_expired(user)
    with db.get_db().transaction() as s:
        if user is None or expired:
            detail = {"reason": "temporary password expired"} if expired else None
            audit.record(s, "login_failed", actor=typed_address(email), detail=detail)
        else:
            throttle.succeeded(s, keys)
            if not user.totp_secret:
                audit.record(s, "login", user=user)
    if expired:
        return _login_page(form, 401, "This temporary password has expired. Ask an admin for a new one.")
    if user is None:
        return _login_page(form, 401, WRONG)
    target = accounts.safe_next(request.args.get("next"))
    if user.totp_secret:
        # The password was right; the session only starts once the code is too.
        session.clear()
        session["pending"] = {"user": user.id, "version": user.session_version, "at": clock.now().timestamp()}
        session["pending_next"] = target
        return redirect(url_for("review.login_code"))
    accounts.start_session(user)
    return remember_device(redirect(target), email)


def _pending_user() -> User | None:
    """The account whose password was just right, if the code step is still open."""
    pending = session.get("pending")
    if not isinstance(pending, dict) or clock.now().timestamp() - pending.get("at", 0) > PENDING_SECONDS:
        return None
    user = db.session().get(User, pending.get("user"))
    if user is None or not user.active or user.session_version != pending.get("version") or not user.totp_secret:
        return None
    return user


@bp.route("/login/code", methods=["GET", "POST"])
def login_code() -> Any:
    """The second step: a code from the authenticator app, or a recovery code."""
    user = _pending_user()
    if user is None:
        session.pop("pending", None)
        flash("Please sign in again.")
        return redirect(url_for("review.login"))
    form = CodeForm()
    if not form.validate_on_submit():
        return render_template("review/login_code.html", form=form), 400 if request.method == "POST" else 200
    keys = throttle.Keys.of(f"code:{user.id}", request.remote_addr or "", known_device(user.email))
    with db.get_db().transaction() as s:
        refusal = throttle.reserve(s, keys, user.email)
    if refusal is not None:
        form.code.errors = [refusal.message()]
        return render_template("review/login_code.html", form=form), 429
    with db.get_db().transaction() as s:
        account = s.get_one(User, user.id, with_for_update=True)
        used = twofactor.use_code(account, form.code.data)
        if used is None:
            audit.record(s, "login_failed", user=account, detail={"reason": "wrong second-factor code"})
        else:
            throttle.succeeded(s, keys)
            audit.record(s, "login", user=account, detail={"second_factor": used})
    if used is None:
        form.code.errors = ["That code is not right. Check the code in your authenticator app and try again."]
        return render_template("review/login_code.html", form=form), 401
    target = session.get("pending_next") or url_for("review.today")
    accounts.start_session(account)
    if used == "recovery code":
        flash(f"You used a recovery code: {len(account.recovery_codes)} left. Each works once.")
    return remember_device(redirect(accounts.safe_next(target)), account.email)


def _sign_out_is_ours() -> bool:
    """A sign-out from one of our own pages: its CSRF token (however old), or the browser's word.

    An expired token must not keep a session alive, so age is not checked: the token is
    still tied to this session, which a forged cross-site form cannot know.
    """
    try:
        validate_csrf(request.form.get("csrf_token"), time_limit=10**9)
    except ValidationError:
        return request.headers.get("Sec-Fetch-Site") in ("same-origin", "none")
    return True


@bp.post("/logout")
@csrf.exempt
def logout() -> Response:
    """Sign out, and end every other copy of this session too (a forged cross-site form is refused)."""
    if not _sign_out_is_ours():
        abort(400)
    if current_user.is_authenticated:
        user_id = current_user.id
        with db.get_db().transaction() as s:
            audit.record(s, "logout")
        accounts.end_all_sessions(user_id)
        logout_user()
        session.clear()
        flash("You have signed out.")
    return redirect(url_for("review.login"))
