"""Question types: which keys each takes, and how an answer to it is checked and stored."""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .schema import Question

QUESTION_TYPES = (
    "yes_no",
    "single_choice",
    "multi_choice",
    "text",
    "textarea",
    "number",
    "scale",
    "date",
    "email",
    "phone",
    "consent",
    "body_map",
)
CHOICE_TYPES = ("single_choice", "multi_choice")
NUMERIC_TYPES = ("number", "scale")

# Which optional keys each question type takes; a key given to another type is an error.
TYPE_KEYS: dict[str, frozenset[str]] = {
    "yes_no": frozenset(),
    "single_choice": frozenset({"options"}),
    "multi_choice": frozenset({"options"}),
    "text": frozenset({"max_length"}),
    "textarea": frozenset({"max_length"}),
    "number": frozenset({"min", "max"}),
    "scale": frozenset({"min", "max", "min_label", "max_label"}),
    "date": frozenset({"min", "max"}),
    "email": frozenset(),
    "phone": frozenset(),
    "consent": frozenset(),
    "body_map": frozenset(),
}
TYPED_KEYS = frozenset().union(*TYPE_KEYS.values())
DEFAULT_MAX_LENGTH = {"text": 200, "textarea": 2000, "email": 254, "phone": 30}

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
    return value


def parse_date(text: str) -> dt.date | None:
    """A real calendar date from YYYY-MM-DD text, or None."""
    if not isinstance(text, str) or not DATE_RE.match(text):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def _whole_number(value: Any) -> int:
    """An int from an int or a whole float; anything else is an error."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise AnswerError("Enter a number")
    if isinstance(value, float) and not value.is_integer():
        raise AnswerError("Enter a whole number")
    return int(value)


def coerce_answer(q: Question, value: Any, today: dt.date | None = None) -> Any:
    """Check `value` as an answer to `q`; return the stored form (None: unanswered)."""
    if value is None or value == "" or value == []:
        return None
    t = q.type
    if t in ("yes_no", "single_choice"):
        if value not in q.values:
            raise AnswerError("Select yes or no" if t == "yes_no" else "Select one of the options")
        return value
    if t in ("multi_choice", "body_map"):
        if not isinstance(value, list) or any(v not in q.values for v in value):
            raise AnswerError("Select from the options given" if t == "multi_choice" else "Mark areas on the body map")
        return [v for v in q.values if v in value]  # the options' order, no repeats
    if t == "consent":
        if value != "yes":
            raise AnswerError("Tick the box to agree")
        return value
    if t in NUMERIC_TYPES:
        number = _whole_number(value)
        if (q.low is not None and number < q.low) or (q.high is not None and number > q.high):
            raise AnswerError(_range_message(q.low, q.high))
        return number
    if not isinstance(value, str):
        raise AnswerError("Enter text")
    if CONTROL_RE.search(value):
        # NUL and other control characters cannot be typed, and PostgreSQL cannot store NUL.
        raise AnswerError("Your answer has a hidden character in it: please type it again")
    value = value.strip()
    if t == "date":
        return _check_date(q, value, today)
    if q.limit is not None and len(value) > q.limit:
        raise AnswerError(f"Use {q.limit} characters or fewer (you used {len(value)})")
    if t == "email" and not EMAIL_RE.match(value):
        raise AnswerError("Enter an email address like name@example.com")
    if t == "phone" and (not PHONE_RE.match(value) or not 7 <= sum(c.isdigit() for c in value) <= 15):
        raise AnswerError("Enter a phone number, like 07700 900 982 or +44 7700 900 982")
    return value or None


def _range_message(low: Any, high: Any) -> str:
    """'Enter a number between 0 and 10', or the one-sided form."""
    if low is not None and high is not None:
        return f"Enter a whole number between {low} and {high}"
    if low is not None:
        return f"Enter a whole number of {low} or more"
    return f"Enter a whole number of {high} or less"


def _check_date(q: Question, value: str, today: dt.date | None) -> str:
    """A real date within the question's limits, as YYYY-MM-DD."""
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
