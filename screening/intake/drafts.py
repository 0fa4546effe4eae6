"""Drafts and submissions: the patient's answers on the server, saved once each.

Every change happens in one write transaction that re-reads the draft first (BEGIN
IMMEDIATE on SQLite, SELECT ... FOR UPDATE on PostgreSQL), so a double click, two tabs
or many patients at once can neither lose answers nor submit twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from flask import current_app, flash, g, request, session
from flask_babel import gettext  # type: ignore[import-untyped]
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from .. import clock, db, i18n, outbox, rules, versions
from ..models import OUTCOME_RANK, Draft, QuestionnaireVersion, Submission, utcnow
from ..questionnaire import AnswerError, Definition
from ..visits.records import IDENTITY_ANSWERS

SESSION_KEY = "draft"
DONE_KEY = "submission"
URGENT_SEEN = "urgent_seen"  # the urgent advice already shown on its own page
ACTIVE_KEY = "active_at"  # when this browser's patient last used the form (UTC, ISO)
SENT_KEY = "sent_at"  # when this browser sent its answers (UTC, ISO)
BROWSER_KEYS = (SESSION_KEY, DONE_KEY, URGENT_SEEN, ACTIVE_KEY, SENT_KEY)


def lifetime() -> dt.timedelta:
    """How long a draft lives after its last change."""
    return dt.timedelta(hours=current_app.config["DRAFT_LIFETIME_HOURS"])


def _live(draft: Draft | None) -> Draft | None:
    """The draft if it exists and has not expired."""
    if draft is None or draft.expires_at <= utcnow():
        return None
    return draft


def usable(defn: Definition, answers: dict[str, Any], today: dt.date) -> dict[str, Any]:
    """The draft's answers that the current questionnaire still asks and accepts.

    questions.yaml may change while a patient is half-way through: an answer to a
    question that is gone, or no longer valid, is dropped (the patient is asked again)
    instead of blocking the form or breaking a page. The earlier answers the draft was
    started with (see `start_draft`) are kept under the names the rules use.
    """
    kept = {}
    earlier = defn.plan.earlier
    for qid, value in answers.items():
        q = defn.questions.get(qid)
        if q is None:
            if qid in earlier:  # an earlier answer in scope (`first_visit.cancer_history`), kept as it came
                kept[qid] = value
            continue
        try:
            value = q.coerce(value, today)
        except AnswerError:
            continue
        if value is not None:
            kept[qid] = value
    return kept


def forget_browser() -> None:
    """This browser no longer holds a draft or an outcome (a new patient on a shared device),
    nor the language the last patient chose: the next one starts in their own (the visit's,
    their browser's or the clinic's). A choice made on this very request (`?lang=`) is the
    person's now here, and stays."""
    for key in BROWSER_KEYS:
        session.pop(key, None)
    if request.args.get(i18n.CHOICE) != session.get(i18n.CHOICE):
        session.pop(i18n.CHOICE, None)
    # (A page already begun keeps its language, so that it is not half in one and half in
    # another; the next page is in the next patient's.)


def current_draft() -> Draft | None:
    """This browser's draft, if it has a live one (read only in the database).

    A browser whose draft has expired (or been purged) is told so once, and forgets it,
    rather than meeting an empty form with no word of why.
    """
    token = session.get(SESSION_KEY)
    if not token:
        return None
    loaded = db.session().get(Draft, token)
    # Held for the rest of the request: the session forgets an object nobody holds, and
    # the page's hooks and view each ask for the draft (one SELECT, not three).
    g.screening_draft = loaded
    draft = _live(loaded)
    if draft is None:
        session.pop(SESSION_KEY, None)
        if DONE_KEY not in session:  # not sent (a sent draft's answers live on in the submission)
            flash(expired_message())
    return draft


def expired_message() -> str:
    """What a patient whose unsent answers have expired is told."""
    hours = current_app.config["DRAFT_LIFETIME_HOURS"]
    return gettext(
        "Your earlier answers were kept for %(hours)s hours after your last change, and have now been deleted"
        " to protect your privacy. Please start again from the first page.",
        hours=hours,
    )


def _locked(s: Session, token: str | None) -> Draft | None:
    """The live draft with this token, locked for the rest of the transaction."""
    if not token:
        return None
    return _live(s.get(Draft, token, with_for_update=True))


class AlreadySubmitted(Exception):
    """The draft was already sent: show its outcome instead."""


