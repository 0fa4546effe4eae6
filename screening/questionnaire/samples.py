"""A valid random answer to each question type, for seeding demo data and for the fuzz
tests (each type's `sample` in qtypes.QTYPES)."""

from __future__ import annotations

import datetime as dt
import random
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .schema import Question

# A date question capped at today is usually a date of birth: samples give an adult's age.
BIRTH_YEARS = (18, 88)
SAMPLE_TEXTS = (
    "Ibuprofen when needed",
    "Paracetamol",
    "Sertraline 50 mg",
    "Amlodipine, atorvastatin",
    "Levothyroxine",
    "Naproxen and omeprazole",
    "Inhaler for asthma",
    "None",
)


def pick(q: Question, rng: random.Random, today: dt.date) -> Any:
    return rng.choice(q.values)


def pick_some(q: Question, rng: random.Random, today: dt.date) -> Any:
    values = q.values
    chosen = rng.sample(values, k=min(len(values), rng.choice((1, 1, 2, 2, 3))))
    return [v for v in values if v in chosen]  # the stored form: the options' order


def sample_number(q: Question, rng: random.Random, today: dt.date) -> Any:
    low = q.low if q.low is not None else 0
    return rng.randint(low, q.high if q.high is not None else low + 100)


def sample_date(q: Question, rng: random.Random, today: dt.date) -> str:
    """A date inside the question's limits; a date of birth gives an adult's age."""
    high = dt.date.fromisoformat(q.high) if isinstance(q.high, str) else today
    high = min(high, today)
    low = dt.date.fromisoformat(q.low) if isinstance(q.low, str) else high - dt.timedelta(days=3650)
    if q.max == "today":
        low = max(low, high - dt.timedelta(days=365 * BIRTH_YEARS[1]))
        high = max(low, high - dt.timedelta(days=365 * BIRTH_YEARS[0]))
    return (low + dt.timedelta(days=rng.randrange((high - low).days + 1))).isoformat()


def sample_text(q: Question, rng: random.Random, today: dt.date) -> str:
    return rng.choice(SAMPLE_TEXTS)


def sample_email(q: Question, rng: random.Random, today: dt.date) -> str:
    return f"patient{rng.randrange(10**6)}@example.com"


def sample_phone(q: Question, rng: random.Random, today: dt.date) -> str:
    return f"07700 900{rng.randrange(1000):03d}"


def sample_consent(q: Question, rng: random.Random, today: dt.date) -> str:
    return "yes"
