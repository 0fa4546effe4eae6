"""A questionnaire section -> a WTForms form class, through an explicit map of types.

Each question type of the registry (`questionnaire.qtypes.QTYPES`) has here the WTForms
field that carries it, how a stored answer fills the field, and how the posted data
becomes an answer; importing this module fails if a registered type has no field.
Checking the answer itself is the questionnaire's job (`Question.coerce`), so the web
form, the `evaluate` command and the embedded test cases accept and refuse exactly the
same answers.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext, lazy_gettext  # type: ignore[import-untyped]
from flask_wtf import FlaskForm
from wtforms import Field, RadioField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields import BooleanField, EmailField, SelectChoice, TelField
from wtforms.utils import unset_value

from . import memorable_date
from .questionnaire import QTYPES, AnswerError, Definition, Question, Section
from .questionnaire.qtypes import parse_date, resolve_date


class SectionForm(FlaskForm):
    """Base of every section's form: CSRF, and the fields added per question."""


class MemorableDateField(Field):
    """A date as three boxes, posted as `<name>-day`, `<name>-month` and `<name>-year`
    (the GOV.UK memorable date). Its data is the three boxes as typed; a date posted in
    one box as `<name>` (YYYY-MM-DD or 27/3/1980) is understood too. `bad_parts` names
    the boxes to mark after a failed `answer`."""

    bad_parts: tuple[str, ...] = ()

    def process(self, formdata: Any, data: Any = unset_value, extra_filters: Any = None) -> None:
        self.process_errors: list[Any] = []
        if data is unset_value:
            data = self.default() if callable(self.default) else self.default
        self.object_data = data
        boxes: dict[str, str] | None = None
        if formdata is not None:
            names = [f"{self.name}-{part}" for part in memorable_date.PARTS]
            if any(name in formdata for name in names):
                boxes = {part: formdata.get(f"{self.name}-{part}", "") for part in memorable_date.PARTS}
            elif self.name in formdata:
                boxes = memorable_date.split(formdata.get(self.name))
        if boxes is None:
            boxes = data if isinstance(data, dict) else memorable_date.split(data)
        self.data = boxes

    def answer(self, q: Question, today: dt.date | None) -> str | None:
        """The date as YYYY-MM-DD, None when all three boxes are empty; AnswerError saying
        which part is wrong otherwise (and `bad_parts` set)."""
        try:
            date = memorable_date.parse(
                self.data or {},
                label=q.label,
                earliest=parse_date(resolve_date(q.min, today)),
                latest=parse_date(resolve_date(q.max, today)),
                past_only=q.max == "today",
            )
        except memorable_date.DateProblem as problem:
            self.bad_parts = problem.parts
            raise AnswerError(date_message(problem)) from None
        return date.isoformat() if date else None


def _text(data: Any) -> str | None:
    """Posted text, stripped; None when blank."""
    return (data or "").strip() or None


def _choice(data: Any) -> str | None:
    """A posted radio value, None when none was chosen."""
    return data or None


def _whole_number(data: Any) -> int | None:
    """A typed whole number; AnswerError for anything else."""
    text = (data or "").strip().replace(",", "")
    if not text:
        return None
    if not re.fullmatch(r"[+-]?\d+", text):
        raise AnswerError(gettext("Enter a whole number, using digits, like 12"))
    return int(text)


def _scale(data: Any) -> int | None:
    """A chosen point on a scale."""
    if data in (None, ""):
        return None
    try:
        return int(data)
    except ValueError:
        raise AnswerError(gettext("Select a number on the scale")) from None


def _boxes_date(data: Any) -> str | None:
    """YYYY-MM-DD from the three boxes (limits are the question's to check)."""
    try:
        date = memorable_date.parse(data if isinstance(data, dict) else memorable_date.split(data))
    except memorable_date.DateProblem as problem:
        raise AnswerError(date_message(problem)) from None
    return date.isoformat() if date else None


def _ticked(data: Any) -> str | None:
    """A ticked consent box is "yes"."""
    return "yes" if data else None


@dataclass(frozen=True)
class FieldType:
    """How one question type is carried by a WTForms field."""

    make: Callable[[Question], Field]
    from_form: Callable[[Any], Any]
    to_form: Callable[[Any], Any] = lambda answer: answer
    prompt: Any = "Answer the question"  # a lazy string: in the page's language


def _options(q: Question) -> list[SelectChoice]:
    """The question's options as WTForms declares them (tuples are deprecated in WTForms 3.3)."""
    return [SelectChoice(value, label) for value, label in q.choices]


def _radios(q: Question) -> Field:
    return RadioField(q.text, choices=_options(q), validate_choice=False)


