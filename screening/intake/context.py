"""What every patient page works from: the questionnaire (in the clinic's language and in
the page's), the date answers are judged on, the clinic's details, and sending the draft."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import flash, redirect, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from .. import clinic, clock, i18n
from ..models import Draft
from ..questionnaire import Definition
from . import drafts


class SubmitForm(FlaskForm):
    """The check page's Send button: only a CSRF token."""


def clinic_details() -> dict[str, Any]:
    """The clinic's name, phone and address, for every patient page."""
    return {"clinic_details": clinic.current()}


def english() -> Definition:
    """The questionnaire this browser answers now, in the clinic's language: its draft's,
    else the first-visit screening. Submissions store this one (its version and words)."""
    return drafts.questionnaire_of(drafts.current_draft())


def definition() -> Definition:
    """The questionnaire this browser answers now, in the page's language (the same ids,
    values and rules: answers are the same codes in every language)."""
    return i18n.translated(english())


def today() -> dt.date:
    """The date answers are judged on (ages, dates not in the future)."""
    return clock.today()


def unsent_or_redirect() -> Draft | Response:
    """This browser's draft if it is not sent yet; else where to go instead: the start
    page when there is no draft, the outcome when it was sent."""
    draft = drafts.current_draft()
    if draft is None:
        return redirect(url_for("intake.start"))
    if draft.submission_id is not None:
        return redirect(url_for("intake.done"))
    return draft


def send() -> Response:
    """Send this browser's draft and show the outcome (or say what is still needed).
    The submission keeps the questionnaire in the clinic's language, and the page's language."""
    result = drafts.submit(english(), today())
    if isinstance(result, drafts.NotReady):
        flash(result.message)
        if result.section_id is None:
            return redirect(url_for("intake.start"))
        return redirect(url_for("intake.section", section_id=result.section_id, change="1"))
    return redirect(url_for("intake.done"), code=303)
