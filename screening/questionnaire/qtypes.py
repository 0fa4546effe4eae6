"""Question types: one registry entry says everything a type means.

Each `QuestionType` defines, in one place, the YAML keys the type takes, how an answer
is checked and stored (`coerce`), the answers it offers (`choices`, `values`, `low`,
`high`), how an answer reads to a patient or a clinician (`display`), its CSV cell, the
template macro that draws it (`widget`), and a valid random answer for seeding and
fuzzing (`sample`, from samples.py). Adding a type is one entry in `QTYPES` and one macro in
templates/_macros.html; `forms.py` refuses to import if it has no field for a type.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import bodymap, samples

if TYPE_CHECKING:
    from .schema import Question

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]{2,}$")
PHONE_RE = re.compile(r"^\+?[0-9 ()\-.]+$")
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class AnswerError(ValueError):
    """An answer a question cannot take; the message is written for the patient."""


def resolve_date(value: Any, today: dt.date | None = None) -> str | None:
    """A date bound as ISO text: `today` becomes today's date."""
    if value == "today":
        return (today or dt.date.today()).isoformat()
    return None if value is None else str(value)


def parse_date(text: object) -> dt.date | None:
    """A real calendar date from YYYY-MM-DD text, or None."""
    if not isinstance(text, str) or not DATE_RE.match(text):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


# --- What each type offers ---------------------------------------------------------


def _options(q: Question) -> list[tuple[str, str]]:
    """The (value, label) pairs a choice question lists (none for open questions)."""
    return [(o.value, o.label) for o in q.options or []]


def _choice_values(q: Question) -> list[Any]:
    """Every answer a closed question can take: the values of its choices."""
    return [value for value, _ in q.choices]


def _scale_values(q: Question) -> list[Any]:
    """Every point of a scale."""
    return list(range(q.low, q.high + 1))


def _given_min(q: Question) -> Any:
    return q.min


def _given_max(q: Question) -> Any:
    return q.max


# --- Checking an answer ------------------------------------------------------------


def _one_of(message: str) -> Callable[[Question, Any, dt.date | None], Any]:
    """A single choice: one of the question's values."""

    def coerce(q: Question, value: Any, today: dt.date | None) -> Any:
        if value not in q.values:
            raise AnswerError(message)
        return value

    return coerce


def _some_of(message: str) -> Callable[[Question, Any, dt.date | None], Any]:
    """Several choices: a list of the question's values, kept in the options' order."""

    def coerce(q: Question, value: Any, today: dt.date | None) -> Any:
        values = q.values
        if not isinstance(value, list) or any(v not in values for v in value):
            raise AnswerError(message)
        return [v for v in values if v in value]  # the options' order, no repeats

    return coerce


def _consent(q: Question, value: Any, today: dt.date | None) -> Any:
    if value != "yes":
        raise AnswerError("Tick the box to agree")
    return value


def _whole_number(value: Any) -> int:
    """An int from an int or a whole float; anything else is an error."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise AnswerError("Enter a number")
    if isinstance(value, float) and not value.is_integer():
        raise AnswerError("Enter a whole number")
    return int(value)


def _number(q: Question, value: Any, today: dt.date | None) -> Any:
    number = _whole_number(value)
    low, high = q.low, q.high
    if (low is not None and number < low) or (high is not None and number > high):
        raise AnswerError(_range_message(low, high))
    return number


def _range_message(low: Any, high: Any) -> str:
    """'Enter a number between 0 and 10', or the one-sided form."""
    if low is not None and high is not None:
        return f"Enter a whole number between {low} and {high}"
    if low is not None:
        return f"Enter a whole number of {low} or more"
    return f"Enter a whole number of {high} or less"


def _typed(value: Any) -> str:
    """Typed text, stripped; control characters refused."""
    if not isinstance(value, str):
        raise AnswerError("Enter text")
    if CONTROL_RE.search(value):
        # NUL and other control characters cannot be typed, and PostgreSQL cannot store NUL.
        raise AnswerError("Your answer has a hidden character in it: please type it again")
    return value.strip()


def _within_limit(q: Question, value: str) -> str:
    """Text no longer than the question's limit."""
    limit = q.limit
    if limit is not None and len(value) > limit:
        raise AnswerError(f"Use {limit} characters or fewer (you used {len(value)})")
    return value


def _text(q: Question, value: Any, today: dt.date | None) -> Any:
    return _within_limit(q, _typed(value)) or None


def _email(q: Question, value: Any, today: dt.date | None) -> Any:
    value = _within_limit(q, _typed(value))
    if not EMAIL_RE.match(value):
        raise AnswerError("Enter an email address like name@example.com")
    return value or None


