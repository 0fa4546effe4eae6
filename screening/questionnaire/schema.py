"""The structure of a questionnaire (pydantic): unknown keys are errors, nothing changes once loaded."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from .qtypes import DATE_RE, QTYPES, QUESTION_TYPES, QuestionType, coerce_answer
from .vocabulary import LEVELS, OUTCOMES

RESERVED_SECTION_IDS = frozenset({"check", "submit", "done", "restart"})

IDENT = r"^[a-z][a-z0-9_]*$"
SLUG = r"^[a-z][a-z0-9-]*$"
SOURCE_REF_RE = re.compile(r"\bS\d+\b")


class _Strict(BaseModel):
    """Unknown keys are errors; the definition never changes once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True)


Ident = Field(pattern=IDENT, max_length=64)
Text = Field(min_length=1)


class Option(_Strict):
    """One answer a choice question offers."""

    value: str = Field(pattern=IDENT, max_length=64)
    label: str = Text
    hint: str | None = None


class FlagDef(_Strict):
    """A flag raised when a condition on one answer holds."""

    when: Any
    level: Literal[LEVELS]  # type: ignore[valid-type]
    advice: str | None = None
    reason: str = Text
    source: str = Text
    # What the patient is told under "Why" on the outcome page, and what to do next
    # (contraindications and precautions; the level's own next step when not given).
    patient_reason: str | None = None
    next_step: str | None = None
    _when: Any = PrivateAttr(default=None)

    @property
    def condition(self) -> Any:
        """The parsed `when`."""
        return self._when


class Question(_Strict):
    """One question on a page."""

    id: str = Ident
    text: str = Text
    short: str | None = None
    hint: str | None = None
    autocomplete: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9 -]*$")
    type: Literal[QUESTION_TYPES]  # type: ignore[valid-type]
    required: bool = True
    options: list[Option] | None = None
    min: int | float | str | None = None
    max: int | float | str | None = None
    min_label: str | None = None
    max_label: str | None = None
    max_length: int | None = Field(default=None, gt=0, le=100_000)
    # The message when a required answer is missing, written for this question
    # (GOV.UK style: "Select yes if ..."); a general one is used when not given.
    error: str | None = None
    show_if: Any = None
    flags: list[FlagDef] = []
    _show_if: Any = PrivateAttr(default=None)
    _section: str = PrivateAttr(default="")

    @property
    def condition(self) -> Any:
        """The parsed `show_if`, or None when always shown."""
        return self._show_if

    @property
    def section_id(self) -> str:
        """The id of the page this question is on."""
        return self._section

    @property
    def label(self) -> str:
        """The short name for summaries, or the question itself."""
        return self.short or self.text

    @property
    def limit(self) -> int | None:
        """The longest text this question accepts."""
        return self.max_length or QTYPES[self.type].max_length

    @property
    def kind(self) -> QuestionType:
        """What this question's type means (see `qtypes`)."""
        return QTYPES[self.type]

    @property
    def widget(self) -> str:
        """The template macro that draws this question."""
        return QTYPES[self.type].widget

    @property
    def choices(self) -> list[tuple[str, str]]:
        """(value, label) pairs of the answers this question offers."""
        return QTYPES[self.type].choices(self)

    @property
    def values(self) -> list[Any]:
        """Every answer a closed question can take (empty for open questions)."""
        return QTYPES[self.type].values(self)

    @property
    def low(self) -> Any:
        """The smallest answer allowed, if any."""
        return QTYPES[self.type].low(self)

    @property
    def high(self) -> Any:
        """The largest answer allowed, if any."""
        return QTYPES[self.type].high(self)

    def coerce(self, value: Any, today: dt.date | None = None) -> Any:
        """Check one answer to this question and return it in its stored form.

        Raises AnswerError with a message a patient can act on. None means unanswered.
        """
        return coerce_answer(self, value, today)


class Section(_Strict):
    """One page of the form."""

    id: str = Ident
    title: str = Text
    intro: str | None = None
    questions: list[Question] = Field(min_length=1)


class Derived(_Strict):
    """A value computed from answers, usable in conditions (for now: an age)."""

    years_since: str = Ident
    flags: list[FlagDef] = []


class Rule(FlagDef):
    """A flag that depends on more than one answer: a flag with an id of its own, whose
    `when` names the answers it tests."""

    id: str = Ident


class Case(_Strict):
    """A test case embedded in the file: answers in; the outcome, and whatever else it
    states (the urgent advice, the flag ids, the answers dropped), out."""

    name: str = Text
    answers: dict[str, Any]
    today: str | None = Field(default=None, pattern=DATE_RE.pattern)
    # The patient's earlier answers in scope, by scope: {first_visit: {cancer_history: "yes"}}.
    earlier: dict[str, dict[str, Any]] | None = None
    outcome: Literal[OUTCOMES]  # type: ignore[valid-type]
    advice: str | None = None
    flags: list[str] | None = None
    dropped: list[str] | None = None