def _checkboxes(q: Question) -> Field:
    return SelectMultipleField(q.text, choices=_options(q), validate_choice=False)


FIELD_TYPES: dict[str, FieldType] = {
    "yes_no": FieldType(_radios, _choice, prompt=lazy_gettext("Select yes or no")),
    "single_choice": FieldType(_radios, _choice, prompt=lazy_gettext("Select an answer")),
    "multi_choice": FieldType(
        _checkboxes, lambda data: list(data or []) or None, prompt=lazy_gettext("Select at least one")
    ),
    "body_map": FieldType(
        _checkboxes, lambda data: list(data or []) or None, prompt=lazy_gettext("Mark at least one area")
    ),
    "text": FieldType(lambda q: StringField(q.text), _text, prompt=lazy_gettext("Enter an answer")),
    "textarea": FieldType(lambda q: TextAreaField(q.text), _text, prompt=lazy_gettext("Enter an answer")),
    "number": FieldType(
        lambda q: StringField(q.text),
        _whole_number,
        lambda a: "" if a is None else str(a),
        lazy_gettext("Enter a number"),
    ),
    "scale": FieldType(_radios, _scale, lambda a: None if a is None else str(a), lazy_gettext("Select a number")),
    "date": FieldType(
        lambda q: MemorableDateField(q.text),
        _boxes_date,
        lambda a: memorable_date.split(a),
        prompt=lazy_gettext("Enter a date"),
    ),
    "email": FieldType(lambda q: EmailField(q.text), _text, prompt=lazy_gettext("Enter an email address")),
    "phone": FieldType(lambda q: TelField(q.text), _text, prompt=lazy_gettext("Enter a phone number")),
    "consent": FieldType(
        lambda q: BooleanField(q.text), _ticked, lambda a: a == "yes", lazy_gettext("Tick the box to agree")
    ),
}


def check_field_types(registry: Mapping[str, Any], fields: Mapping[str, FieldType]) -> None:
    """Every registered question type has a form field, and no field is for an unknown type."""
    missing = sorted(set(registry) - set(fields))
    unknown = sorted(set(fields) - set(registry))
    if missing or unknown:
        raise RuntimeError(
            f"forms.FIELD_TYPES does not match the question types: no field for {missing or 'none'}, "
            f"fields for unknown types {unknown or 'none'}"
        )


check_field_types(QTYPES, FIELD_TYPES)

_FORM_CLASSES: dict[tuple[str, str], type[SectionForm]] = {}


def form_class(defn: Definition, section: Section) -> type[SectionForm]:
    """The form class for one section (built once per questionnaire version)."""
    key = (defn.version, section.id)
    if key not in _FORM_CLASSES:
        fields = {q.id: FIELD_TYPES[q.type].make(q) for q in section.questions}
        _FORM_CLASSES[key] = type(f"{section.id.title().replace('_', '')}Form", (SectionForm,), fields)
    return _FORM_CLASSES[key]


def form_data(section: Section, answers: Mapping[str, Any]) -> dict[str, Any]:
    """Stored answers as the section form's data."""
    return {q.id: FIELD_TYPES[q.type].to_form(answers.get(q.id)) for q in section.questions if q.id in answers}


def posted_answer(q: Question, form: SectionForm, today: dt.date | None = None) -> Any:
    """The answer posted for `q` (raw, not yet checked); AnswerError when unreadable.
    A date's limits are checked here too, so that the message names the wrong box."""
    field = form[q.id]
    if isinstance(field, MemorableDateField):
        return field.answer(q, today)
    return FIELD_TYPES[q.type].from_form(field.data)


def required_message(q: Question) -> str:
    """What to tell a patient who left a required question empty: the question's own
    `error:` from the file (GOV.UK style), else the type's prompt and the question's label."""
    if q.error:
        return q.error
    return f"{FIELD_TYPES[q.type].prompt}: {q.label}"


PART_NAMES = {"day": lazy_gettext("day"), "month": lazy_gettext("month"), "year": lazy_gettext("year")}


def date_message(problem: memorable_date.DateProblem) -> str:
    """A date's problem in the page's language (the English as it was, for an English page)."""
    if problem.key is None:
        return gettext(problem.message)
    values = dict(problem.values)
    if problem.key == "missing":
        names = [str(PART_NAMES[part]) for part in problem.parts]
        values["boxes"] = (
            names[0]
            if len(names) == 1
            else gettext("%(first)s and %(last)s", first=", ".join(names[:-1]), last=names[-1])
        )
    return gettext(memorable_date.MESSAGES[problem.key], **values)