def _phone(q: Question, value: Any, today: dt.date | None) -> Any:
    value = _within_limit(q, _typed(value))
    if not PHONE_RE.match(value) or not 7 <= sum(c.isdigit() for c in value) <= 15:
        raise AnswerError("Enter a phone number, like 07700 900 982 or +44 7700 900 982")
    return value or None


def _date(q: Question, value: Any, today: dt.date | None) -> Any:
    """A real date within the question's limits, as YYYY-MM-DD."""
    value = _typed(value)
    date = parse_date(value)
    if date is None:
        raise AnswerError("Enter a real date, for example 27 3 1980")
    low, high = resolve_date(q.min, today), resolve_date(q.max, today)
    if high is not None and value > high:
        raise AnswerError(
            "The date must be today or in the past" if q.max == "today" else f"The date must be on or before {high}"
        )
    if low is not None and value < low:
        raise AnswerError(f"The date must be on or after {low}")
    return date.isoformat()


# --- How an answer reads -----------------------------------------------------------


def N_(text: str) -> str:
    """Marks a word written here for the pages' catalogs (`make messages`)."""
    return text


def _english(text: str) -> str:
    return text


def _english_date(date: dt.date) -> str:
    return f"{date.day} {date:%B %Y}"


# The words written here rather than in a questionnaire file (yes and no, the body map's
# areas, "out of") and how a date reads: English in this module, which knows no other
# language and no Flask; the app sets both for the patient's page (screening/i18n/).
LANGUAGE: dict[str, Callable[..., str]] = {"words": _english, "date": _english_date}


def _t(text: str) -> str:
    """A word of this module in the page's language."""
    return LANGUAGE["words"](text)


def _as_text(q: Question, answer: Any) -> str:
    return str(answer)


def _label(q: Question, answer: Any) -> str:
    return dict(q.choices).get(answer, str(answer))


def _labels(q: Question, answer: Any) -> str:
    labels = dict(q.choices)
    return ", ".join(labels.get(v, str(v)) for v in answer)


def _out_of(q: Question, answer: Any) -> str:
    return _t(N_("%(answer)s out of %(high)s")) % {"answer": answer, "high": q.high}


def _agreed(q: Question, answer: Any) -> str:
    return _t(N_("Yes, I agree"))


def _long_date(q: Question, answer: Any) -> str:
    date = parse_date(answer)
    return LANGUAGE["date"](date) if date else str(answer)


def _cell(q: Question, answer: Any) -> str:
    """The stored value as CSV text (codes, not labels: a spreadsheet filters on them)."""
    return str(answer)


def _cells(q: Question, answer: Any) -> str:
    return "; ".join("" if v is None else str(v) for v in answer)


# --- The registry ------------------------------------------------------------------


@dataclass(frozen=True)
class QuestionType:
    """Everything one question type means, from YAML to CSV."""

    name: str
    widget: str  # the macro in templates/_macros.html that draws it
    coerce: Callable[[Question, Any, dt.date | None], Any]  # a non-blank answer -> stored form
    sample: Callable[[Question, random.Random, dt.date], Any]
    keys: frozenset[str] = frozenset()  # the optional YAML keys it takes
    choices: Callable[[Question], list[tuple[str, str]]] = _options
    values: Callable[[Question], list[Any]] = _choice_values
    low: Callable[[Question], Any] = _given_min
    high: Callable[[Question], Any] = _given_max
    display: Callable[[Question, Any], str] = _as_text
    csv: Callable[[Question, Any], str] = _cell
    max_length: int | None = None  # the default limit of typed text
    has_options: bool = False  # takes `options` in YAML, and needs at least one
    answer: str = "choice"  # what conditions compare: choice | number | date | text
    html: dict[str, str] = field(default_factory=dict)  # what the widget's macro needs

    def display_answer(self, q: Question, answer: Any) -> str:
        """An answer as the patient would say it ("" when unanswered)."""
        return "" if answer is None else self.display(q, answer)

    def csv_cell(self, q: Question, answer: Any) -> str:
        """An answer as a CSV cell ("" when unanswered), before any spreadsheet escaping."""
        return "" if answer is None else self.csv(q, answer)


def _text_type(
    name: str, widget: str, coerce: Callable[..., Any], sample: Callable[..., Any], limit: int, **html: str
) -> QuestionType:
    """A typed-in answer."""
    return QuestionType(
        name, widget, coerce, sample, frozenset({"max_length"}) if name in ("text", "textarea") else frozenset(),
        choices=lambda q: [], values=lambda q: [], max_length=limit, answer="text", html=html,
    )  # fmt: skip


