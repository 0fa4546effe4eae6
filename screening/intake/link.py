"""A visit's personal link: /i?t=<token> -> date of birth -> the visit's answers.

The token is taken from the query string once (the access log leaves query strings
out), exchanged for this browser's session, and the browser is sent on to a clean
address. The patient then confirms their date of birth (three boxes); the draft
belongs to the visit, not to the browser, so the same link on another device, after
the same check, carries on where the patient left off. Link pages send no Referer.
"""

from __future__ import annotations

import datetime as dt
import hmac
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, current_app, g, redirect, render_template, request, session, url_for
from flask_babel import gettext, lazy_gettext  # type: ignore[import-untyped]
from flask_wtf import FlaskForm
from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from .. import audit, clinic, clock, db, memorable_date, outbox, rules
from ..extensions import limiter
from ..forms import date_message
from ..models import Draft, Submission, Visit, VisitLink
from ..visits import links, records
from ..visits.app import signing_keys
from . import drafts, pages

bp = Blueprint("link", __name__)
limiter.limit(lambda: current_app.config["INTAKE_LIMIT"], methods=["POST"])(bp)

SESSION_KEY = "visit_link"  # {"id": link id, "h": the link's nonce hash} once the token is exchanged
IDENTIFIED_KEY = "visit_link_ok"  # the link id whose date of birth this browser confirmed

# Answers the visit already knows: prefilled in the visit's draft and not asked again.
IDENTITY = records.IDENTITY_ANSWERS

WRONG = lazy_gettext("The date of birth does not match. Check it and try again.")


class DateForm(FlaskForm):
    """The date-of-birth check: the three boxes are read from the request by `parse_date`."""


@bp.after_request
def private(response: Response) -> Response:
    """A link page is never cached and never tells another site where it came from."""
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


def parse_date(boxes: dict[str, str], today: dt.date) -> dt.date | memorable_date.DateProblem:
    """The date in the three boxes, or what is wrong with it (and which boxes)."""
    try:
        date = memorable_date.parse(boxes, label=gettext("Your date of birth"), latest=today, past_only=True)
    except memorable_date.DateProblem as problem:
        return problem
    return date if date is not None else memorable_date.problem("enter_birth_date")


def _not_found() -> tuple[str, int]:
    """The one answer for a wrong, changed, reissued or revoked token (the same body)."""
    return render_template("intake/link_missing.html"), 404


def _session_link(s: Session, lock: bool = False) -> VisitLink | None:
    """The link this browser's session holds, if it still works (not reissued or revoked)."""
    data = session.get(SESSION_KEY)
    if not isinstance(data, dict) or not isinstance(data.get("id"), int):
        return None
    link = s.get(VisitLink, data["id"], with_for_update=lock)
    if link is None or link.revoked_at is not None or not isinstance(data.get("h"), str):
        return None
    if not hmac.compare_digest(link.nonce_hash, data["h"]):
        return None
    return link


AFTERCARE = "aftercare"  # the aftercare check's questionnaire (CLINICAL.md): an "aftercare" link's


def _visit_submission(s: Session, link: VisitLink) -> Submission | None:
    """The answers this link asks for, if they were sent: the visit's screening for a
    screening link; for an aftercare link, the aftercare check sent since it was issued
    (a second check two days after the visit has a link of its own)."""
    query = select(Submission).where(Submission.visit_id == link.visit_id)
    if link.purpose == AFTERCARE:
        query = query.where(Submission.questionnaire_id == AFTERCARE, Submission.created_at >= link.created_at)
    else:
        query = query.where(Submission.questionnaire_id != AFTERCARE)
    return s.scalars(query.order_by(Submission.id).limit(1)).first()


@bp.get("/i")
def open_link() -> Any:
    """Exchange the token for this browser's session, then go on to a clean address."""
    token = request.args.get("t", "")
    if not token:
        return redirect(url_for("link.identify")) if session.get(SESSION_KEY) else _not_found()
    found = links.read_token(signing_keys(), token)
    if found is None:
        return _not_found()
    now = clock.now()
    with db.get_db().transaction() as s:
        link = links.find(s, *found, lock=True)
        if link is None:
            return _not_found()
        if link.expires_at <= now:
            return render_template("intake/link_expired.html"), 410
        visit = s.get(Visit, link.visit_id)
        if visit is not None and visit.status == "cancelled":
            return render_template("intake/link_expired.html", cancelled=True), 410
        if link.opened_at is None:
            link.opened_at = now
        data = {"id": link.id, "h": link.nonce_hash}
    if session.get(SESSION_KEY) != data:
        # A different link (another patient on a shared device): nothing of the last one stays.
        drafts.forget_browser()
        session.pop(IDENTIFIED_KEY, None)
    session[SESSION_KEY] = data
    session.permanent = True
    return redirect(url_for("link.identify"), code=303)