def save_answers(
    defn: Definition,
    page_ids: list[str],
    page: dict[str, Any],
    today: dt.date,
    result: rules.Assessment | None = None,
    expected: dict[str, Any] | None = None,
) -> tuple[Draft, rules.Assessment]:
    """Replace the answers to one page's questions and drop any now hidden.

    `result` is the assessment the page was checked with, of the `expected` answers: it
    is used when the locked draft still holds them, and worked out afresh if another tab
    changed the draft in the meantime. Returns the draft and the assessment it was saved with.
    """
    with db.get_db().transaction() as s:
        draft = _locked(s, session.get(SESSION_KEY))
        if draft is not None and draft.submission_id is not None:
            raise AlreadySubmitted
        if draft is None:
            draft = Draft(answers={}, questionnaire_id=defn.questionnaire.id, expires_at=utcnow() + lifetime())
            s.add(draft)
        merged = {k: v for k, v in usable(defn, draft.answers, today).items() if k not in page_ids} | page
        if result is None or merged != expected:
            result = rules.assess(defn, merged, today)
        draft.answers = result.answers | result.earlier
        draft.language = i18n.language()  # the language the patient is answering in
        draft.updated_at = utcnow()
        # A visit's draft lives as long as its link (see intake/link.py), at least.
        draft.expires_at = max(draft.expires_at, draft.updated_at + lifetime())
    session[SESSION_KEY] = draft.token
    session.permanent = True
    mark_active()
    return draft, result


def discard_draft() -> None:
    """Forget this browser's draft and delete its answers (start again). A visit's draft
    stays the visit's, with only what the clinic gave (see intake/link.py)."""
    token = session.get(SESSION_KEY)
    forget_browser()
    if token:
        with db.get_db().transaction() as s:
            draft = s.get(Draft, token, with_for_update=True)
            if draft is not None and draft.submission_id is None and draft.visit_id is not None:
                draft.answers = {k: v for k, v in draft.answers.items() if k in IDENTITY_ANSWERS}
                session[SESSION_KEY] = token  # the patient's own choice, on their own link
                mark_active()
            elif draft is not None and draft.submission_id is None:
                s.delete(draft)


@dataclass(frozen=True)
class NotReady:
    """The draft cannot be sent yet: `section_id` is where to go, `message` says why."""

    section_id: str | None
    message: str
    missing: bool = False  # only required answers are missing (the rest is fine)


def submit(defn: Definition, today: dt.date) -> Submission | NotReady:
    """Record this browser's draft as a submission, exactly once."""
    with db.get_db().transaction() as s:
        draft = _locked(s, session.get(SESSION_KEY))
        if draft is None:
            if session.pop(SESSION_KEY, None):
                return NotReady(None, expired_message())
            return NotReady(None, gettext("Your answers were not found. They may have expired: please start again."))
        if draft.submission_id is not None:
            existing = s.get(Submission, draft.submission_id)
            assert existing is not None  # a foreign key: the submission exists
            session[DONE_KEY] = existing.reference
            session.setdefault(SENT_KEY, utcnow().isoformat())
            return existing
        result = rules.assess(defn, usable(defn, draft.answers, today), today)
        problem = _not_ready(defn, result)
        # An urgent answer goes to the clinic at once, even if the patient stops there.
        early = isinstance(problem, NotReady) and problem.missing and result.outcome == "urgent"
        if problem and not early:
            return problem
        _ensure_version(s, defn)
        submission = Submission(
            draft_token=draft.token,
            questionnaire_id=defn.questionnaire.id,
            version=defn.version,
            answers=result.answers,
            derived=result.derived,
            flags=[f.to_dict() for f in result.flags],
            shown=list(result.shown),
            outcome=result.outcome,
            outcome_rank=OUTCOME_RANK[result.outcome],
            urgent_advice=result.advice,
            complete=not early,
            visit_id=draft.visit_id,
            earlier=result.earlier or None,
            language=i18n.language(),  # the language of the page the patient sent it from
            **patient_name(result.answers, draft.patient_name),
        )
        s.add(submission)
        s.flush()
        draft.submission_id = submission.id
        draft.answers = {}  # the answers now live in the submission only
        outbox.submission_saved(s, submission)  # its alerts and webhooks, committed with it
    session[DONE_KEY] = submission.reference
    session[SENT_KEY] = utcnow().isoformat()
    session.pop(URGENT_SEEN, None)
    return submission


def patient_name(answers: dict[str, Any], known: str | None = None) -> dict[str, str | None]:
    """The patient's name for the queue, from the question the configuration names (or, for
    a questionnaire that does not ask it, the name the draft was started with)."""
    name = answers.get(current_app.config["PATIENT_NAME_QUESTION"]) or known
    name = " ".join(str(name).split()) if name else None
    return {"patient_name": name, "name_key": name.casefold() if name else None}


def _not_ready(defn: Definition, result: rules.Assessment) -> NotReady | None:
    """Why these (usable) answers cannot be sent yet: a required question still to answer."""
    missing = result.missing
    if missing:
        return NotReady(
            defn.questions[missing[0]].section_id,
            gettext("Please answer the questions that are still missing."),
            missing=True,
        )
    return None


def _ensure_version(s: Session, defn: Definition) -> None:
    """Store this questionnaire version once (concurrent writers may race: ignore the loser)."""
    values = {
        "version": defn.version,
        "questionnaire_id": defn.questionnaire.id,
        "definition": defn.raw,
        "created_at": utcnow(),
    }
    insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
    s.execute(insert(QuestionnaireVersion).values(**values).on_conflict_do_nothing(index_elements=["version"]))


