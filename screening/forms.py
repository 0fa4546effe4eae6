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

from flask_wtf import FlaskForm
from wtforms import Field, RadioField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields import BooleanField, EmailField, SelectChoice, TelField

from .questionnaire import QTYPES, AnswerError, Definition, Question, Section

DMY = re.compile(r"^\s*(\d{1,2})\s*[/.\- ]\s*(\d{1,2})\s*[/.\- ]\s*(\d{4})\s*$")


class SectionForm(FlaskForm):
    """Base of every section's form: CSRF, and the fields added per question."""


class TextDateField(StringField):
    """A date typed or picked (`<input type=date>` sends YYYY-MM-DD; text fallback D/M/Y)."""


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
        raise AnswerError("Enter a whole number, using digits, like 12")
    return int(text)


def _scale(data: Any) -> int | None:
    """A chosen point on a scale."""
    if data in (None, ""):
        return None
    try:
        return int(data)
    except ValueError:
        raise AnswerError("Select a number on the scale") from None


def _date(data: Any) -> str | None:
    """YYYY-MM-DD from a date input, or a day/month/year typed into a text box."""
    text = (data or "").strip()
    if not text:
        return None
    match = DMY.match(text)
    if match:
        day, month, year = (int(part) for part in match.groups())
        try:
            return dt.date(year, month, day).isoformat()
        except ValueError:
            raise AnswerError("Enter a real date, for example 27 3 1980") from None
    return text


def _ticked(data: Any) -> str | None:
    """A ticked consent box is "yes"."""
    return "yes" if data else None


@dataclass(frozen=True)
class FieldType:
    """How one question type is carried by a WTForms field."""

    make: Callable[[Question], Field]
    from_form: Callable[[Any], Any]
    to_form: Callable[[Any], Any] = lambda answer: answer
    prompt: str = "Answer the question"


def _options(q: Question) -> list[SelectChoice]:
    """The question's options as WTForms declares them (tuples are deprecated in WTForms 3.3)."""
    return [SelectChoice(value, label) for value, label in q.choices]


def _radios(q: Question) -> Field:
    return RadioField(q.text, choices=_options(q), validate_choice=False)


def _checkboxes(q: Question) -> Field:
    return SelectMultipleField(q.text, choices=_options(q), validate_choice=False)


FIELD_TYPES: dict[str, FieldType] = {
    "yes_no": FieldType(_radios, _choice, prompt="Select yes or no"),
    "single_choice": FieldType(_radios, _choice, prompt="Select an answer"),
    "multi_choice": FieldType(_checkboxes, lambda data: list(data or []) or None, prompt="Select at least one"),
    "body_map": FieldType(_checkboxes, lambda data: list(data or []) or None, prompt="Mark at least one area"),
    "text": FieldType(lambda q: StringField(q.text), _text, prompt="Enter an answer"),
    "textarea": FieldType(lambda q: TextAreaField(q.text), _text, prompt="Enter an answer"),
    "number": FieldType(
        lambda q: StringField(q.text), _whole_number, lambda a: "" if a is None else str(a), "Enter a number"
    ),
    "scale": FieldType(_radios, _scale, lambda a: None if a is None else str(a), "Select a number"),
    "date": FieldType(lambda q: TextDateField(q.text), _date, prompt="Enter a date"),
    "email": FieldType(lambda q: EmailField(q.text), _text, prompt="Enter an email address"),
    "phone": FieldType(lambda q: TelField(q.text), _text, prompt="Enter a phone number"),
    "consent": FieldType(lambda q: BooleanField(q.text), _ticked, lambda a: a == "yes", "Tick the box to agree"),
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


def posted_answer(q: Question, form: SectionForm) -> Any:
    """The answer posted for `q` (raw, not yet checked); AnswerError when unreadable."""
    return FIELD_TYPES[q.type].from_form(form[q.id].data)


def required_message(q: Question) -> str:
    """What to tell a patient who left a required question empty: the question's own
    `error:` from the file (GOV.UK style), else the type's prompt and the question's label."""
    if q.error:
        return q.error
    return f"{FIELD_TYPES[q.type].prompt}: {q.label}"