@bp.route("/i/check", methods=["GET", "POST"])
def identify() -> Any:
    """Please confirm your date of birth; then the visit's answers, wherever they were started."""
    now = clock.now()
    link = _session_link(db.session())
    if link is None:
        return _not_found()
    visit = db.session().get(Visit, link.visit_id)
    g.visit_language = visit.patient.language if visit is not None else None  # the visit's language
    if link.expires_at <= now:
        return render_template("intake/link_expired.html"), 410
    if _visit_submission(db.session(), link) is not None and session.get(IDENTIFIED_KEY) == link.id:
        return redirect(url_for("link.sent"))
    form = DateForm()
    values = {part: request.form.get(f"dob-{part}", "")[:20] for part in memorable_date.PARTS}
    if request.method == "GET":
        draft = drafts.current_draft()
        if session.get(IDENTIFIED_KEY) == link.id and draft is not None and draft.visit_id == link.visit_id:
            return _resume(draft)  # this browser already confirmed: straight back to the answers
        if links.is_locked(link, now):
            return _locked(link, now)
        return _date_page(form, values)
    if not form.validate_on_submit():
        return _date_page(form, values), 400
    given = parse_date(values, clinic.today())
    if isinstance(given, memorable_date.DateProblem):
        return _date_page(form, values, date_message(given), given.parts), 400
    return _check(given, now, form, values)


def _date_page(form: DateForm, values: dict[str, str], error: str | None = None, bad_parts: tuple = ()) -> str:
    """The date-of-birth page, with an error if any (marking the boxes it is about)."""
    return render_template("intake/link_check.html", form=form, values=values, error=error, bad_parts=bad_parts)


def _check(given: dt.date, now: dt.datetime, form: DateForm, values: dict[str, str]) -> Any:
    """Compare the typed date with the patient's, count a failure or open the visit's answers."""
    draft: Draft | None = None
    with db.get_db().transaction() as s:
        link = _session_link(s, lock=True)
        if link is None:
            return _not_found()
        visit = s.get(Visit, link.visit_id)
        assert visit is not None  # a foreign key
        attempt = links.check_birth_date(link, visit.patient.birth_date, given, now)
        detail = {"link": link.id, "visit": visit.id, "failures": link.failures}
        if attempt.ok:
            audit.record(s, "link_identified", detail=detail)
            draft = _visit_draft(s, visit, link)
        elif attempt.locked and not attempt.just_locked:
            audit.record(s, "link_refused_locked", detail=detail)
        else:
            audit.record(s, "link_identity_failed", detail=detail)
            if attempt.just_locked:
                audit.record(s, "link_locked", detail=detail | {"minutes": links.LOCK_MINUTES})
            if attempt.revoked:
                audit.record(s, "link_revoked", detail=detail | {"how": "too many wrong dates of birth"})
                outbox.link_revoked(s, link.id, visit.id, link.purpose)
    if attempt.revoked:
        return _not_found()
    if attempt.locked:
        return _locked(link, now)
    if not attempt.ok:
        return _date_page(form, values, str(WRONG)), 400
    session[IDENTIFIED_KEY] = link.id
    if draft is None:
        return redirect(url_for("link.sent"))
    drafts.open_draft(draft)
    return _resume(draft)


def _resume(draft: Draft) -> Response:
    """On to the first page still to answer (the check page if none)."""
    defn = drafts.questionnaire_of(draft)
    today = clock.today()
    result = rules.assess(defn, drafts.usable(defn, draft.answers, today), today)
    return redirect(pages.resume_url(defn, result), code=303)


