"""What the patient's pages show, worked out from the definition and the answers.

Plain functions returning plain data for the templates, so the views stay short.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from flask import url_for

from .. import rules
from ..models import Submission
from ..questionnaire import Definition, Question, Section, conditions, display


def visible_sections(defn: Definition, answers: dict, today: dt.date) -> list[Section]:
    """Sections with at least one question shown, given the answers so far."""
    kept, _ = rules.visible_answers(defn, answers, today)
    return [s for s in defn.sections if any(_may_show(defn, q, kept, today) for q in s.questions)]


def _may_show(defn: Definition, q: Question, answers: dict, today: dt.date) -> bool:
    """Shown now, or decided live on its own page (it depends on that page's answers)."""
    return _same_page_condition(defn, q) or rules.is_shown(defn, q.id, answers, today)


def _same_page_condition(defn: Definition, q: Question) -> bool:
    """Whether the question's show_if looks at answers on its own page."""
    if q.condition is None:
        return False
    for check in conditions.names(q.condition):
        qid = defn.derived[check.name].years_since if check.name in defn.derived else check.name
        if defn.questions[qid].section_id == q.section_id:
            return True
    return False


@dataclass
class SectionView:
    """A section page: its step, its questions and what the browser needs to hide some."""

    step: int
    steps: int
    questions: list[tuple[Question, str | None]] = field(default_factory=list)  # (question, live condition JSON)
    known: str = "{}"  # earlier answers that live conditions look at, as JSON
    derived: str = "{}"  # derived name -> the question it comes from, as JSON


def section_view(defn: Definition, sec: Section, answers: dict, today: dt.date) -> SectionView:
    """Which questions to show on a section page, and its step number."""
    shown = visible_sections(defn, answers, today)
    ids = [s.id for s in shown]
    step = ids.index(sec.id) + 1 if sec.id in ids else len(ids) + 1
    page_ids = {q.id for q in sec.questions}
    known, _ = rules.visible_answers(defn, {k: v for k, v in answers.items() if k not in page_ids}, today)
    view = SectionView(step=step, steps=max(len(ids), step))
    referenced: set[str] = set()
    for q in sec.questions:
        if _same_page_condition(defn, q):
            view.questions.append((q, json.dumps(q.condition.to_json())))
            referenced |= {c.name for c in conditions.names(q.condition)}
        elif rules.is_shown(defn, q.id, known, today):
            view.questions.append((q, None))
    values = known | rules.derive(defn, known, today)
    view.known = json.dumps(
        {name: values[name] for name in sorted(referenced) if name in values and name not in page_ids}
    )
    view.derived = json.dumps({name: d.years_since for name, d in defn.derived.items() if name in referenced})
    return view


def back_url(defn: Definition, sec: Section | None, answers: dict, today: dt.date) -> str:
    """The page before this one (the last section for the check page; the start page first)."""
    shown = visible_sections(defn, answers, today)
    if sec is None:
        return url_for("intake.section", section_id=shown[-1].id) if shown else url_for("intake.start")
    before = [s for s in shown if defn.sections.index(s) < defn.sections.index(sec)]
    return url_for("intake.section", section_id=before[-1].id) if before else url_for("intake.start")


def after_save(defn: Definition, sec: Section, answers: dict, change: bool, today: dt.date) -> str:
    """Where to go after a page is saved: the next page, or back to the check page.

    Coming from the check page, a changed answer may reveal a required question on
    another page: go there first, so nothing is missed.
    """
    missing = rules.missing_required(defn, answers, today)
    if change:
        if missing:
            return url_for("intake.section", section_id=defn.questions[missing[0]].section_id, change="1")
        return url_for("intake.check")
    shown = visible_sections(defn, answers, today)
    later = [s for s in shown if defn.sections.index(s) > defn.sections.index(sec)]
    return url_for("intake.section", section_id=later[0].id) if later else url_for("intake.check")


def resume_url(defn: Definition, answers: dict, today: dt.date) -> str:
    """Where a returning patient carries on: the first page still to answer, else the check page."""
    missing = rules.missing_required(defn, answers, today)
    if missing:
        return url_for("intake.section", section_id=defn.questions[missing[0]].section_id)
    return url_for("intake.check")


def urgent_advice(defn: Definition, answers: dict, today: dt.date, unsure: frozenset[str] = frozenset()) -> str | None:
    """The urgent advice the answers so far call for, shown at once on every page.

    Flags that rest on an `unsure` question (one still to be answered on this page) do
    not count: a follow-up left blank for a moment is not an emergency.
    """
    if not answers:
        return None
    flags = [f for f in rules.evaluate(defn, answers, today).flags if f.level == "urgent" and not unsure & set(f.about)]
    return defn.outcomes.urgent.advice[flags[0].advice] if flags else None


@dataclass
class SummaryRow:
    """One line of the check page."""

    question: Question
    value: str
    missing: bool


def check_summary(defn: Definition, answers: dict, today: dt.date) -> list[tuple[Section, list[SummaryRow]]]:
    """Each shown section with its shown questions, answered or still missing."""
    kept, _ = rules.visible_answers(defn, answers, today)
    missing = set(rules.missing_required(defn, kept, today))
    out = []
    for sec in visible_sections(defn, kept, today):
        rows = [
            SummaryRow(q, display(q, kept.get(q.id)), q.id in missing)
            for q in sec.questions
            if rules.is_shown(defn, q.id, kept, today)
        ]
        out.append((sec, rows))
    return out


@dataclass
class OutcomeView:
    """The outcome page's message, with urgent advice and the answers behind it."""

    title: str
    message: str
    advice: str | None
    because: list[str]


def outcome_view(defn: Definition, submission: Submission) -> OutcomeView:
    """What to tell the patient about their submission."""
    text = getattr(defn.outcomes, submission.outcome)
    advice = None
    because: list[str] = []
    if submission.outcome == "urgent":
        advice = defn.outcomes.urgent.advice.get(submission.urgent_advice or "", None)
        for flag in submission.flags:
            if flag["level"] != "urgent":
                continue
            for qid in flag.get("about", []):
                q = defn.questions.get(qid)
                if q is not None and q.label not in because:
                    because.append(q.label)
    return OutcomeView(text.title, text.message, advice, because)
