"""Checks of the answers a patient gave before: the `first_visit.<id>` and `last_check.<id>`
names in conditions, and the earlier answers a test case gives.

Reports only: the definition is not changed. checks.py calls these from its walk.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from . import conditions as cond
from .problems import Path, Problem
from .qtypes import AnswerError
from .schema import Definition, Question


@dataclass(frozen=True)
class Named:
    """What an earlier-answer name refers to: a question, or a derived value (no question)."""

    question: Question | None
    derived: bool


def source(defn: Definition, scope: str) -> Definition | None:
    """The questionnaire whose answers a scope names (None: not known here)."""
    return defn if scope == "last_check" else defn.first_visit_definition


def all_questions(defn: Definition) -> dict[str, Question]:
    """Every question of a file by id (not only those a walk has met so far)."""
    return {q.id: q for s in defn.sections for q in s.questions}


def resolve(defn: Definition, name: str) -> Named | str | None:
    """What `first_visit.<id>` or `last_check.<id>` names, for its values to be checked; or
    what is wrong with the name (a message); None when its questionnaire is not known here
    (a stored version: checked against its first visit when it was served)."""
    scope, qid = cond.scope_of(name) or ("", "")
    if scope not in cond.SCOPES:
        return f"'{name}': '{scope}' is not a set of earlier answers (expected {' or '.join(cond.SCOPES)})"
    if scope == "first_visit" and defn.first_visit is None:
        return (
            f"'{name}' names a first-visit answer, but this file names no first-visit questionnaire"
            " (first_visit: ../questions.yaml)"
        )
    earlier = source(defn, scope)
    if earlier is None:
        return None
    if qid in earlier.derived:
        return Named(None, derived=True)
    q = earlier.questions.get(qid) if earlier is not defn else all_questions(defn).get(qid)
    if q is None:
        where = "this questionnaire" if scope == "last_check" else f"the first-visit questionnaire ({defn.first_visit})"
        return f"'{qid}' is not a question or derived value of {where}"
    return Named(q, derived=False)


def case_answer_problems(
    defn: Definition, path: Path, scope: str, given: dict[str, Any], today: dt.date | None
) -> list[Problem]:
    """A case's earlier answers are valid answers to the questionnaire they came from."""
    if scope not in cond.SCOPES:
        return [Problem(path, f"'{scope}' is not a set of earlier answers (expected {' or '.join(cond.SCOPES)})")]
    if scope == "first_visit" and defn.first_visit is None:
        return [Problem(path, "this file names no first-visit questionnaire (first_visit: ../questions.yaml)")]
    earlier = source(defn, scope)
    if earlier is None:
        return []
    questions = all_questions(defn) if earlier is defn else earlier.questions
    problems = []
    for qid, value in given.items():
        q = questions.get(qid)
        if q is None:
            problems.append(
                Problem(path + (qid,), f"'{qid}' is not a question of the {scope.replace('_', ' ')} questionnaire")
            )
            continue
        try:
            q.coerce(value, today)
        except AnswerError as exc:
            problems.append(Problem(path + (qid,), f"{value!r} is not a valid answer to '{qid}': {exc}"))
    return problems
