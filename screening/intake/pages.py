"""What the patient's pages show, worked out from the definition and the answers.

Plain functions returning plain data for the templates, so the views stay short.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace

from flask import url_for
from flask_babel import gettext, lazy_gettext  # type: ignore[import-untyped]

from ..models import Submission
from ..questionnaire import Definition, Question, Section, conditions, display
from ..questionnaire.vocabulary import stored_flags
from ..rules import Assessment


def visible_sections(defn: Definition, result: Assessment) -> list[Section]:
    """Sections with at least one question shown: shown now, or decided live on its own
    page (its show_if looks at that page's answers)."""
    live = defn.plan.same_page
    shown = result.shown_ids
    return [s for s in defn.sections if any(q.id in live or q.id in shown for q in s.questions)]


@dataclass
class SectionView:
    """A section page: its step, its questions and what the browser needs to hide some."""

    step: int
    steps: int
    questions: list[tuple[Question, str | None]] = field(default_factory=list)  # (question, live condition JSON)
    known: str = "{}"  # earlier answers that live conditions look at, as JSON
    derived: str = "{}"  # derived name -> the question it comes from, as JSON


def section_view(defn: Definition, sec: Section, result: Assessment) -> SectionView:
    """Which questions to show on a section page, and its step number."""
    shown = visible_sections(defn, result)
    ids = [s.id for s in shown]
    step = ids.index(sec.id) + 1 if sec.id in ids else len(ids) + 1
    page_ids = {q.id for q in sec.questions}
    live = defn.plan.same_page
    view = SectionView(step=step, steps=max(len(ids), step))
    referenced: set[str] = set()
    for q in sec.questions:
        if q.id in live:
            view.questions.append((q, json.dumps(q.condition.to_json())))
            referenced |= {c.name for c in conditions.names(q.condition)}
        elif q.id in result.shown_ids:  # its show_if looks only at earlier pages
            view.questions.append((q, None))
    known = {}
    for name in sorted(referenced):
        # Earlier answers, and values derived from them: never this page's own answers.
        if name in page_ids or (name in defn.derived and defn.derived[name].years_since in page_ids):
            continue
        values = result.derived if name in defn.derived else result.answers
        if name in values:
            known[name] = values[name]
    view.known = json.dumps(known)
    view.derived = json.dumps({name: d.years_since for name, d in defn.derived.items() if name in referenced})
    return view


def _positions(defn: Definition) -> dict[str, int]:
    """Each section's place in the questionnaire, by id (comparing the sections themselves
    would compare every question in them)."""
    return {s.id: i for i, s in enumerate(defn.sections)}


def back_url(defn: Definition, sec: Section | None, result: Assessment) -> str:
    """The page before this one (the last section for the check page; the start page first)."""
    shown = visible_sections(defn, result)
    if sec is None:
        return url_for("intake.section", section_id=shown[-1].id) if shown else url_for("intake.start")
    at = _positions(defn)
    before = [s for s in shown if at[s.id] < at[sec.id]]
    return url_for("intake.section", section_id=before[-1].id) if before else url_for("intake.start")


def after_save(defn: Definition, sec: Section, result: Assessment, change: bool) -> str:
    """Where to go after a page is saved: the next page, or back to the check page.

    Coming from the check page, a changed answer may reveal a required question on
    another page: go there first, so nothing is missed.
    """
    missing = result.missing
    if change:
        if missing:
            return url_for("intake.section", section_id=defn.questions[missing[0]].section_id, change="1")
        return url_for("intake.check")
    shown = visible_sections(defn, result)
    at = _positions(defn)
    later = [s for s in shown if at[s.id] > at[sec.id]]
    return url_for("intake.section", section_id=later[0].id) if later else url_for("intake.check")


def resume_url(defn: Definition, result: Assessment) -> str:
    """Where a returning patient carries on: the first page still to answer, else the check page."""
    if result.missing:
        return url_for("intake.section", section_id=defn.questions[result.missing[0]].section_id)
    return url_for("intake.check")


def urgent_advice(
    defn: Definition, result: Assessment, unsure: frozenset[str] = frozenset(), given: bool | None = None
) -> str | None:
    """The urgent advice the answers so far call for, shown at once on every page.

    Flags that rest on an `unsure` question (one still to be answered on this page) do
    not count: a follow-up left blank for a moment is not an emergency. No answers
    (`given` false) call for nothing.
    """
    if not (result.given if given is None else given):
        return None
    flags = [f for f in result.flags if f.level == "urgent" and not unsure & set(f.about)]
    return defn.outcomes.urgent.advice.get(flags[0].advice or "") if flags else None


def urgent_key(defn: Definition, result: Assessment, given: bool | None = None) -> str | None:
    """The key of the urgent advice the answers call for (`emergency`, `same_day`), or None."""
    if not (result.given if given is None else given):
        return None
    key = result.advice
    return key if key in defn.outcomes.urgent.advice else None


LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")


def urgent_heading(advice: str) -> str:
    """What to do, in a few words, for the stop page's title and heading: the advice's
    first sentence without its links or bold ("Go to A&E now, or call 999")."""
    text = " ".join(LINK.sub(r"\1", advice).replace("*", "").replace("_", " ").split())
    first = re.split(r"(?<=[.!])\s", text, maxsplit=1)[0]
    return first.rstrip(".") or gettext("Get medical help now")


# Tap-to-call numbers on the stop page, by urgent advice key (the clinic's phone is added).
CALL_NUMBERS = {"emergency": [("999", lazy_gettext("Call 999"))], "same_day": [("111", lazy_gettext("Call 111"))]}


@dataclass
class SummaryRow:
    """One line of the check page."""

    question: Question
    value: str
    missing: bool
    fixed: bool = False  # given by the clinic with the booking: not on the page, so no Change link


def check_summary(
    defn: Definition, result: Assessment, fixed: frozenset[str] = frozenset()
) -> list[tuple[Section, list[SummaryRow]]]:
    """Each shown section with its shown questions, answered or still missing; `fixed` are
    the answers a visit's booking gave (not asked again)."""
    kept, shown, missing = result.answers, result.shown_ids, set(result.missing)
    out = []
    for sec in visible_sections(defn, result):
        rows = [
            SummaryRow(q, display(q, kept.get(q.id)), q.id in missing, q.id in fixed)
            for q in sec.questions
            if q.id in shown
        ]
        out.append((sec, rows))
    return out


# What to do next when a flag gives no `next_step` of its own, by level.
DEFAULT_NEXT_STEP = {
    "contraindication": lazy_gettext("The clinic will call you before your appointment."),
    "precaution": lazy_gettext("Your physio will talk this through with you before any needles are used."),
}


@dataclass(frozen=True)
class Reason:
    """One line under "Why": the patient's own reason and what to do next (never the
    clinician's reason or a source)."""

    text: str
    next_step: str


@dataclass
class OutcomeView:
    """The outcome page's message, with urgent advice and the answers behind it."""

    title: str
    message: str
    advice: str | None
    because: list[str]
    reasons: list[Reason] = field(default_factory=list)


def in_patient_words(defn: Definition, flags: list) -> list:
    """Stored flags with their patient_reason and next_step as `defn` words them (the
    patient's language), matched by owner, level and clinician's reason (never translated)."""
    words: dict[tuple[str, str, str], tuple[str | None, str | None]] = {}
    owners = [(q.id, q.flags) for q in defn.questions.values()]
    owners += [(name, d.flags) for name, d in defn.derived.items()]
    owners += [(rule.id, [rule]) for rule in defn.rules]
    for owner, defs in owners:
        for f in defs:
            words.setdefault((owner, f.level, f.reason), (f.patient_reason, f.next_step))
    out = []
    for flag in flags:
        theirs = words.get((flag.id, flag.level, flag.reason))
        out.append(replace(flag, patient_reason=theirs[0], next_step=theirs[1]) if theirs else flag)
    return out


def patient_reasons(flags: list) -> list[Reason]:
    """The reasons to show a patient: contraindications first, then precautions, once each."""
    out: list[Reason] = []
    for level in ("contraindication", "precaution"):
        for flag in flags:
            if flag.level != level or not flag.patient_reason:
                continue
            reason = Reason(flag.patient_reason, flag.next_step or str(DEFAULT_NEXT_STEP[level]))
            if reason not in out:
                out.append(reason)
    return out


def outcome_view(defn: Definition, submission: Submission) -> OutcomeView:
    """What to tell the patient about their submission."""
    text = getattr(defn.outcomes, submission.outcome)
    advice = None
    because: list[str] = []
    flags = stored_flags(submission.flags)
    if submission.outcome == "urgent":
        advice = defn.outcomes.urgent.advice.get(submission.urgent_advice or "", None)
        for flag in flags:
            if flag.level != "urgent":
                continue
            for qid in flag.about:
                q = defn.questions.get(qid)
                if q is not None and q.label not in because:
                    because.append(q.label)
    reasons = patient_reasons(in_patient_words(defn, flags)) if submission.outcome in ("not_suitable", "review") else []
    return OutcomeView(text.title, text.message, advice, because, reasons)
