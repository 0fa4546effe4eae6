"""Answers + definition -> derived values, flags and the outcome.

Pure: no Flask, no database. `assess` works out everything one set of answers means in
one pass: the answers kept and dropped, derived values, which questions are shown and
which required ones are still missing, the flags and the outcome. The web flow, the
`evaluate` command and the test cases embedded in questions.yaml (run by
embedded_cases.py) all come here, so they can never disagree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from operator import itemgetter
from typing import Any

from .questionnaire import (
    OUTCOME_OF_LEVEL,
    Definition,
    InvalidAnswer,
    UnknownQuestion,
    coerce_answers,
    parse_date,
)
from .questionnaire.conditions import SCOPES
from .questionnaire.vocabulary import Flag

__all__ = [
    "Assessment",
    "Evaluation",
    "Flag",
    "assess",
    "case_earlier",
    "derive",
    "earlier_scope",
    "evaluate",
    "evaluate_input",
    "is_shown",
    "missing_required",
    "scoped",
    "split_earlier",
    "visible_answers",
    "years_between",
]

_sort_key = itemgetter(0)


@dataclass(frozen=True)
class Assessment:
    """Everything one set of answers means, worked out once (see `assess`)."""

    answers: dict[str, Any]  # the answers to questions shown, in the order asked
    dropped: tuple[str, ...]  # answered but hidden, so dropped
    derived: dict[str, Any]
    shown: tuple[str, ...]  # every question shown, answered or not, in the order asked
    missing: tuple[str, ...]  # required questions shown but not answered, in the order asked
    flags: tuple[Flag, ...]  # highest level first; among urgent flags, the most urgent advice first
    outcome: str
    # The earlier answers the questionnaire's conditions name, as given: {"first_visit.cancer_history": "yes"}.
    earlier: dict[str, Any] = field(default_factory=dict)

    @property
    def advice(self) -> str | None:
        """The urgent advice the patient sees (the most urgent named), or None."""
        return next((f.advice for f in self.flags if f.level == "urgent"), None)

    @property
    def given(self) -> bool:
        """Whether any answer was given at all (kept or dropped)."""
        return bool(self.answers or self.dropped)

    @cached_property
    def shown_ids(self) -> frozenset[str]:
        """The shown questions, for quick look-ups."""
        return frozenset(self.shown)


@dataclass(frozen=True)
class Evaluation:
    """The result of evaluating one set of answers (the older, smaller form of `Assessment`)."""

    answers: dict[str, Any]  # visible answers only: hidden ones are dropped
    derived: dict[str, Any]
    flags: list[Flag]
    outcome: str
    dropped: list[str] = field(default_factory=list)  # answers dropped as hidden

    @property
    def advice(self) -> str | None:
        """The urgent advice the patient sees (the most urgent named), or None."""
        return next((f.advice for f in self.flags if f.level == "urgent"), None)


def years_between(born: dt.date, today: dt.date) -> int:
    """Whole years from `born` to `today` (an age)."""
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def assess(
    defn: Definition,
    answers: Mapping[str, Any],
    today: dt.date | None = None,
    earlier: Mapping[str, Mapping[str, Any]] | None = None,
) -> Assessment:
    """Everything already-checked answers mean, in one pass over the questions in order.

    A `show_if` only names earlier questions (and values derived from them), so each
    question is decided from the answers already kept. A hidden question's answer is
    dropped, and a hidden question raises no flag, not even `{not: ...}` or
    `{answered: false}`.

    `earlier` holds the patient's earlier answers by scope (`{"first_visit": {...}}`, see
    `scoped`), which conditions name as `first_visit.<id>`; `answers` may also carry them
    under those names (a draft keeps them so). Only the names the questionnaire uses are read.
    """
    today = today or dt.date.today()
    plan = defn.plan
    kept: dict[str, Any] = {}
    values: dict[str, Any] = {}  # kept answers and the values derived from them so far
    if plan.earlier:
        given = {**answers, **scoped(earlier)} if earlier else answers
        values = {name: given[name] for name in plan.earlier if name in given}
    dropped: list[str] = []
    shown: list[str] = []
    missing: list[str] = []
    fired: list[Any] = []
    for step in plan.steps:
        qid = step.id
        if step.show_if is not None and not step.show_if(values):
            if qid in answers:
                dropped.append(qid)
            continue
        shown.append(qid)
        if qid in answers:
            value = kept[qid] = values[qid] = answers[qid]
            for name in step.derives:
                born = parse_date(value)
                if born is not None and born <= today:
                    values[name] = years_between(born, today)
        else:
            value = None
            if step.required:
                missing.append(qid)
        for test, ranked in step.flags:
            if test(value):
                fired.append(ranked)
    derived = {name: values[name] for name in plan.derived if name in values}
    for name, test, ranked in plan.derived_flags:
        if test(derived.get(name)):
            fired.append(ranked)
    for test, ranked in plan.rules:
        if test(values):
            fired.append(ranked)
    fired.sort(key=_sort_key)
    flags = tuple(flag for _, flag in fired)
    outcome = OUTCOME_OF_LEVEL[flags[0].level] if flags else "suitable"
    earlier_used = {name: values[name] for name in plan.earlier if name in values}
    return Assessment(kept, tuple(dropped), derived, tuple(shown), tuple(missing), flags, outcome, earlier_used)


def scoped(earlier: Mapping[str, Mapping[str, Any]] | None) -> dict[str, Any]:
    """Earlier answers by scope as the names conditions use: {"first_visit.cancer_history": "yes"}."""
    return {f"{scope}.{qid}": value for scope, given in (earlier or {}).items() for qid, value in given.items()}


def earlier_scope(first: Definition, answers: Mapping[str, Any], today: dt.date | None = None) -> dict[str, Any]:
    """A patient's first-visit answers as a later questionnaire sees them: the answers kept
    (hidden ones dropped) and the values derived from them (an age on `today`)."""
    result = assess(first, answers, today)
    return {**result.answers, **result.derived}


def derive(defn: Definition, answers: Mapping[str, Any], today: dt.date) -> dict[str, Any]:
    """Values worked out from the answers (an age from a date of birth)."""
    values = {}
    for name, derived in defn.derived.items():
        born = parse_date(answers.get(derived.years_since))
        if born is not None and born <= today:
            values[name] = years_between(born, today)
    return values


def visible_answers(defn: Definition, answers: Mapping[str, Any], today: dt.date) -> tuple[dict[str, Any], list[str]]:
    """The answers to questions shown, in the order asked, and the ids of those dropped."""
    result = assess(defn, answers, today)
    return result.answers, list(result.dropped)


def is_shown(defn: Definition, qid: str, answers: Mapping[str, Any], today: dt.date) -> bool:
    """Whether a question is shown, given the (visible) answers so far."""
    q = defn.questions[qid]
    return q.condition is None or q.condition.test({**answers, **derive(defn, answers, today)})


def evaluate(
    defn: Definition,
    answers: Mapping[str, Any],
    today: dt.date | None = None,
    earlier: Mapping[str, Mapping[str, Any]] | None = None,
) -> Evaluation:
    """Flags and outcome for already-checked answers (see `questionnaire.coerce_answers`)."""
    result = assess(defn, answers, today, earlier)
    return Evaluation(result.answers, result.derived, list(result.flags), result.outcome, list(result.dropped))


def missing_required(defn: Definition, answers: Mapping[str, Any], today: dt.date) -> list[str]:
    """Ids of required questions that are shown but not answered, in the order asked."""
    return list(assess(defn, answers, today).missing)


def evaluate_input(defn: Definition, answers: Any, today: dt.date | None = None) -> Evaluation:
    """Check raw input (for example parsed JSON) and evaluate it.

    For a questionnaire that builds on a first visit (the follow-up check), answers to the
    first-visit questions in the same object are the patient's first-visit answers; a key
    written `first_visit.<id>` is only that. An id both ask is an answer to both.
    Raises ValueError with a message naming the question for anything invalid.
    """
    if not isinstance(answers, dict):
        raise ValueError("answers must be a JSON object of question id -> answer")
    own, earlier = split_earlier(defn, answers)
    try:
        checked = coerce_answers(defn, own, today)
        scope = case_earlier(defn, earlier, today)
    except (UnknownQuestion, InvalidAnswer) as exc:
        raise ValueError(str(exc)) from None
    return evaluate(defn, checked, today, scope)


def split_earlier(defn: Definition, answers: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """One object of answers split into this questionnaire's own and the earlier ones by scope
    (an unknown id stays with the own answers, to be refused there by name)."""
    first = defn.first_visit_definition
    own: dict[str, Any] = {}
    earlier: dict[str, dict[str, Any]] = {}
    for key, value in answers.items():
        scope, _, qid = key.partition(".") if "." in key else ("", "", key)
        if scope:
            earlier.setdefault(scope, {})[qid] = value
            continue
        in_first = first is not None and key in first.questions
        if in_first:
            earlier.setdefault("first_visit", {})[key] = value
        if key in defn.questions or not in_first:
            own[key] = value
    return own, earlier


def case_earlier(
    defn: Definition, given: Mapping[str, Mapping[str, Any]] | None, today: dt.date | None
) -> dict[str, dict[str, Any]]:
    """A case's earlier answers by scope, checked and seen as the questionnaire sees them
    (`earlier_scope`); as given when the questionnaire they came from is not known here."""
    out: dict[str, dict[str, Any]] = {}
    for scope, answers in (given or {}).items():
        if scope not in SCOPES or (scope == "first_visit" and defn.first_visit is None):
            raise UnknownQuestion(f"{scope}.{next(iter(answers), '')}")
        source = defn if scope == "last_check" else defn.first_visit_definition
        if source is None:
            out[scope] = dict(answers)
        else:
            out[scope] = earlier_scope(source, coerce_answers(source, answers, today), today)
    return out