# The answers of the types whose choices are fixed, apart from their words: checking an
# answer needs only these, never the words in the page's language.
YES_NO = ("yes", "no")
BODY_MAP_CODES = tuple(r.code for r in bodymap.REGIONS)

QTYPES: dict[str, QuestionType] = {
    t.name: t
    for t in (
        QuestionType(
            "yes_no", "radios", _one_of("Select yes or no"), samples.pick,
            choices=lambda q: [("yes", _t(N_("Yes"))), ("no", _t(N_("No")))], values=lambda q: list(YES_NO),
            display=_label, html={"group": "radios radios--inline"},
        ),
        QuestionType(
            "single_choice", "radios", _one_of("Select one of the options"), samples.pick, frozenset({"options"}),
            display=_label, has_options=True, html={"group": "radios"},
        ),
        QuestionType(
            "multi_choice", "checkboxes", _some_of("Select from the options given"), samples.pick_some,
            frozenset({"options"}), display=_labels, csv=_cells, has_options=True,
        ),
        _text_type("text", "input", _text, samples.sample_text, 200, input_type="text"),
        _text_type("textarea", "textarea", _text, samples.sample_text, 2000),
        QuestionType(
            "number", "input", _number, samples.sample_number, frozenset({"min", "max"}),
            choices=lambda q: [], values=lambda q: [], answer="number",
            html={"input_type": "text", "inputmode": "numeric"},
        ),
        QuestionType(
            "scale", "scale", _number, samples.pick, frozenset({"min", "max", "min_label", "max_label"}),
            choices=lambda q: [(str(n), str(n)) for n in range(q.low, q.high + 1)], values=_scale_values,
            low=lambda q: 0 if q.min is None else q.min, high=lambda q: 10 if q.max is None else q.max,
            display=_out_of, answer="number",
        ),
        QuestionType(
            "date", "input", _date, samples.sample_date, frozenset({"min", "max"}),
            choices=lambda q: [], values=lambda q: [], low=lambda q: resolve_date(q.min),
            high=lambda q: resolve_date(q.max), display=_long_date, answer="date", html={"input_type": "date"},
        ),
        _text_type(
            "email", "input", _email, samples.sample_email, 254,
            input_type="email", autocomplete="email", spellcheck="false",
        ),
        _text_type(
            "phone", "input", _phone, samples.sample_phone, 30,
            input_type="tel", autocomplete="tel", spellcheck="false",
        ),
        QuestionType(
            "consent", "consent", _consent, samples.sample_consent,
            choices=lambda q: [], values=lambda q: ["yes"], display=_agreed,
        ),
        QuestionType(
            "body_map", "body_map", _some_of("Mark areas on the body map"), samples.pick_some,
            choices=lambda q: [(r.code, _t(r.label)) for r in bodymap.REGIONS], values=lambda q: list(BODY_MAP_CODES),
            display=_labels, csv=_cells,
        ),
    )
}  # fmt: skip

QUESTION_TYPES = tuple(QTYPES)
CHOICE_TYPES = tuple(name for name, t in QTYPES.items() if t.has_options)
NUMERIC_TYPES = tuple(name for name, t in QTYPES.items() if t.answer == "number")
# Which optional keys each question type takes; a key given to another type is an error.
TYPE_KEYS: dict[str, frozenset[str]] = {name: t.keys for name, t in QTYPES.items()}
TYPED_KEYS = frozenset().union(*TYPE_KEYS.values())
DEFAULT_MAX_LENGTH = {name: t.max_length for name, t in QTYPES.items() if t.max_length is not None}


def coerce_answer(q: Question, value: Any, today: dt.date | None = None) -> Any:
    """Check `value` as an answer to `q`; return the stored form (None: unanswered)."""
    if value is None or value == "" or value == []:
        return None
    return QTYPES[q.type].coerce(q, value, today)


def display(q: Question, answer: Any) -> str:
    """An answer as the patient would say it (the clinician's record reads it the same way)."""
    return QTYPES[q.type].display_answer(q, answer)


def csv_cell(q: Question, answer: Any) -> str:
    """An answer as CSV text (codes), before any spreadsheet escaping."""
    return QTYPES[q.type].csv_cell(q, answer)


def sample(q: Question, rng: random.Random, today: dt.date | None = None) -> Any:
    """A valid answer to `q`, at random (for seeding and fuzzing)."""
    return QTYPES[q.type].sample(q, rng, today or dt.date.today())
