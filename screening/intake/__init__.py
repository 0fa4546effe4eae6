"""The patient's pages: start, one page per section, check your answers, submit, outcome.

The blueprint and what runs around each page are in blueprint.py, what every page works
from in context.py, the urgent path in urgent.py and the information pages in info.py."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext  # type: ignore[import-untyped]
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from .. import i18n, rules
from ..estimate import estimate
from ..forms import form_class, form_data, posted_answer, required_message
from ..questionnaire import AnswerError, Definition, Section
from ..versions import definition_for
from . import drafts, link, pages, urgent
from .blueprint import bp
from .context import SubmitForm, definition, english, send, today
from .info import info_bp

__all__ = ["bp", "csrf_failed", "info_bp"]


def _first_name(answers: dict) -> str | None:
    """The first word of the patient's name, if they gave it (to tell whose form this is)."""
    name = str(answers.get(current_app.config["PATIENT_NAME_QUESTION"]) or "").split()
    return name[0][:40] if name else None


@bp.get("/")
def start() -> str:
    """What this is, how long it takes, the privacy notice, and Start."""
    defn = definition()
    draft = drafts.current_draft()  # never a sent one: blueprint.sent_form_forgotten
    resumable = draft is not None and bool(draft.answers)
    return render_template(
        "intake/start.html",
        defn=defn,
        minutes=estimate(defn).minutes,
        resumable=resumable,
        first_name=_first_name(draft.answers) if resumable and draft is not None else None,
        first=defn.sections[0],
        form=SubmitForm(),
    )


@bp.get("/questionnaires/<questionnaire_id>")
def open_questionnaire(questionnaire_id: str) -> Response:
    """Any questionnaire by id, in this browser (for staff and testing; patients of a visit
    get a personal link, and the start page stays the first-visit screening)."""
    draft = drafts.current_draft()
    if draft is None or draft.submission_id is not None or draft.questionnaire_id != questionnaire_id:
        try:
            draft = drafts.start_draft(questionnaire_id)
        except LookupError:
            abort(404)
        drafts.open_draft(draft)
    return redirect(url_for("intake.start"))


@bp.get("/intake/resume")
def resume() -> Response:
    """The patient chose to carry on with the answers saved on this device."""
    defn = definition()
    draft = drafts.current_draft()
    if draft is None or draft.submission_id is not None or not draft.answers:
        return redirect(url_for("intake.start"))
    drafts.mark_active()
    return redirect(pages.resume_url(defn, rules.assess(defn, drafts.usable(defn, draft.answers, today()), today())))


@bp.get("/intake/delete")
def confirm_delete() -> Any:
    """Are you sure? (asked once, then the answers are deleted)."""
    draft = drafts.current_draft()
    if draft is None or draft.submission_id is not None or not draft.answers:
        return redirect(url_for("intake.start"))
    return render_template("intake/delete.html", defn=definition(), form=SubmitForm())


@bp.post("/intake/restart")
def restart() -> Response:
    """Throw away the unfinished answers and start again."""
    drafts.discard_draft()
    flash(gettext("Your earlier answers have been deleted. You can start again."))
    return redirect(url_for("intake.start"))


@bp.route("/intake/<section_id>", methods=["GET", "POST"])
def section(section_id: str) -> Any:
    """One page of questions; answers are saved to the draft when the page is valid."""
    defn = definition()
    sec = defn.section(section_id) or abort(404)
    draft = drafts.current_draft()
    if draft is not None and draft.submission_id is not None:
        return redirect(url_for("intake.done"))
    saved = drafts.usable(defn, draft.answers, today()) if draft else {}
    change = request.args.get("change") == "1"
    # What the clinic told us (a visit's identity) is neither shown nor asked again.
    fixed = link.fixed_answers(draft, saved)
    posted = {"formdata": link.posted_with(fixed, saved)} if fixed and request.method == "POST" else {}
    form = form_class(defn, sec)(data=form_data(sec, saved), **posted)
    if request.method == "GET":
        return _render_section(defn, sec, form, rules.assess(defn, saved, today()), change, hidden=fixed)
    page_ids = [q.id for q in sec.questions]
    answers, errors, result = check_page(defn, sec, form, saved)
    expected = {k: v for k, v in saved.items() if k not in page_ids} | answers
    if errors:
        for qid, message in errors.items():
            form[qid].errors = [message]
        others = {k: v for k, v in saved.items() if k not in page_ids}
        if pages.urgent_advice(defn, result, unsure=frozenset(errors), given=bool(others or answers)):
            # An urgent answer is kept even though the page is not finished, so that the
            # patient can send it to the clinic at once from the warning.
            _, shown = drafts.save_answers(defn, page_ids, answers, today(), result, expected)
            if urgent.stop_first(defn, shown):
                here = url_for("intake.section", section_id=sec.id, change="1" if change else None)
                return redirect(url_for("intake.urgent", next=here))
        else:
            # The page is drawn from the answers as saved, not from this page's unsaved ones.
            shown = rules.assess(defn, saved, today())
        return _render_section(defn, sec, form, shown, change, errors=errors, hidden=fixed), 400
    try:
        _, result = drafts.save_answers(defn, page_ids, answers, today(), result, expected)
    except drafts.AlreadySubmitted:
        return redirect(url_for("intake.done"))
    following = pages.after_save(defn, sec, result, change)
    if urgent.stop_first(defn, result):
        # The GOV.UK "stop" pattern: what to do now, on its own page, before any more questions.
        return redirect(url_for("intake.urgent", next=following))
    return redirect(following)


