"""The Flask extensions, created unbound here and bound to an app in create_app.

Both sides of the app use them (the patient's pages are rate-limited too), so they
live in neither: the patient's package imports the limiter from here, not from the
clinicians' accounts module.
"""

from __future__ import annotations

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from . import ratelimit  # it also registers the sql+ storage

# Every POST needs a valid CSRF token, checked before any view runs, so a new form
# cannot forget it; see csrf_failed in create_app for what a patient sees when one expired.
csrf = CSRFProtect()
login_manager = LoginManager()
# No X-RateLimit-* headers: they would tell someone guessing passwords how many tries are
# left, and reading them back costs two queries on every limited request.
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=False)


def init_login_and_limits(app: Flask) -> None:
    """Flask-Login and the rate limits (counters in the app's own database by default)."""
    login_manager.init_app(app)
    login_manager.login_view = "review.login"
    login_manager.login_message = "Please sign in to see this page."
    login_manager.session_protection = None  # sessions end by version and timeouts instead
    # config.finalize points the counters at the app's own database unless told otherwise.
    own_database = app.config["RATELIMIT_STORAGE_URI"] == "sql+" + app.config["DATABASE_URL"]
    limiter.init_app(app)
    if own_database:
        # The counters are written in each request's own transaction, not one of their own.
        ratelimit.write_with_requests(app)
