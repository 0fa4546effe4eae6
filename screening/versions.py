"""Questionnaire versions: a submission is always shown with the questions it was asked."""

from __future__ import annotations

from flask import current_app

from . import db
from .models import QuestionnaireVersion
from .questionnaire import Definition, QuestionnaireError, from_data


def current_definition() -> Definition:
    """The questionnaire patients answer now."""
    return current_app.extensions["screening.questionnaire"]


def definition_for(version: str) -> Definition | None:
    """The questionnaire as this version asked it (rebuilt once per version), or None if unreadable."""
    current = current_definition()
    if current is not None and current.version == version:
        return current
    cache: dict[str, Definition | None] = current_app.extensions.setdefault("screening.versions", {})
    if version not in cache:
        stored = db.session().get(QuestionnaireVersion, version)
        try:
            cache[version] = from_data(stored.definition, source=f"stored questionnaire {version[:8]}")
        except (QuestionnaireError, AttributeError):
            # The flags are stored whole, so pages can still show them: never fail the page.
            current_app.logger.exception("questionnaire version %s cannot be rebuilt", version)
            cache[version] = None
    return cache[version]
