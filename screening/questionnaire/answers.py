"""Checking a set of answers against a definition."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .qtypes import AnswerError

if TYPE_CHECKING:
    from .schema import Definition


def coerce_answers(defn: Definition, answers: Mapping[str, Any], today: dt.date | None = None) -> dict[str, Any]:
    """Check a mapping of question id -> answer (any subset); raise KeyError or AnswerError.

    Errors name the question. Unanswered entries are left out of the result.
    """
    result = {}
    for qid, value in answers.items():
        q = defn.questions.get(qid)
        if q is None:
            raise UnknownQuestion(qid)
        try:
            coerced = q.coerce(value, today)
        except AnswerError as exc:
            raise InvalidAnswer(qid, value, str(exc)) from exc
        if coerced is not None:
            result[qid] = coerced
    return result


class UnknownQuestion(KeyError):
    """An answer names a question the questionnaire does not have."""

    def __init__(self, qid: str) -> None:
        super().__init__(qid)
        self.qid = qid

    def __str__(self) -> str:
        return f"unknown question id {self.qid!r}"


class InvalidAnswer(ValueError):
    """An answer a question cannot take."""

    def __init__(self, qid: str, value: Any, message: str) -> None:
        super().__init__(f"{qid}: invalid answer {value!r}: {message}")
        self.qid = qid
