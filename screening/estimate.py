"""How long a typical patient takes to fill the form in, worked out from the file itself.

The start page promises a time, so the figure must be honest: reading at 200 words a
minute, plus 4 seconds an answer, for the pages and questions that a patient with
nothing to flag is shown (the questions of the file's fullest "suitable" case with no
flags, or, without such a case, every question that has no `show_if`).

Pure: no Flask, no database.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .questionnaire import Definition, coerce_answers
from .rules import assess

WORDS_PER_MINUTE = 200
SECONDS_PER_ANSWER = 4
_WORD = re.compile(r"[A-Za-z0-9'&]+")
_cache: dict[str, Estimate] = {}


@dataclass(frozen=True)
class Estimate:
    """The reading and answering a typical patient does."""

    words: int
    answers: int

    @property
    def seconds(self) -> float:
        """Reading plus answering time."""
        return self.words * 60 / WORDS_PER_MINUTE + self.answers * SECONDS_PER_ANSWER

    @property
    def minutes(self) -> int:
        """Whole minutes, rounded up (never promise less than it takes)."""
        return max(1, math.ceil(self.seconds / 60))

    def describe(self) -> str:
        """One line for check-questions."""
        return (
            f"Estimated time for a typical patient: about {self.minutes} minutes "
            f"({self.words} words to read at {WORDS_PER_MINUTE} a minute, "
            f"{self.answers} answers at {SECONDS_PER_ANSWER} seconds each)"
        )


def words(text: str | None) -> int:
    """How many words a patient reads in this text (markdown links count their words only)."""
    return len(_WORD.findall(re.sub(r"\]\([^)]*\)", "]", text or "")))


def shown_questions(defn: Definition) -> set[str]:
    """The questions a patient with no flags is shown."""
    clear = [c for c in defn.tests if c.outcome == "suitable" and not c.flags and c.flags is not None]
    if clear:
        case = max(clear, key=lambda c: len(c.answers))
        return set(assess(defn, coerce_answers(defn, case.answers), None).shown)
    return {q.id for s in defn.sections for q in s.questions if q.show_if is None}


def estimate(defn: Definition) -> Estimate:
    """The estimate for this definition (worked out once per version)."""
    cached = _cache.get(defn.version)
    if cached is not None:
        return cached
    shown = shown_questions(defn)
    about = defn.questionnaire
    count = words(about.title) + words(about.intro) + words(about.privacy)
    answers = 0
    for section in defn.sections:
        asked = [q for q in section.questions if q.id in shown]
        if not asked:
            continue
        count += words(section.title) + words(section.intro)
        for q in asked:
            answers += 1
            count += words(q.text) + words(q.hint) + words(q.min_label) + words(q.max_label)
            count += sum(words(o.label) + words(o.hint) for o in q.options or ())
            if q.type == "yes_no":
                count += 2
    result = Estimate(count, answers)
    if defn.version:
        _cache[defn.version] = result
    return result
