"""The patient's pages: start, one page per section, check your answers, submit, outcome."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from .. import clock, rules
from ..estimate import estimate
from ..extensions import limiter
from ..forms import form_class, form_data, posted_answer, required_message
from ..questionnaire import AnswerError, Definition, Section
from ..versions import definition_for
from . import drafts, link, pages

bp = Blueprint("intake", __name__)
info_bp = Blueprint("info", __name__, url_prefix="/info")
# The public form is open to anyone: limit how fast one address can post to it. A
# waiting room may share one address, so the default is generous.
limiter.limit(lambda: current_app.config["INTAKE_LIMIT"], methods=["POST"])(bp)
# SCREENING_OPEN_INTAKE=false: the patient's pages open only through a personal link.
bp.before_request(link.closed_intake)


class SubmitForm(FlaskForm):
    """The check page's Send button: only a CSRF token."""


def definition() -> Definition:
    """The questionnaire this browser answers now: its draft's, else the first-visit screening."""
    return drafts.questionnaire_of(drafts.current_draft())


def today() -> dt.date:
    """The date answers are judged on (ages, dates not in the future)."""
    return clock.today()


@bp.after_request
def no_store(response: Response) -> Response:
    """Patients' answers and outcomes are never kept in a browser or proxy cache."""
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/")
def start() -> str:
    """What this is, how long it takes, the privacy notice, and Start."""
    defn = definition()
    draft = drafts.current_draft()
    if drafts.DONE_KEY in session or (draft is not None and draft.submission_id is not None):
        # Answers already sent from this browser: the start page begins a new form, so
        # the next patient on a shared tablet never sees the last one's outcome.
        drafts.forget_browser()
        draft = None
    resumable = draft is not None and bool(draft.answers)
    resume = None
    if resumable and draft is not None:
        resume = pages.resume_url(defn, rules.assess(defn, drafts.usable(defn, draft.answers, today()), today()))
    return render_template(
        "intake/start.html",
        defn=defn,
        minutes=estimate(defn).minutes,
        resumable=resumable,
        resume=resume,
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


@bp.post("/intake/restart")
def restart() -> Response:
    """Throw away the unfinished answers and start again."""
    drafts.discard_draft()
    flash("Your earlier answers have been deleted. You can start again.")
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
    fixed = link.fixed_answers(draft)
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
        else:
            # The page is drawn from the answers as saved, not from this page's unsaved ones.
            shown = rules.assess(defn, saved, today())
        return _render_section(defn, sec, form, shown, change, errors=errors, hidden=fixed), 400
    try:
        _, result = drafts.save_answers(defn, page_ids, answers, today(), result, expected)
    except drafts.AlreadySubmitted:
        return redirect(url_for("intake.done"))
    return redirect(pages.after_save(defn, sec, result, change))


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
        message = (
            "This page was open for a long time, so for your safety we could not save it yet. "
            "Your answers are still here: please check them and press Continue."
        )
        change = request.args.get("change") == "1"
        return _render_section(defn, sec, form, result, change, notice=message, hidden=link.fixed_answers(draft)), 400
    if request.endpoint == "intake.submit":
        flash(
            "This page was open for a long time, so for your safety your answers were not sent yet. "
            "They are all still here: please press Send again."
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
    """Check your answers, with a Change link for each."""
    defn = definition()
    draft = drafts.current_draft()
    if draft is None or (draft.submission_id is None and not draft.answers):
        flash("Please answer the questions first.")
        return redirect(url_for("intake.start"))
    if draft.submission_id is not None:
        return redirect(url_for("intake.done"))
    answers = drafts.usable(defn, draft.answers, today())
    result = rules.assess(defn, answers, today())
    return render_template(
        "intake/check.html",
        defn=defn,
        summary=pages.check_summary(defn, result),
        form=SubmitForm(),
        urgent=pages.urgent_advice(defn, result, given=bool(answers)),
        back=pages.back_url(defn, None, result),
    )


@bp.post("/intake/submit")
def submit() -> Response:
    """Record the submission once, then show the outcome."""
    defn = definition()
    result = drafts.submit(defn, today())
    if isinstance(result, drafts.NotReady):
        flash(result.message)
        if result.section_id is None:
            return redirect(url_for("intake.start"))
        return redirect(url_for("intake.section", section_id=result.section_id, change="1"))
    return redirect(url_for("intake.done"), code=303)


@bp.get("/intake/done")
def done() -> Any:
    """The outcome, the reference code, and what to expect and do afterwards."""
    submission = drafts.finished_submission()
    if submission is None:
        # Sent from another device through the same personal link: say so, without answers.
        return redirect(url_for("link.sent" if link.visit_was_sent() else "intake.start"))
    # The outcome as worded by the questionnaire the patient answered (it may have changed since).
    defn = definition_for(submission.version) or definition()
    return render_template(
        "intake/done.html", defn=defn, submission=submission, outcome=pages.outcome_view(defn, submission)
    )


@info_bp.get("/before-your-session")
def before_session() -> str:
    """What happens at the session, how to prepare, and common questions."""
    defn = definition()
    return render_template(
        "info/page.html",
        defn=defn,
        title="Before your session",
        text=defn.information.before_session,
        faq=defn.information.faq,
    )


@info_bp.get("/aftercare")
def aftercare() -> str:
    """What is normal afterwards, and when to get help."""
    defn = definition()
    return render_template(
        "info/page.html", defn=defn, title="After your session", text=defn.information.aftercare, faq=[]
    )
