"""The test cases embedded in a questionnaire file, run through `rules.assess`.

Pure: no Flask, no database. Each case states answers (and earlier answers) and the
outcome, flags, advice and dropped answers they must give; `run_cases` says how each
fared and which serious flags no passing case covers, and `case_problems` turns that
into Problems with the line of the file. The app refuses to start with any of them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from .questionnaire import Definition, Problem, coerce_answers, safety
from .rules import Assessment, assess, case_earlier

__all__ = ["CaseResult", "case_problems", "run_cases"]


@dataclass(frozen=True)
class CaseResult:
    """How one embedded test case fared: what it stated, what the answers gave."""

    name: str
    index: int  # its place in `tests`
    passed: bool
    expected_outcome: str
    outcome: str
    expected_flags: list[str] | None  # None: the case does not state its flags
    flags: list[str]
    fired: list[tuple[str, int]]  # (owner, index) of question/derived flags, and rules
    advice: str | None = None  # the urgent advice the patient would be told
    mismatches: tuple[tuple[str, str], ...] = ()  # (key of the case, what differs)


def run_cases(defn: Definition) -> tuple[list[CaseResult], list[str]]:
    """Run the embedded cases; return results and what no passing case covers: urgent and
    contraindication flags no passing case fires, urgent flags no passing case fires while
    stating that flag's advice, and declared red flags likewise."""
    results = []
    fired: set[tuple[str, int]] = set()
    advised: set[tuple[str, int]] = set()  # urgent flags fired by a passing case stating their advice
    for index, case in enumerate(defn.tests):
        today = dt.date.fromisoformat(case.today) if case.today else None
        earlier = case_earlier(defn, case.earlier, today)
        result = assess(defn, coerce_answers(defn, case.answers, today), today, earlier)
        ids = sorted({f.id for f in result.flags})
        keys = _fired_keys(defn, result, today)
        mismatches = []
        if result.outcome != case.outcome:
            mismatches.append(("outcome", f"expected {case.outcome}, got {result.outcome}"))
        if case.advice is not None and result.advice != case.advice:
            mismatches.append(("advice", f"expected the {case.advice} advice, got {result.advice or 'none'}"))
        expected = sorted(set(case.flags)) if case.flags is not None else None
        if expected is not None and ids != expected:
            mismatches.append(("flags", _difference("flags", expected, ids)))
        if case.dropped is not None and sorted(result.dropped) != sorted(case.dropped):
            mismatches.append(("dropped", _difference("dropped answers", sorted(case.dropped), sorted(result.dropped))))
        passed = not mismatches
        results.append(
            CaseResult(
                case.name,
                index,
                passed,
                case.outcome,
                result.outcome,
                expected,
                ids,
                keys,
                result.advice,
                tuple(mismatches),
            )
        )
        if passed:
            fired.update(keys)
            if case.advice is not None:
                advised.update(key for key in keys if _advice_of(defn, key) == case.advice)
    return results, _unexercised(defn, fired, advised)


def _difference(what: str, expected: list[str], got: list[str]) -> str:
    """Expected and got, with what is missing and what is extra."""
    text = f"{what}: expected {expected}, got {got}"
    missing, extra = sorted(set(expected) - set(got)), sorted(set(got) - set(expected))
    if missing:
        text += f"; missing: {', '.join(missing)}"
    if extra:
        text += f"; not expected: {', '.join(extra)}"
    return text


def _flag_at(defn: Definition, key: tuple[str, int]) -> Any:
    """The flag definition a fired key names."""
    owner, index = key
    if index < 0:
        return next(r for r in defn.rules if r.id == owner)
    if owner in defn.derived:
        return defn.derived[owner].flags[index]
    return defn.questions[owner].flags[index]


def _advice_of(defn: Definition, key: tuple[str, int]) -> str | None:
    """The urgent advice of the flag a fired key names."""
    flag = _flag_at(defn, key)
    return flag.advice if flag.level == "urgent" else None


def _fired_keys(defn: Definition, result: Assessment, today: dt.date | None) -> list[tuple[str, int]]:
    """Which individual flags fired: (question or derived id, flag index) or (rule id, -1)."""
    keys = []
    for owner, index, flag in defn.question_flags():
        value = result.derived.get(owner) if owner in defn.derived else result.answers.get(owner)
        if flag.condition.test(value):
            keys.append((owner, index))
    keys += [(f.id, -1) for f in result.flags if f.id in {r.id for r in defn.rules}]
    return keys


def _unexercised(defn: Definition, fired: set[tuple[str, int]], advised: set[tuple[str, int]]) -> list[str]:
    """Serious flags no passing case fires, and urgent ones no passing case states the advice of."""
    serious = ("urgent", "contraindication")
    stated = any(case.advice is not None for case in defn.tests)  # a file written before cases stated advice
    red = set(defn.safety.red_flags) if defn.safety else set()
    missing = []
    keys = [((owner, index), flag, f"{owner}.flags[{index}]") for owner, index, flag in defn.question_flags()]
    keys += [((rule.id, -1), rule, f"rule {rule.id}") for rule in defn.rules]
    for key, flag, name in keys:
        if flag.level in serious and key not in fired:
            missing.append(f"{name} ({flag.level}) is not fired by any passing test case")
        elif flag.level == "urgent" and (stated or key[0] in red) and key not in advised:
            missing.append(
                f"{name} (urgent, {flag.advice}) is not fired by any passing test case that states"
                f" 'advice: {flag.advice}'"
            )
    return missing


def case_problems(defn: Definition) -> list[Problem]:
    """The embedded cases that fail, serious flags no case covers, and a clinical sign-off
    that no longer matches the text, as Problems with the line of the file they are on.

    The app refuses to start with any of these: a clinic cannot serve red-flag rules
    its own cases show to be wrong or untested.
    """
    results, unexercised = run_cases(defn)
    problems = [
        Problem(path, f"case '{r.name}' fails: {message}", defn.line_of(path))
        for r in results
        for key, message in r.mismatches
        for path in [("tests", r.index, key)]
    ]
    problems += [Problem(("tests",), message, defn.line_of(("tests",))) for message in unexercised]
    return problems + safety.sign_off_problems(defn)