def _locked(link: VisitLink, now: dt.datetime) -> tuple[str, int]:
    """The lock page: how long to wait, and the clinic to call instead."""
    assert link.locked_until is not None
    minutes = max(1, int((link.locked_until - now).total_seconds() + 59) // 60)
    return render_template("intake/link_locked.html", minutes=minutes), 429


def identity_answers(visit: Visit) -> dict[str, str]:
    """What the clinic already knows about the patient, as answers to the questionnaire."""
    patient = visit.patient
    answers = {
        "full_name": f"{patient.given_name} {patient.family_name}",
        "date_of_birth": patient.birth_date.isoformat(),
        "phone": patient.phone,
        "email": patient.email,
    }
    return {k: v for k, v in answers.items() if v}


def _visit_draft(s: Session, visit: Visit, link: VisitLink) -> Draft | None:
    """The visit's draft, started with the patient's identity if there is none; None if the
    visit's answers were already sent. The visit row is locked first, so two devices
    confirming at the same moment share one draft."""
    s.get(Visit, visit.id, with_for_update=True)
    if _visit_submission(s, link) is not None:
        return None
    query = select(Draft).where(Draft.visit_id == visit.id, Draft.expires_at > clock.now()).order_by(Draft.created_at)
    if link.purpose == AFTERCARE:
        query = query.where(Draft.questionnaire_id == AFTERCARE, Draft.created_at >= link.created_at)
    else:
        query = query.where(or_(Draft.questionnaire_id.is_(None), Draft.questionnaire_id != AFTERCARE))
    draft = s.scalars(query.limit(1)).first()
    if draft is not None:
        if draft.submission_id is not None:
            return None
        draft.expires_at = max(draft.expires_at, link.expires_at)
        return draft
    if link.purpose == AFTERCARE:
        draft = drafts.new_draft(AFTERCARE, identity_answers(visit), None, visit.id, _last_check(s, visit, link))
        draft.expires_at = link.expires_at
        # The language the patient answered the screening in (their check's message is in it too).
        draft.language = _screening_language(s, visit) or visit.patient.language
        s.add(draft)
        s.flush()
        return draft
    try:
        draft = drafts.new_draft(
            visit.questionnaire_id, identity_answers(visit), _first_visit_answers(s, visit), visit.id
        )
    except LookupError:
        # A questionnaire this clinic does not have (yet): the first-visit screening.
        draft = drafts.new_draft(
            drafts.questionnaire_of(None).questionnaire.id, identity_answers(visit), None, visit.id
        )
    draft.expires_at = link.expires_at
    draft.language = visit.patient.language  # the visit's language, until the patient chooses another
    s.add(draft)
    s.flush()
    return draft


def _screening_language(s: Session, visit: Visit) -> str | None:
    """The language the patient answered the visit's screening in (None: the clinic's, or not sent)."""
    query = select(Submission.language).where(
        Submission.visit_id == visit.id, Submission.questionnaire_id == visit.questionnaire_id
    )
    return s.scalars(query.order_by(Submission.created_at.desc(), Submission.id.desc()).limit(1)).first()


def _last_check(s: Session, visit: Visit, link: VisitLink) -> dict[str, Any] | None:
    """For a second aftercare check: the answers to the visit's last one before this link
    (in scope as `last_check.<id>`, for the "still sore" rule)."""
    query = select(Submission).where(
        Submission.visit_id == visit.id,
        Submission.questionnaire_id == AFTERCARE,
        Submission.created_at < link.created_at,
        Submission.erased_at.is_(None),
    )
    last = s.scalars(query.order_by(Submission.created_at.desc(), Submission.id.desc()).limit(1)).first()
    return drafts.earlier_answers(last) if last is not None else None


def _first_visit_answers(s: Session, visit: Visit) -> dict[str, Any] | None:
    """For a later session: the patient's latest first-visit screening's answers, in
    scope for the follow-up check's rules (FR1)."""
    if visit.kind != "later":
        return None
    query = (
        select(Submission)
        .join(Visit, Submission.visit_id == Visit.id)
        .where(Visit.patient_id == visit.patient_id, Visit.kind == "first", Submission.erased_at.is_(None))
        .order_by(Submission.created_at.desc())
        .limit(1)
    )
    first = s.scalars(query).first()
    return drafts.earlier_answers(first) if first is not None else None


def fixed_answers(draft: Draft | None, usable: Mapping[str, Any]) -> frozenset[str]:
    """The questions a visit's draft does not ask again: the identity the clinic gave,
    where the questionnaire takes it (`usable`: the draft's answers that pass its checks).
    One it does not take is asked, so that the patient is never stuck on an answer they
    cannot see."""
    if draft is None or draft.visit_id is None:
        return frozenset()
    return frozenset(q for q in IDENTITY if q in draft.answers and q in usable)


def posted_with(fixed: frozenset[str], saved: dict[str, Any]) -> MultiDict:
    """The posted page with the visit's identity answers in place (they are not on the page)."""
    formdata = request.form.copy()
    for qid in fixed:
        if qid in saved:
            formdata[qid] = str(saved[qid])
    return formdata


def visit_was_sent() -> bool:
    """Whether this browser confirmed a link whose visit's answers are sent (from another device too)."""
    link = _session_link(db.session())
    return (
        link is not None
        and session.get(IDENTIFIED_KEY) == link.id
        and _visit_submission(db.session(), link) is not None
    )


@bp.get("/i/sent")
def sent() -> Any:
    """The visit's answers were sent: say so, with the clinic's phone number, and show no answers."""
    link = _session_link(db.session())
    if link is None or session.get(IDENTIFIED_KEY) != link.id:
        return _not_found()
    submission = _visit_submission(db.session(), link)
    if submission is None:
        return redirect(url_for("link.identify"))
    return render_template("intake/link_sent.html", clinic=clinic.current(), sent_at=submission.created_at)


def closed_intake() -> Any:
    """With SCREENING_OPEN_INTAKE=false, the patient's pages open only through a personal link."""
    if current_app.config["OPEN_INTAKE"]:
        return None
    if session.get(IDENTIFIED_KEY) and session.get(SESSION_KEY):
        return None
    if request.endpoint == "intake.done" and session.get(drafts.DONE_KEY):
        return None
    return render_template("intake/link_only.html", clinic=clinic.current()), 403
