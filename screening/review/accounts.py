"""Clinicians' accounts: passwords, sign-in, sessions that really end, first-run setup."""

from __future__ import annotations

import datetime as dt
import hmac
import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache, wraps
from pathlib import Path
from typing import Any

from flask import Flask, abort, current_app, flash, redirect, request, session, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash
from zxcvbn import zxcvbn

from .. import clock, db
from ..extensions import login_manager
from ..models import User

# OWASP: scrypt with N=2^15, r=8, p=3 (32 MiB, and three times the work of p=1).
PASSWORD_METHOD = "scrypt:32768:8:3"  # noqa: S105 - a hashing method, not a password
MIN_PASSWORD_LENGTH = 12
COMMON_PASSWORDS = frozenset(
    line.strip().casefold()
    for line in (Path(__file__).parent / "common_passwords.txt").read_text().splitlines()
    if line.strip() and not line.startswith("#")
)


# A hash to check against when the account does not exist, so that a wrong email
# takes as long as a wrong password and the answer says nothing about which it was.
@cache
def _dummy_hash() -> str:
    """Made on first use, not at import: hashing takes a moment and most commands never need it."""
    return generate_password_hash("not a real password", method=PASSWORD_METHOD)


def now() -> dt.datetime:
    """The current time (the app's clock; tests move it here too)."""
    return clock.now()


# Words any guesser of this app's passwords would try first (zxcvbn's "user inputs").
SITE_WORDS = ("clinic", "screening", "physio", "physiotherapy", "acupuncture", "review", "patient", "needle")
# zxcvbn's top score: about 10^10 guesses or more.
MIN_STRENGTH = 4
MAX_PASSWORD_LENGTH = 128  # zxcvbn's time grows with length; scrypt's does not care


def password_problem(password: str, email: str = "", name: str = "") -> str | None:
    """Why a new password is not good enough, or None.

    Length first, then the short list of the commonest passwords, then zxcvbn, a
    strength estimator that knows tens of thousands of common passwords, words and
    names, keyboard patterns, dates and l33t spellings, and this person's name and email.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Use at most {MAX_PASSWORD_LENGTH} characters"
    folded = password.casefold()
    if folded in COMMON_PASSWORDS or len(set(folded)) < 4:
        return "This password is too common or too easy to guess: choose another"
    for personal in (email.split("@")[0], name):
        if personal and len(personal) >= 4 and personal.casefold() in folded:
            return "Do not use your name or email address in your password"
    personal_words = [word for word in (*email.replace("@", " ").replace(".", " ").split(), *name.split()) if word]
    if zxcvbn(password, user_inputs=[*SITE_WORDS, *personal_words])["score"] < MIN_STRENGTH:
        return "This password would be easy to guess: try three or four unrelated words"
    return None


def temporary_password_expired(user: User) -> bool:
    """Whether `user` still has an admin-given password that is past its time."""
    return user.temporary_until is not None and user.temporary_until <= clock.now()


def hash_password(password: str) -> str:
    """A salted scrypt hash of the password."""
    return generate_password_hash(password, method=current_app.config["PASSWORD_METHOD"])


def authenticate(email: str, password: str) -> User | None:
    """The active user with this email and password, or None (in constant-ish time)."""
    user = db.session().scalars(select(User).where(User.email == normalise_email(email))).one_or_none()
    if user is None:
        check_password_hash(_dummy_hash(), password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.active:
        return None
    return user


def normalise_email(email: str) -> str:
    """Emails are compared trimmed and lower-cased."""
    return (email or "").strip().casefold()


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """The user for a session id `user:version`; an old version means signed out."""
    user_id, _, version = session_id.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = db.session().get(User, int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


def start_session(user: User) -> None:
    """Sign in: a fresh session (no fixation) stamped with the sign-in time."""
    session.clear()
    login_user(user)
    stamp = now().timestamp()
    session["signed_in_at"] = stamp
    session["seen_at"] = stamp


def end_all_sessions(user_id: int, s: Session | None = None) -> None:
    """Make every existing session of this user useless (logout, deactivation, new password)."""
    if s is None:
        with db.get_db().transaction() as own:
            end_all_sessions(user_id, own)
        return
    # Given the action's own transaction, the change and the end of the sessions commit together.
    user = s.get(User, user_id)
    if user is not None:
        user.session_version += 1


def check_session_age() -> Any:
    """Sign out a session idle too long, or older than the absolute limit."""
    if not current_user.is_authenticated:
        return None
    stamp = now().timestamp()
    idle = current_app.config["IDLE_TIMEOUT_MINUTES"] * 60
    absolute = current_app.config["ABSOLUTE_TIMEOUT_HOURS"] * 3600
    if stamp - session.get("seen_at", 0) > idle or stamp - session.get("signed_in_at", 0) > absolute:
        logout_user()
        session.clear()
        flash("You were signed out because the session timed out. Please sign in again.")
        return redirect(url_for("review.login", next=request.full_path if request.method == "GET" else None))
    session["seen_at"] = stamp
    return None


def admin_required(view: Callable) -> Callable:
    """Only admins may use this page."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated or not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def safe_next(target: str | None) -> str:
    """A `next=` target only if it stays within this app's review pages."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("review.today")
    if not target.startswith("/review") or target.startswith("/review/login"):
        return url_for("review.today")
    return target


def count_users() -> int:
    """How many accounts exist."""
    return db.session().scalar(select(func.count()).select_from(User)) or 0


def setup_token(instance_path: str) -> str:
    """The one-time first-run token in instance/setup_token (created once, owner-only)."""
    path = Path(instance_path) / "setup_token"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    token = secrets.token_urlsafe(24)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    return token


def setup_token_valid(token: str | None) -> bool:
    """Whether `token` is the current first-run token (and no account exists yet)."""
    path = Path(current_app.instance_path) / "setup_token"
    if not token or not path.exists() or count_users() > 0:
        return False
    return hmac.compare_digest(token, path.read_text().strip())


@contextmanager
def claimed_setup_token() -> Iterator[bool]:
    """Take the setup token for this request alone (an atomic rename), or yield False.

    On success the token is spent; if creating the account fails it is put back.
    """
    path = Path(current_app.instance_path) / "setup_token"
    claimed = path.with_name(f"setup_token.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        path.rename(claimed)
    except FileNotFoundError:
        yield False
        return
    try:
        yield True
    except BaseException:
        claimed.rename(path)
        raise
    claimed.unlink(missing_ok=True)


def finish_setup() -> None:
    """The first admin exists: the setup token is spent."""
    (Path(current_app.instance_path) / "setup_token").unlink(missing_ok=True)


def announce_setup(app: Flask) -> None:
    """On a first run with no accounts, print the one-time setup link."""
    if app.testing:
        return
    try:
        with app.app_context():
            users = count_users()
    except Exception:
        return
    if users == 0:
        token = setup_token(app.instance_path)
        print(
            "\nNo accounts exist yet. Create the first admin account at:\n"
            f"    /setup?token={token}\n(or run: flask --app screening create-user --role admin)\n",
            flush=True,
        )
