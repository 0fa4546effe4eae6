"""The urgent path: the stop page with what to do now, and sending the answers so far
early, after asking for the patient's name and phone number when they are missing."""

from __future__ import annotations

from typing import Any

from flask import current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext  # type: ignore[import-untyped]
from werkzeug.wrappers import Response

from .. import rules
from ..forms import FIELD_TYPES, SectionForm, posted_answer, required_message
from ..questionnaire import AnswerError, Definition, Question
from . import drafts, pages
from .blueprint import bp
from .context import SubmitForm, definition, send, today, unsent_or_redirect


def stop_first(defn: Definition, result: rules.Assessment) -> bool:
    """Whether the answers call for urgent advice this patient has not yet been shown on its own page."""
    key = pages.urgent_key(defn, result)
    return key is not None and session.get(drafts.URGENT_SEEN) != key


def contact_ids(defn: Definition) -> list[str]:
    """The questions the clinic needs to call the patient back: their name and phone number."""
    name = current_app.config["PATIENT_NAME_QUESTION"]
    phone = next((q.id for q in defn.questions.values() if q.type == "phone"), None)
    return [qid for qid in (name, phone) if qid and qid in defn.questions]


def contact_missing(defn: Definition, answers: dict) -> list[str]:
    """The name and phone questions not answered yet."""
    return [qid for qid in contact_ids(defn) if qid not in answers]


def _safe_next(target: str | None, fallback: str) -> str:
    """A page of this form to carry on with (never another site)."""
    if target and target.startswith("/intake/") and "//" not in target and "\\" not in target:
        return target
    return fallback


@bp.get("/intake/urgent")
def urgent() -> Any:
    """The stop page: what to do now, tap-to-call numbers, send to the clinic now, or carry on."""
    defn = definition()
    draft = unsent_or_redirect()
    if isinstance(draft, Response):
        return draft
    answers = drafts.usable(defn, draft.answers, today())
    result = rules.assess(defn, answers, today())
    key = pages.urgent_key(defn, result, given=bool(answers))
    if key is None:
        return redirect(pages.resume_url(defn, result))
    session[drafts.URGENT_SEEN] = key
    advice = defn.outcomes.urgent.advice[key]
    return render_template(
        "intake/urgent.html",
        defn=defn,
        heading=pages.urgent_heading(advice),
        advice=advice,
        numbers=pages.CALL_NUMBERS.get(key, []),
        ask_details=bool(contact_missing(defn, answers)),
        following=_safe_next(request.args.get("next"), pages.resume_url(defn, result)),
        form=SubmitForm(),
    )


_CONTACT_FORMS: dict[tuple[str, tuple[str, ...]], type[SectionForm]] = {}


def _contact_form(defn: Definition, questions: list[Question]) -> type[SectionForm]:
    """A form of just the name and phone questions."""
    key = (defn.version, tuple(q.id for q in questions))
    if key not in _CONTACT_FORMS:
        fields = {q.id: FIELD_TYPES[q.type].make(q) for q in questions}
        _CONTACT_FORMS[key] = type("UrgentDetailsForm", (SectionForm,), fields)
    return _CONTACT_FORMS[key]


@bp.route("/intake/urgent/details", methods=["GET", "POST"])
def urgent_details() -> Any:
    """Before an early send: the patient's name and phone number (those two only), so that
    the clinic never gets an urgent record it cannot call back."""
    defn = definition()
    draft = unsent_or_redirect()
    if isinstance(draft, Response):
        return draft
    answers = drafts.usable(defn, draft.answers, today())
    if pages.urgent_key(defn, rules.assess(defn, answers, today()), given=bool(answers)) is None:
        return redirect(url_for("intake.check"))
    questions = [defn.questions[qid] for qid in contact_ids(defn)]
    form = _contact_form(defn, questions)(data={q.id: answers[q.id] for q in questions if q.id in answers})
    errors: dict[str, str] = {}
    if request.method == "POST":
        posted: dict[str, Any] = {}
        for q in questions:
            try:
                value = q.coerce(posted_answer(q, form, today()), today())
            except AnswerError as exc:
                errors[q.id] = f"{exc}: {q.label}" if q.label not in str(exc) else str(exc)
                continue
            if value is None:
                errors[q.id] = required_message(q)
            else:
                posted[q.id] = value
        if not errors:
            try:
                drafts.save_answers(defn, list(posted), posted, today())
            except drafts.AlreadySubmitted:
                return redirect(url_for("intake.done"))
            return send()
        for qid, message in errors.items():
            form[qid].errors = [message]
    page = render_template("intake/urgent_details.html", defn=defn, questions=questions, form=form, errors=errors)
    return (page, 400) if errors else page


def details_token_expired() -> tuple[str, int]:
    """The name and phone page sent with an expired security token: shown again as typed, nothing sent."""
    defn = definition()
    questions = [defn.questions[qid] for qid in contact_ids(defn)]
    form = _contact_form(defn, questions)()  # the name and phone as typed, shown again
    message = gettext(
        "This page was open for a long time, so for your safety your answers were not sent yet. "
        "Please check your name and phone number and press Send again."
    )
    page = render_template(
        "intake/urgent_details.html", defn=defn, questions=questions, form=form, errors={}, notice=message
    )
    return page, 400