def csrf_failed() -> Any:
    """A page sent with an expired or missing security token: nothing is saved or sent,
    and nothing the patient typed is lost (the app checks tokens before any view runs)."""
    if request.endpoint == "intake.section":
        defn = definition()
        sec = defn.section((request.view_args or {}).get("section_id", "")) or abort(404)
        draft = drafts.current_draft()
        saved = drafts.usable(defn, draft.answers, today()) if draft else {}
        form = form_class(defn, sec)()  # the posted answers, shown again
        result = rules.assess(defn, saved, today())
        message = gettext(
            "This page was open for a long time, so for your safety we could not save it yet. "
            "Your answers are still here: please check them and press Continue."
        )
        change = request.args.get("change") == "1"
        return _render_section(
            defn, sec, form, result, change, notice=message, hidden=link.fixed_answers(draft, saved)
        ), 400
    if request.endpoint == "intake.urgent_details":
        return urgent.details_token_expired()
    if request.endpoint == "intake.submit":
        flash(
            gettext(
                "This page was open for a long time, so for your safety your answers were not sent yet. "
                "They are all still here: please press Send again."
            )
        )
        return redirect(url_for("intake.check"))
    return redirect(url_for("intake.start"))


def check_page(defn: Definition, sec: Section, form: FlaskForm, saved: dict) -> tuple[dict, dict, rules.Assessment]:
    """The page's answers (shown questions only), an error message per question, and the
    assessment of the saved answers with this page's in place of the old ones."""
    page_ids = [q.id for q in sec.questions]
    posted: dict[str, Any] = {}
    refused: dict[str, str] = {}
    for q in sec.questions:
        try:
            value = q.coerce(posted_answer(q, form, today()), today())
        except AnswerError as exc:
            refused[q.id] = f"{exc}: {q.label}" if q.label not in str(exc) else str(exc)
            continue
        if value is not None:
            posted[q.id] = value
    # A question hidden by this page's own answers is neither checked nor kept.
    result = rules.assess(defn, {k: v for k, v in saved.items() if k not in page_ids} | posted, today())
    answers = {qid: result.answers[qid] for qid in page_ids if qid in result.answers}
    errors: dict[str, str] = {}
    for q in sec.questions:
        if q.id not in result.shown_ids:
            continue
        if q.id in refused:
            errors[q.id] = refused[q.id]
        elif q.id not in answers and q.required:
            errors[q.id] = required_message(q)
    return answers, errors, result


def _render_section(
    defn: Definition,
    sec: Section,
    form: FlaskForm,
    result: rules.Assessment,
    change: bool,
    errors=None,
    notice=None,
    hidden: frozenset[str] = frozenset(),
) -> str:
    """Render a section page with its progress, back link and any urgent warning
    (without the `hidden` questions, whose answers the clinic gave)."""
    view = pages.section_view(defn, sec, result)
    view.questions = [(q, live) for q, live in view.questions if q.id not in hidden]
    return render_template(
        "intake/section.html",
        defn=defn,
        section=sec,
        form=form,
        view=view,
        errors=errors or {},
        notice=notice,
        change=change,
        back=url_for("intake.check") if change else pages.back_url(defn, sec, result),
        urgent=pages.urgent_advice(defn, result),
    )


@bp.get("/intake/check")
def check() -> Any:
    """Check your answers, with a Change link for each the patient gave."""
    defn = definition()
    draft = drafts.current_draft()
    if draft is None or (draft.submission_id is None and not draft.answers):
        flash(gettext("Please answer the questions first."))
        return redirect(url_for("intake.start"))
    if draft.submission_id is not None:
        return redirect(url_for("intake.done"))
    answers = drafts.usable(defn, draft.answers, today())
    result = rules.assess(defn, answers, today())
    return render_template(
        "intake/check.html",
        defn=defn,
        summary=pages.check_summary(defn, result, link.fixed_answers(draft, answers)),
        form=SubmitForm(),
        urgent=pages.urgent_advice(defn, result, given=bool(answers)),
        back=pages.back_url(defn, None, result),
    )


@bp.post("/intake/submit")
def submit() -> Response:
    """Record the submission once, then show the outcome. An urgent form sent early without
    the patient's name and phone number asks for them first."""
    defn = definition()
    draft = drafts.current_draft()
    if draft is not None and draft.submission_id is None:
        answers = drafts.usable(defn, draft.answers, today())
        if urgent.contact_missing(defn, answers):
            assessed = rules.assess(defn, answers, today())
            if assessed.missing and pages.urgent_key(defn, assessed, bool(answers)):
                return redirect(url_for("intake.urgent_details"), code=303)
    return send()


@bp.get("/intake/done")
def done() -> Any:
    """The outcome, the reference code, and what to expect and do afterwards."""
    was_sent = drafts.DONE_KEY in session
    submission = drafts.finished_submission()
    if submission is None:
        if link.visit_was_sent():  # sent from another device through the same personal link
            return redirect(url_for("link.sent"))
        if was_sent:
            flash(
                gettext(
                    "Your answers were sent to the clinic. For your privacy, the page about them is "
                    "shown only for a short time after sending, and only on the device that sent them."
                )
            )
        return redirect(url_for("intake.start"))
    # The outcome as worded by the questionnaire the patient answered (it may have changed since).
    defn = i18n.translated(definition_for(submission.version) or english())
    return render_template(
        "intake/done.html", defn=defn, submission=submission, outcome=pages.outcome_view(defn, submission)
    )


@bp.get("/intake/done/print")
def print_view() -> Any:
    """The patient's page to keep (print, or "Save as PDF"): their reference, what to expect,
    the aftercare advice and the common questions. No answers."""
    submission = drafts.finished_submission()
    if submission is None:
        return redirect(url_for("intake.start"))
    defn = i18n.translated(definition_for(submission.version) or english())
    return render_template(
        "intake/print.html", defn=defn, submission=submission, outcome=pages.outcome_view(defn, submission)
    )
