"""The clinicians' pages: sign-in, the triage queue, records, accounts and the audit log.

Every page under /review needs a signed-in clinician, except the sign-in page itself:
the check runs before every request of this blueprint, so a new page cannot forget it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from ..extensions import login_manager
from . import accounts

bp = Blueprint("review", __name__, url_prefix="/review", cli_group=None)

PUBLIC_ENDPOINTS = {"review.login"}


class ActionForm(FlaskForm):
    """A button that only needs a CSRF token (sign out, and the like)."""


@bp.before_request
def require_sign_in() -> Any:
    """Refuse anyone not signed in; sign out idle or too-old sessions."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return accounts.check_session_age()


@bp.after_request
def no_store(response: Response) -> Response:
    """Health data is never kept in a browser or proxy cache."""
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.context_processor
def navigation() -> dict[str, Any]:
    """The sign-out form for the header."""
    return {"action_form": ActionForm()}
