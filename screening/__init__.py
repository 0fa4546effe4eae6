"""Screening: pre-session suitability screening for physiotherapy and acupuncture."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect

from . import auth, bodymap, cli, db, health, intake, review, rules, security
from .config import ROOT, Defaults, finalize
from .markup import markdown_lite
from .questionnaire import Definition, QuestionnaireError, load

# Every POST needs a valid CSRF token, checked before any view runs, so a new form
# cannot forget it; see csrf_failed for what the patient sees when a token expired.
csrf = CSRFProtect()

# Commands that must run even when the configured questionnaire is broken.
COMMANDS_WITHOUT_QUESTIONNAIRE = {"check-questions"}


def create_app(config: dict[str, Any] | None = None, instance_path: str | None = None) -> Flask:
    """Build the app: configuration, database, questionnaire, pages, commands."""
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        instance_path=instance_path,
        instance_relative_config=True,
    )
    configure(app, config)
    db.init_app(app)
    load_questionnaire(app)
    auth.init_app(app)
    security.init_app(app)
    csrf.init_app(app)
    register_blueprints(app)
    register_error_pages(app)
    app.jinja_env.filters["markdown"] = markdown_lite
    app.jinja_env.filters["bodymap_label"] = lambda code: bodymap.LABELS.get(code, code)
    app.jinja_env.globals["bodymap_regions"] = lambda: bodymap.REGIONS
    # Every page (error pages too) can show the clinic's name and help line.
    app.context_processor(lambda: {"defn": app.extensions["screening.questionnaire"]})
    cli.init_app(app)
    if _cli_command() in (None, "run"):
        auth.announce_setup(app)
    return app


def configure(app: Flask, config: dict[str, Any] | None) -> None:
    """Defaults, then instance/config.py, then SCREENING_* variables, then `config`; then what follows."""
    app.config.from_object(Defaults)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("SCREENING")
    if config:
        app.config.update(config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    finalize(app)


def load_questionnaire(app: Flask) -> None:
    """Validate questions.yaml and run its cases; refuse to start (listing every problem) if
    it is wrong, a case fails, or an urgent or contraindication flag is untested."""
    path = app.config["QUESTIONS_PATH"]
    try:
        definition: Definition | None = load(path)
        problems = rules.case_problems(definition)
        if problems:
            raise QuestionnaireError(str(path), problems)
    except QuestionnaireError as exc:
        if _cli_command() in COMMANDS_WITHOUT_QUESTIONNAIRE:
            definition = None
        elif click.get_current_context(silent=True) is not None:
            raise click.ClickException(f"the app cannot start:\n{exc.report()}") from None
        else:
            print(exc.report(), file=sys.stderr)
            raise
    app.extensions["screening.questionnaire"] = definition


def _cli_command() -> str | None:
    """The name of the flask subcommand being run, if any (None when served)."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return None
    if ctx.parent is not None:  # inside a subcommand already: name the one just below flask
        while ctx.parent.parent is not None:
            ctx = ctx.parent
        return ctx.info_name
    # Flask builds the app while still looking up the subcommand, when click has already
    # taken the remaining arguments off the context: read them from the command line.
    args = iter(sys.argv[1:])
    for arg in args:
        if arg in ("--app", "-A", "--env-file", "-e"):
            next(args, None)
        elif not arg.startswith("-"):
            return arg
    return None


def register_blueprints(app: Flask) -> None:
    """The patient's pages, the information pages and the clinicians' pages."""
    app.register_blueprint(intake.bp)
    app.register_blueprint(intake.info_bp)
    app.register_blueprint(review.bp)
    app.register_blueprint(review.setup_bp)
    app.register_blueprint(health.bp)


def register_error_pages(app: Flask) -> None:
    """Errors in the app's own look, with no stack trace or internals."""
    messages = {
        400: ("Something went wrong with that request", "Please go back and try again."),
        403: ("You cannot see this page", "You do not have permission to see this page."),
        404: ("Page not found", "Check the web address, or start from the first page."),
        405: ("That did not work", "Please go back and try again."),
        413: ("That was too much to send", "Please shorten your answers and try again."),
        429: ("Too many attempts", "Please wait 15 minutes, then try again."),
        500: ("Sorry, something went wrong", "Your saved answers are safe. Please try again in a minute."),
    }

    @app.errorhandler(CSRFError)
    def csrf_failed(_error: CSRFError) -> Any:
        if request.blueprint == "intake":
            return intake.csrf_failed()
        text = "For your security, the page had timed out. Go back, reload the page and try again."
        return render_template("error.html", title="That did not work", text=text, code=400), 400

    for code, (title, text) in messages.items():

        def handler(_error, code=code, title=title, text=text):
            return render_template("error.html", title=title, text=text, code=code), code

        app.register_error_handler(code, handler)