class SignOff(_Strict):
    """A clinician's review of the safety-critical text, and a fingerprint of what they read."""

    by: str = Text
    date: str = Field(pattern=DATE_RE.pattern)  # not `on:`, which YAML 1.1 tools read as true
    fingerprint: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")


class Safety(_Strict):
    """What protects patients from a harmful edit: the red-flag questions, always asked,
    and the clinical sign-off of their wording and of the urgent advice."""

    red_flags: list[str] = Field(min_length=1)
    sign_off: SignOff | None = None


class FaqItem(_Strict):
    """A question a patient often asks, with its answer."""

    question: str = Text
    answer: str = Text


class Information(_Strict):
    """Pages of information for patients."""

    before_session: str = Text
    aftercare: str = Text
    faq: list[FaqItem] = []


class OutcomeText(_Strict):
    """What the patient is told for one outcome."""

    title: str = Text
    message: str = Text


class UrgentText(OutcomeText):
    """The urgent outcome: its message and the advice each urgent flag can name."""

    advice: dict[str, str] = Field(min_length=1)


class Outcomes(_Strict):
    """The patient's message for each outcome."""

    urgent: UrgentText
    not_suitable: OutcomeText
    review: OutcomeText
    suitable: OutcomeText


class Clinic(_Strict):
    """How patients reach the clinic."""

    name: str | None = None
    phone: str | None = None
    email: str | None = None


class About(_Strict):
    """What the questionnaire is."""

    id: str = Field(pattern=SLUG, max_length=64)
    title: str = Text
    intro: str = Text
    privacy: str = Text
    # One line at the foot of every patient page: where to get help now (local numbers).
    help_now: str | None = None
    clinic: Clinic = Clinic()


class Definition(_Strict):
    """A whole questionnaire, validated."""

    questionnaire: About
    # The first-visit questionnaire this one builds on (a path relative to this file): its
    # questions can be used here by id (`use:`), and its answers named as `first_visit.<id>`.
    first_visit: str | None = None
    sources: dict[str, str] = {}
    sections: list[Section] = Field(min_length=1)
    derived: dict[str, Derived] = {}
    rules: list[Rule] = []
    tests: list[Case] = []
    information: Information
    outcomes: Outcomes
    safety: Safety | None = None
    _version: str = PrivateAttr(default="")
    _raw: Any = PrivateAttr(default=None)
    _questions: dict[str, Question] = PrivateAttr(default_factory=dict)
    _plan: Any = PrivateAttr(default=None)
    _lines: dict[tuple[str | int, ...], int] = PrivateAttr(default_factory=dict)  # path -> line, for messages
    # The first-visit questionnaire, when loaded from files (None for a stored version).
    _first_visit: Any = PrivateAttr(default=None)
    _source: str = PrivateAttr(default="")

    @property
    def version(self) -> str:
        """A hash of the definition: submissions record which version they answered."""
        return self._version

    @property
    def raw(self) -> Any:
        """The definition as plain data, for storing alongside submissions."""
        return self._raw

    @property
    def questions(self) -> Mapping[str, Question]:
        """Every question by id, in the order asked."""
        return self._questions

    @property
    def plan(self) -> Any:
        """The compiled form `rules.assess` walks (see `link.Plan`)."""
        return self._plan

    @property
    def first_visit_definition(self) -> Definition | None:
        """The first-visit questionnaire this one builds on, as loaded with it (None for a stored version)."""
        return self._first_visit  # type: ignore[no-any-return]

    @property
    def source(self) -> str:
        """The file it was read from (or the stored version's name), for messages."""
        return self._source

    @property
    def earlier_names(self) -> tuple[str, ...]:
        """The earlier answers (`first_visit.cancer_history`) its conditions name."""
        return self._plan.earlier if self._plan is not None else ()

    def line_of(self, path: tuple[str | int, ...]) -> int | None:
        """The line in the file of the deepest part of `path` it has (None for stored versions)."""
        for end in range(len(path), -1, -1):
            if path[:end] in self._lines:
                return int(self._lines[path[:end]])
        return None

    def section(self, section_id: str) -> Section | None:
        """The section with this id, or None."""
        return next((s for s in self.sections if s.id == section_id), None)

    def question_flags(self) -> Iterator[tuple[str, int, FlagDef]]:
        """(owner id, index, flag) for every flag on a question or derived value."""
        for q in self.questions.values():
            for i, flag in enumerate(q.flags):
                yield q.id, i, flag
        for name, d in self.derived.items():
            for i, flag in enumerate(d.flags):
                yield name, i, flag

    def urgent_advice_order(self) -> list[str]:
        """Urgent advice keys, most urgent first."""
        return list(self.outcomes.urgent.advice)
