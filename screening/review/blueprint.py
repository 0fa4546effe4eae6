"""The clinicians' pages: sign-in, the triage queue, records, accounts and the audit log.

Every page under /review needs a signed-in clinician, except the sign-in page itself:
the check runs before every request of this blueprint, so a new page cannot forget it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, redirect, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from ..extensions import login_manager
from . import accounts

bp = Blueprint("review", __name__, url_prefix="/review", cli_group=None)

PUBLIC_ENDPOINTS = {"review.login", "review.login_code", "review.logout"}
# All that someone who must first set up a second factor, or replace an admin-given
# password, may open.
ENROLMENT_ENDPOINTS = {"review.enrol", "review.logout"}
PASSWORD_CHANGE_ENDPOINTS = {"review.change_password", "review.logout"}


class ActionForm(FlaskForm):
    """A button that only needs a CSRF token (sign out, and the like)."""


def same_origin_only(view: Callable) -> Callable:
    """A download only when the browser says it was asked for from one of our own pages.

    A hostile page could otherwise make a signed-in clinician's browser fetch the full
    export (a GET with their cookie). Browsers say where a request came from in
    Sec-Fetch-Site; a request without it (an older browser, a script with a copied
    cookie) is judged by its Referer, and one with neither is let through.
    """

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        site = request.headers.get("Sec-Fetch-Site")
        if site is not None and site not in ("same-origin", "none"):
            abort(403)
        referrer = request.headers.get("Referer")
        if site is None and referrer and urlsplit(referrer).netloc != request.host:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


@bp.before_request
def require_sign_in() -> Any:
    """Refuse anyone not signed in; sign out idle or too-old sessions."""
    if request.endpoint in PUBLIC_ENDPOINTS and request.method != "OPTIONS":
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    timed_out = accounts.check_session_age()
    if timed_out is not None:
        return timed_out
    return _unfinished_account()


def _unfinished_account() -> Any:
    """Send someone with an admin-given password, or without a required second factor, to fix that first."""
    from .twofactor import required_for

    if current_user.temporary_until is not None and request.endpoint not in PASSWORD_CHANGE_ENDPOINTS:
        return redirect(url_for("review.change_password"))
    if (
        current_user.temporary_until is None
        and not current_user.totp_secret
        and required_for(current_user)
        and request.endpoint not in ENROLMENT_ENDPOINTS
    ):
        return redirect(url_for("review.enrol"))
    return None


@bp.after_request
def no_store(response: Response) -> Response:
    """Health data is never kept in a browser or proxy cache."""
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.context_processor
def navigation() -> dict[str, Any]:
    """The sign-out form for the header (never reading the request's body: a 413 page has one too big)."""
    return {"action_form": ActionForm(formdata=None)}
