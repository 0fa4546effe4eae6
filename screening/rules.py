"""Answers + definition -> derived values, flags and the outcome.

Pure: no Flask, no database. `assess` works out everything one set of answers means in
one pass: the answers kept and dropped, derived values, which questions are shown and
which required ones are still missing, the flags and the outcome. The web flow, the
`evaluate` command and the test cases embedded in questions.yaml all come here, so they
can never disagree.
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
    Problem,
    UnknownQuestion,
    coerce_answers,
    parse_date,
)
from .questionnaire.vocabulary import Flag

__all__ = [
    "Assessment",
    "CaseResult",
    "Evaluation",
    "Flag",
    "assess",
    "case_problems",
    "derive",
    "evaluate",
    "evaluate_input",
    "is_shown",
    "missing_required",
    "run_cases",
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


def assess(defn: Definition, answers: Mapping[str, Any], today: dt.date | None = None) -> Assessment:
    """Everything already-checked answers mean, in one pass over the questions in order.

    A `show_if` only names earlier questions (and values derived from them), so each
    question is decided from the answers already kept. A hidden question's answer is
    dropped, and a hidden question raises no flag, not even `{not: ...}` or
    `{answered: false}`.
    """
    today = today or dt.date.today()
    plan = defn.plan
    kept: dict[str, Any] = {}
    values: dict[str, Any] = {}  # kept answers and the values derived from them so far
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
    return Assessment(kept, tuple(dropped), derived, tuple(shown), tuple(missing), flags, outcome)


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


def evaluate(defn: Definition, answers: Mapping[str, Any], today: dt.date | None = None) -> Evaluation:
    """Flags and outcome for already-checked answers (see `questionnaire.coerce_answers`)."""
    result = assess(defn, answers, today)
    return Evaluation(result.answers, result.derived, list(result.flags), result.outcome, list(result.dropped))


def missing_required(defn: Definition, answers: Mapping[str, Any], today: dt.date) -> list[str]:
    """Ids of required questions that are shown but not answered, in the order asked."""
    return list(assess(defn, answers, today).missing)


def evaluate_input(defn: Definition, answers: Any, today: dt.date | None = None) -> Evaluation:
    """Check raw input (for example parsed JSON) and evaluate it.

    Raises ValueError with a message naming the question for anything invalid.
    """
    if not isinstance(answers, dict):
        raise ValueError("answers must be a JSON object of question id -> answer")
    try:
        checked = coerce_answers(defn, answers, today)
    except (UnknownQuestion, InvalidAnswer) as exc:
        raise ValueError(str(exc)) from None
    return evaluate(defn, checked, today)


@dataclass(frozen=True)
class CaseResult:
    """How one embedded test case fared."""

    name: str
    passed: bool
    expected_outcome: str
    outcome: str
    expected_flags: list[str]
    flags: list[str]
    fired: list[tuple[str, int]]  # (owner, index) of question/derived flags, and rules


def run_cases(defn: Definition) -> tuple[list[CaseResult], list[str]]:
    """Run the embedded cases; return results and the urgent/contraindication flags no
    passing case fires (each named as `owner` or `owner.flags[i]`)."""
    results = []
    fired: set[tuple[str, int]] = set()
    for case in defn.tests:
        today = dt.date.fromisoformat(case.today) if case.today else None
        result = evaluate(defn, coerce_answers(defn, case.answers, today), today)
        ids = sorted({f.id for f in result.flags})
        keys = _fired_keys(defn, result, today)
        passed = result.outcome == case.outcome and ids == sorted(set(case.flags))
        results.append(CaseResult(case.name, passed, case.outcome, result.outcome, sorted(set(case.flags)), ids, keys))
        if passed:
            fired.update(keys)
    return results, _unexercised(defn, fired)


def _fired_keys(defn: Definition, result: Evaluation, today: dt.date | None) -> list[tuple[str, int]]:
    """Which individual flags fired: (question or derived id, flag index) or (rule id, -1)."""
    keys = []
    for owner, index, flag in defn.question_flags():
        value = result.derived.get(owner) if owner in defn.derived else result.answers.get(owner)
        if flag.condition.test(value):
            keys.append((owner, index))
    keys += [(f.id, -1) for f in result.flags if f.id in {r.id for r in defn.rules}]
    return keys


def _unexercised(defn: Definition, fired: set[tuple[str, int]]) -> list[str]:
    """Serious flags (urgent, contraindication) that no passing case fires."""
    serious = ("urgent", "contraindication")
    missing = []
    for owner, index, flag in defn.question_flags():
        if flag.level in serious and (owner, index) not in fired:
            missing.append(f"{owner}.flags[{index}] ({flag.level})")
    for rule in defn.rules:
        if rule.level in serious and (rule.id, -1) not in fired:
            missing.append(f"rule {rule.id} ({rule.level})")
    return missing


def case_problems(defn: Definition) -> list[Problem]:
    """The embedded cases that fail, and serious flags no case fires, as Problems.

    The app refuses to start with any of these: a clinic cannot serve red-flag rules
    its own cases show to be wrong or untested.
    """
    results, unexercised = run_cases(defn)
    problems = [
        Problem(
            ("tests", i),
            f"case '{r.name}' fails: expected {r.expected_outcome} with flags {r.expected_flags}, "
            f"got {r.outcome} with flags {r.flags}",
        )
        for i, r in enumerate(results)
        if not r.passed
    ]
    problems += [Problem(("tests",), f"{name} is not fired by any passing test case") for name in unexercised]
    return problems