def _since(key: str) -> dt.timedelta | None:
    """How long ago the time kept in the session under `key` was (None if none is kept)."""
    try:
        at = dt.datetime.fromisoformat(session[key])
    except (KeyError, TypeError, ValueError):
        return None
    return utcnow() - at


def outcome_lifetime() -> dt.timedelta:
    """How long the outcome page stays on the browser that sent the answers."""
    return dt.timedelta(minutes=current_app.config.get("OUTCOME_VISIBLE_MINUTES", 30))


def idle_limit() -> dt.timedelta:
    """After this long unused, a saved form on this browser is resumed only by the patient's choice."""
    return dt.timedelta(minutes=current_app.config.get("DRAFT_IDLE_MINUTES", 15))


def mark_active() -> None:
    """The patient is using the form now."""
    session[ACTIVE_KEY] = utcnow().isoformat()


def idle() -> bool:
    """Whether this browser's saved form has been left unused (someone else may be here now)."""
    since = _since(ACTIVE_KEY)
    return since is None or since > idle_limit()


def finished_submission() -> Submission | None:
    """The submission this browser just made, if any, while its outcome may still be shown."""
    reference = session.get(DONE_KEY)
    if not reference:
        return None
    sent = _since(SENT_KEY)
    if sent is None or sent > outcome_lifetime():
        forget_browser()  # time is up: the next person on this device sees nothing of it
        return None
    return db.session().scalars(select(Submission).where(Submission.reference == reference)).one_or_none()


# --- Any questionnaire, for a known patient ---------------------------------------------


def questionnaire_of(draft: Draft | None) -> Definition:
    """The questionnaire a draft answers (the default one for no draft, or one no longer served)."""
    if draft is not None and draft.questionnaire_id:
        try:
            return versions.definition(draft.questionnaire_id)
        except LookupError:
            current_app.logger.warning("draft for questionnaire %s, which is no longer served", draft.questionnaire_id)
    return versions.current_definition()


def earlier_answers(submission: Submission) -> dict[str, Any]:
    """A submission's answers and derived values (an age), as a later questionnaire's
    `earlier` answers: pass a patient's first-visit submission to `start_draft`."""
    return {**(submission.answers or {}), **(submission.derived or {})}


def start_draft(
    questionnaire_id: str,
    identity: dict[str, Any] | None = None,
    earlier: dict[str, Any] | None = None,
    visit_id: int | None = None,
    last_check: dict[str, Any] | None = None,
) -> Draft:
    """Start a draft of any questionnaire for a known patient; returns it (not yet this
    browser's: see `open_draft`).

    - `identity`: what the clinic knows of the patient (`full_name`, `date_of_birth`,
      `phone`, `email`, or `given_name` and `family_name`): the answers to the questions
      of that id are filled in, and the name goes to the queue even if the questionnaire
      does not ask it.
    - `earlier`: the patient's first-visit answers (`earlier_answers(submission)`), in
      scope for the rules that name `first_visit.<id>` (the follow-up check's FR1).
    - `last_check`: their answers the last time they did this same questionnaire.
    - `visit_id`: the visit it belongs to.

    Only the earlier answers the questionnaire's rules name are kept. Raises LookupError
    for an unknown questionnaire id.
    """
    draft = new_draft(questionnaire_id, identity, earlier, visit_id, last_check)
    with db.get_db().transaction() as s:
        s.add(draft)
    return draft


def new_draft(
    questionnaire_id: str,
    identity: dict[str, Any] | None = None,
    earlier: dict[str, Any] | None = None,
    visit_id: int | None = None,
    last_check: dict[str, Any] | None = None,
) -> Draft:
    """start_draft's draft, not yet stored: for a caller that adds it in its own
    transaction (a visit's link, which first locks the visit: one draft per visit)."""
    defn = versions.definition(questionnaire_id)
    identity = identity or {}
    today = clock.today()
    answers = usable(defn, {k: v for k, v in identity.items() if k in defn.questions}, today)
    given = rules.scoped({"first_visit": earlier or {}, "last_check": last_check or {}})
    answers |= {name: given[name] for name in defn.plan.earlier if name in given}
    name = identity.get("full_name") or " ".join(
        str(identity[k]) for k in ("given_name", "family_name") if identity.get(k)
    )
    return Draft(
        answers=answers,
        questionnaire_id=defn.questionnaire.id,
        patient_name=" ".join(str(name).split()) or None,
        expires_at=utcnow() + lifetime(),
        visit_id=visit_id,
    )


def open_draft(draft: Draft) -> None:
    """Make a draft this browser's: its pages now show that draft's questionnaire (the
    patient's own action, such as confirming their date of birth: not an idle form)."""
    session.pop(DONE_KEY, None)
    session[SESSION_KEY] = draft.token
    session.permanent = True
    mark_active()
