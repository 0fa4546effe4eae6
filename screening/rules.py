"""Answers + definition -> derived values, flags and the outcome.

Pure: no Flask, no database. The web flow, the `evaluate` command and the test cases
embedded in questions.yaml all call `evaluate`, so they can never disagree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from .questionnaire import (
    LEVELS,
    OUTCOME_OF_LEVEL,
    Definition,
    InvalidAnswer,
    Problem,
    UnknownQuestion,
    coerce_answers,
    parse_date,
)
from .questionnaire.conditions import names


@dataclass(frozen=True)
class Flag:
    """A flag raised by the answers: why a clinician must look, and on what authority."""

    id: str  # the question's, derived value's or rule's id
    level: str
    reason: str
    source: str
    advice: str | None = None
    about: tuple[str, ...] = ()  # the questions whose answers raised it

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON and storage."""
        data = asdict(self)
        data["about"] = list(self.about)
        return data


@dataclass(frozen=True)
class Evaluation:
    """The result of evaluating one set of answers."""

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


def derive(defn: Definition, answers: Mapping[str, Any], today: dt.date) -> dict[str, Any]:
    """Values worked out from the answers (an age from a date of birth)."""
    values = {}
    for name, derived in defn.derived.items():
        born = parse_date(answers.get(derived.years_since))
        if born is not None and born <= today:
            values[name] = years_between(born, today)
    return values


def visible_answers(defn: Definition, answers: Mapping[str, Any], today: dt.date) -> tuple[dict[str, Any], list[str]]:
    """The answers to questions shown, in the order asked, and the ids of those dropped.

    A `show_if` only names earlier questions, so one pass in order decides every
    question from answers already kept.
    """
    kept: dict[str, Any] = {}
    dropped = []
    for qid, q in defn.questions.items():
        if q.condition is not None and not q.condition.test({**kept, **derive(defn, kept, today)}):
            if qid in answers:
                dropped.append(qid)
            continue
        if qid in answers:
            kept[qid] = answers[qid]
    return kept, dropped


def is_shown(defn: Definition, qid: str, answers: Mapping[str, Any], today: dt.date) -> bool:
    """Whether a question is shown, given the (visible) answers so far."""
    q = defn.questions[qid]
    return q.condition is None or q.condition.test({**answers, **derive(defn, answers, today)})


def evaluate(defn: Definition, answers: Mapping[str, Any], today: dt.date | None = None) -> Evaluation:
    """Flags and outcome for already-checked answers (see `questionnaire.coerce_answers`)."""
    today = today or dt.date.today()
    kept, dropped = visible_answers(defn, answers, today)
    derived = derive(defn, kept, today)
    values = {**kept, **derived}
    flags: list[Flag] = []
    for qid, q in defn.questions.items():
        if qid not in kept and q.flags and not is_shown(defn, qid, kept, today):
            continue  # a hidden question raises nothing, not even `{not: ...}` or `{answered: false}`
        for f in q.flags:
            if f.condition.test(kept.get(qid)):
                flags.append(Flag(qid, f.level, f.reason, f.source, f.advice, (qid,)))
    for name, d in defn.derived.items():
        for f in d.flags:
            if f.condition.test(derived.get(name)):
                flags.append(Flag(name, f.level, f.reason, f.source, f.advice, (d.years_since,)))
    for rule in defn.rules:
        if rule.condition.test(values):
            about = _about(defn, rule.condition)
            flags.append(Flag(rule.id, rule.level, rule.reason, rule.source, rule.advice, about))
    flags.sort(key=lambda f: _rank(defn, f))
    outcome = OUTCOME_OF_LEVEL[flags[0].level] if flags else "suitable"
    return Evaluation(kept, derived, flags, outcome, dropped)


def _rank(defn: Definition, flag: Flag) -> tuple[int, int]:
    """Sort key: highest level first; among urgent flags, the most urgent advice first."""
    order = defn.urgent_advice_order()
    advice = order.index(flag.advice) if flag.advice in order else len(order)
    return LEVELS.index(flag.level), advice


def _about(defn: Definition, condition: Any) -> tuple[str, ...]:
    """The questions a rule's condition looks at (derived values by their source)."""
    out: list[str] = []
    for check in names(condition):
        qid = defn.derived[check.name].years_since if check.name in defn.derived else check.name
        if qid not in out:
            out.append(qid)
    return tuple(out)


def missing_required(defn: Definition, answers: Mapping[str, Any], today: dt.date) -> list[str]:
    """Ids of required questions that are shown but not answered, in the order asked."""
    kept, _ = visible_answers(defn, answers, today)
    return [
        qid for qid, q in defn.questions.items() if q.required and qid not in kept and is_shown(defn, qid, kept, today)
    ]


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
