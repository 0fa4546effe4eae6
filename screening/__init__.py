"""Screening: pre-session suitability screening for physiotherapy and acupuncture."""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any

from flask import Flask, g, render_template, request
from flask_babel import lazy_gettext as _l  # type: ignore[import-untyped]
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from . import api, audit, budgets, cli, clinic, db, health, i18n, intake, review, security, versions
from .config import ROOT, Defaults, finalize
from .extensions import csrf, init_login_and_limits
from .markup import markdown_lite
from .outbox.channels import check_webhooks
from .questionnaire import Definition, bodymap
from .visits import logfilter


def create_app(
    config: dict[str, Any] | None = None,
    instance_path: str | None = None,
    definition: Definition | None = None,
) -> Flask:
    """Build the app: configuration, database, questionnaire, pages, commands.

    `definition`, when given, is the configured questionnaire already loaded and checked
    (its cases run): tests build hundreds of apps and check each file once. The clinic's
    other questionnaires (the `questionnaires` folder) are loaded and checked beside it.
    """
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        instance_path=instance_path,
        instance_relative_config=True,
    )
    configure(app, config)
    db.init_app(app)
    # Served, run or tested, the app checks its questionnaire now and refuses to start on a
    # mistake. When `flask` builds it to find one of the app's commands, the command found
    # loads it instead (cli.Commands), so that check-questions can report on a broken file.
    if definition is not None or not cli.finding_a_command():
        versions.load_current(app, definition)
    init_login_and_limits(app)
    security.init_app(app)
    csrf.init_app(app)
    cli.init_app(app)  # before the blueprints, which add commands of their own
    i18n.init_app(app)  # languages: Flask-Babel, the catalogs, page_lang() and page_dir()
    register_blueprints(app)
    budgets.init_app(app)
    review.retention.schedule_draft_purge(app)
    register_error_pages(app)
    register_template_helpers(app)
    return app


def configure(app: Flask, config: dict[str, Any] | None) -> None:
    """Defaults, then instance/config.py, then SCREENING_* variables, then `config`; then what follows."""
    app.config.from_object(Defaults)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("SCREENING")
    if config:
        app.config.update(config)
    # The instance folder holds the secret key and (by default) the database: owner only.
    instance = Path(app.instance_path)
    instance.mkdir(mode=0o700, parents=True, exist_ok=True)
    if instance.stat().st_mode & 0o077 and instance.stat().st_uid == os.getuid():
        instance.chmod(0o700)
    finalize(app)
    check_webhooks(app.config)


def too_many_text(_error: Any) -> str:
    """The true wait for a rate limit: until its window ends, not a fixed 15 minutes."""
    from .extensions import limiter
    from .review.throttle import wait_text

    current = limiter.current_limit
    if current is not None and current.breached:
        return f"Please wait {wait_text(max(1, math.ceil(current.reset_at - time.time())))}, then try again."
    if g.get(budgets.WAIT):
        return f"Please wait {wait_text(g.get(budgets.WAIT))}, then try again."
    return "Please wait a minute, then try again."


def register_template_helpers(app: Flask) -> None:
    """Filters and globals the templates use."""
    app.jinja_env.filters["markdown"] = markdown_lite
    app.jinja_env.filters["bodymap_label"] = lambda code: bodymap.LABELS.get(code, code)
    app.jinja_env.globals["bodymap_regions"] = lambda: bodymap.REGIONS
    app.jinja_env.globals["bodymap_back_of_lower_legs"] = lambda: bodymap.BACK_OF_LOWER_LEGS
    # Every date and time a person reads is the clinic's wall-clock time.
    app.jinja_env.filters["local"] = clinic.local
    # Every page (error pages too) can show the clinic's name and help line.
    app.context_processor(lambda: {"defn": versions.current_definition()})


def register_blueprints(app: Flask) -> None:
    """The patient's pages, the information pages and the clinicians' pages."""
    app.register_blueprint(intake.bp)
    app.register_blueprint(intake.info_bp)
    app.register_blueprint(intake.link.bp)
    app.register_blueprint(api.bp)
    logfilter.install()  # no personal-link token in the development server's log
    app.register_blueprint(review.bp)
    app.register_blueprint(review.setup_bp)
    app.register_blueprint(health.bp)


def register_error_pages(app: Flask) -> None:
    """Errors in the app's own look, with no stack trace or internals."""
    messages = {
        400: (_l("Something went wrong with that request"), _l("Please go back and try again.")),
        403: (_l("You cannot see this page"), _l("You do not have permission to see this page.")),
        404: (_l("Page not found"), _l("Check the web address, or start from the first page.")),
        405: (_l("That did not work"), _l("Please go back and try again.")),
        413: (_l("That was too much to send"), _l("Please shorten your answers and try again.")),
        429: (_l("Too many attempts"), _l("Please wait a minute, then try again.")),
        500: (_l("Sorry, something went wrong"), _l("Your saved answers are safe. Please try again in a minute.")),
    }

    @app.errorhandler(CSRFError)
    def csrf_failed(_error: CSRFError) -> Any:
        audit.record_refusal("csrf_failed")
        if request.blueprint == "intake":
            try:
                return intake.csrf_failed()
            except HTTPException as error:  # raised inside a handler it would be a 500
                return app.handle_http_exception(error)
        text = _l("For your security, the page had timed out. Go back, reload the page and try again.")
        return render_template("error.html", title=_l("That did not work"), text=text, code=400), 400

    for code, (title, text) in messages.items():

        def handler(_error, code=code, title=title, text=text):
            if code == 403:
                audit.record_refusal("forbidden")
            if code == 429:
                text = too_many_text(_error)
            return render_template("error.html", title=title, text=text, code=code), code

        app.register_error_handler(code, handler)
