"""Two-factor sign-in: an authenticator app (TOTP) and one-time recovery codes.

Enrolment shows a QR code drawn here on the server (segno, as an SVG data URI: no
outside service sees the secret), then asks for one code to prove the app has it. Ten
recovery codes are shown once and stored only as SHA-256 hashes (each is 50 random
bits, so a fast hash is enough: there is no dictionary to try). A code from the app
works once: the step it was accepted for is kept, and only later steps count.

Required for admins always, and for everyone unless the clinic sets
TWO_FACTOR_FOR_EVERYONE to false. Someone who must and has not enrolled can use no
page but enrolment and sign-out. A lost phone: an admin resets the second factor
(audited), and the person enrols again at their next sign-in.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

import pyotp
import segno
from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import StringField
from wtforms.validators import DataRequired

from .. import audit, clock, db, versions
from ..models import User
from . import accounts
from .accounts import admin_required
from .blueprint import ActionForm, bp

RECOVERY_CODES = 10
STEP_SECONDS = 30


def required_for(user: User) -> bool:
    """Whether this person must use a second factor."""
    return user.is_admin or bool(current_app.config["TWO_FACTOR_FOR_EVERYONE"])


def _step(at: float) -> int:
    """The TOTP time step (RFC 6238, 30 s) of a moment."""
    return int(at // STEP_SECONDS)


def _code_for(secret: str, step: int) -> str:
    """The six-digit code of `secret` at `step`."""
    return pyotp.TOTP(secret).at(step * STEP_SECONDS)


def totp_step_matching(secret: str, code: str, after: int | None) -> int | None:
    """The step (now, or one either side for clock drift) whose code this is, if later than `after`."""
    now = _step(clock.now().timestamp())
    for step in (now - 1, now, now + 1):
        if (after is None or step > after) and hmac.compare_digest(_code_for(secret, step), code):
            return step
    return None


def hash_recovery_code(code: str) -> str:
    """The stored form of a recovery code (spaces, dashes and case do not matter)."""
    return hashlib.sha256(_normalise(code).encode()).hexdigest()


def _normalise(code: str) -> str:
    """A typed code without spaces and dashes, lower-case."""
    return "".join(code.split()).replace("-", "").lower()


def new_recovery_codes() -> list[str]:
    """Ten fresh codes such as 3f9a1-0c27e (50 random bits each)."""
    codes = [secrets.token_hex(5) for _ in range(RECOVERY_CODES)]
    return [f"{code[:5]}-{code[5:]}" for code in codes]


def use_code(user: User, typed: str) -> str | None:
    """Check a typed code against `user` (in a write transaction) and spend it; what it was, or None."""
    code = "".join((typed or "").split())
    if not user.totp_secret:
        return None
    if code.isdigit() and len(code) == 6:
        step = totp_step_matching(user.totp_secret, code, user.totp_last_step)
        if step is None:
            return None
        user.totp_last_step = step
        return "authenticator app"
    hashed = hash_recovery_code(code)
    remaining = [h for h in user.recovery_codes if not hmac.compare_digest(h, hashed)]
    if len(remaining) == len(user.recovery_codes):
        return None
    user.recovery_codes = remaining
    return "recovery code"


# Enrolment


class EnrolForm(FlaskForm):
    """The first code from the newly set-up app."""

    code = StringField("Code from your authenticator app", validators=[DataRequired("Enter the code")])


def qr_code(uri: str) -> str:
    """The provisioning URI as a QR code image (an SVG data URI, drawn here)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


@bp.route("/two-factor", methods=["GET", "POST"])
def enrol() -> Any:
    """Set up an authenticator app (or set up a new one)."""
    secret = session.get("enrol_secret")
    if not isinstance(secret, str) or len(secret) != 32:
        secret = session["enrol_secret"] = pyotp.random_base32()
    uri = pyotp.TOTP(secret).provisioning_uri(name=current_user.email, issuer_name=_issuer())
    form = EnrolForm()
    if form.validate_on_submit():
        step = totp_step_matching(secret, "".join(form.code.data.split()), None)
        if step is not None:
            codes = new_recovery_codes()
            with db.get_db().transaction() as s:
                user = s.get_one(User, current_user.id, with_for_update=True)
                user.totp_secret, user.totp_last_step = secret, step
                user.recovery_codes = [hash_recovery_code(code) for code in codes]
                audit.record(s, "two_factor_enrolled", target=user)
            session.pop("enrol_secret", None)
            return render_template("review/recovery_codes.html", codes=codes)
        form.code.errors = ["That code is not right. Check the time on your phone and try the newest code."]
    status = 400 if request.method == "POST" else 200
    return render_template("review/two_factor.html", form=form, qr=qr_code(uri), secret=secret), status


def _issuer() -> str:
    """The name the authenticator app shows: the clinic's, else the app's."""
    clinic = getattr(getattr(versions.current_definition(), "questionnaire", None), "clinic", None)
    return str(getattr(clinic, "name", None) or "Screening")


@bp.post("/users/<int:user_id>/two-factor/reset")
@admin_required
def reset_two_factor(user_id: int) -> Response:
    """A lost phone: clear someone's second factor and recovery codes; they enrol again at sign-in."""
    if not ActionForm().validate_on_submit():
        return redirect(url_for("review.users"))
    with db.get_db().transaction() as s:
        found = s.get(User, user_id, with_for_update=True)
        if found is None:
            return redirect(url_for("review.users"))
        account = found
        account.totp_secret, account.totp_last_step, account.recovery_codes = None, None, []
        accounts.end_all_sessions(account.id, s)
        audit.record(s, "two_factor_reset", target=account)
    flash(f"{account.name}'s second factor is reset; they set up a new one when they next sign in.")
    return redirect(url_for("review.users"))
