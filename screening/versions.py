"""Questionnaire versions: the one patients answer now, checked before the app serves, and
the ones stored submissions answered (a submission is always shown with its own questions)."""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app

from . import db, rules
from .models import QuestionnaireVersion
from .questionnaire import Definition, QuestionnaireError, from_data, load

CURRENT = "screening.questionnaire"  # the app.extensions key


def load_current(app: Flask) -> None:
    """Validate the configured questionnaire and run its cases, once per app; refuse to start,
    listing every problem, if it is wrong, a case fails, or a serious flag is untested."""
    if CURRENT in app.extensions:
        return
    path = app.config["QUESTIONS_PATH"]
    try:
        definition = load(path)
        problems = rules.case_problems(definition)
        if problems:
            raise QuestionnaireError(str(path), problems)
    except QuestionnaireError as exc:
        if click.get_current_context(silent=True) is not None:  # a command: say it, without a traceback
            raise click.ClickException(f"the app cannot start:\n{exc.report()}") from None
        print(exc.report(), file=sys.stderr)
        raise
    app.extensions[CURRENT] = definition


def current_definition() -> Definition:
    """The questionnaire patients answer now."""
    return current_app.extensions[CURRENT]


def definition_for(version: str) -> Definition | None:
    """The questionnaire as this version asked it (rebuilt once per version), or None if unreadable."""
    current = current_definition()
    if current is not None and current.version == version:
        return current
    cache: dict[str, Definition | None] = current_app.extensions.setdefault("screening.versions", {})
    if version not in cache:
        stored = db.session().get(QuestionnaireVersion, version)
        try:
            if stored is None:
                raise LookupError(f"no stored questionnaire {version}")
            cache[version] = from_data(stored.definition, source=f"stored questionnaire {version[:8]}")
        except (QuestionnaireError, LookupError, AttributeError):
            # The flags are stored whole, so pages can still show them: never fail the page.
            current_app.logger.exception("questionnaire version %s cannot be rebuilt", version)
            cache[version] = None
    return cache[version]
