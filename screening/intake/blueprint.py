"""The patient's blueprint and what runs around each of its pages: the rate limit, the
closed-intake check, the draft's language, no caching, and the shared-device check."""

from __future__ import annotations

from flask import Blueprint, current_app, g, redirect, request, session, url_for
from werkzeug.wrappers import Response

from ..extensions import limiter
from . import drafts, link
from .context import clinic_details

bp = Blueprint("intake", __name__)
# The public form is open to anyone: limit how fast one address can post to it. A
# waiting room may share one address, so the default is generous.
limiter.limit(lambda: current_app.config["INTAKE_LIMIT"], methods=["POST"])(bp)
# SCREENING_OPEN_INTAKE=false: the patient's pages open only through a personal link.
bp.before_request(link.closed_intake)
bp.context_processor(clinic_details)


@bp.before_request
def sent_form_forgotten() -> None:
    """The start page of a browser whose answers were sent begins a new form, so the next
    patient on a shared tablet never sees the last one's outcome, nor reads in their
    language. Before the page's language is chosen (draft_language, below)."""
    if request.endpoint != "intake.start":
        return
    if drafts.DONE_KEY in session:
        drafts.forget_browser()
    elif drafts.SESSION_KEY in session:
        draft = drafts.current_draft()
        if draft is not None and draft.submission_id is not None:
            drafts.forget_browser()


@bp.before_request
def draft_language() -> None:
    """The language the draft is answered in (the visit's, or the patient's last page)
    is this page's, unless the patient chooses another; and the page is offered only in
    the languages its own questionnaire (a follow-up, an aftercare check) is reviewed in."""
    if drafts.SESSION_KEY in session:
        draft = drafts.current_draft()
        if draft is not None:
            g.page_questionnaire = drafts.questionnaire_of(draft)
            if draft.language:
                g.visit_language = draft.language


@bp.after_request
def no_store(response: Response) -> Response:
    """Patients' answers and outcomes are never kept in a browser or proxy cache."""
    response.headers["Cache-Control"] = "no-store"
    return response


# Pages that show a saved form's answers: after the form was left unused for a while, the
# patient (not whoever picks up the device next) chooses to carry on, on the start page.
SHOWS_ANSWERS = {"intake.section", "intake.check", "intake.urgent", "intake.urgent_details"}


@bp.before_request
def shared_device() -> Response | None:
    """A form left unused is not reopened by a link or the back button: the start page asks."""
    if drafts.SESSION_KEY not in session or request.endpoint not in SHOWS_ANSWERS | {"intake.submit"}:
        return None
    if request.method == "GET" and drafts.idle():
        draft = drafts.current_draft()
        if draft is not None and draft.submission_id is None and draft.answers:
            return redirect(url_for("intake.start"))
    drafts.mark_active()
    return None
