"""The clinic's words: flag levels and outcomes, their order, and what each is called.

Pure data, the one place for them: the core, the patient's pages, the clinicians' pages
and the CSV export all read levels, outcomes and stored flags from here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

LEVELS = ("urgent", "contraindication", "precaution", "note")
"""Flag levels, highest first."""

OUTCOMES = ("urgent", "not_suitable", "review", "suitable")
"""Outcomes, most serious first."""

OUTCOME_OF_LEVEL = {
    "urgent": "urgent",
    "contraindication": "not_suitable",
    "precaution": "review",
    "note": "suitable",
}
"""The outcome a flag makes when it is the highest (no flag: suitable)."""

LEVEL_RANK = {level: rank for rank, level in enumerate(LEVELS)}
# Outcomes in triage order; stored as a rank so the queue sorts on an index.
OUTCOME_RANK = {outcome: rank for rank, outcome in enumerate(OUTCOMES)}
OUTCOME_OF_RANK = {rank: outcome for outcome, rank in OUTCOME_RANK.items()}

# For clinicians: an outcome's short label (queue, filters) and its meaning in words a
# clinician cannot misread, whatever the colours (the record).
OUTCOME_LABELS = {"urgent": "Urgent", "not_suitable": "Not suitable", "review": "Review", "suitable": "Suitable"}
OUTCOME_WORDS = {
    "urgent": "URGENT: the patient was told to get medical help now. Do not needle.",
    "not_suitable": "Not suitable for needling today: contact the patient.",
    "review": "Talk this through with the patient before needling.",
    "suitable": "Suitable for needling.",
}
LEVEL_WORDS = {
    "urgent": "Urgent",
    "contraindication": "Contraindication",
    "precaution": "Precaution",
    "note": "Note",
}
# What the patient is told for each outcome is the questionnaire's own text
# (`Definition.outcomes`), and the urgent advice its `outcomes.urgent.advice`.


def level_rank(level: str) -> int:
    """Sort key: urgent first, unknown levels last."""
    return LEVEL_RANK.get(level, len(LEVELS))


def advice_words(advice: str | None) -> str | None:
    """An urgent advice key as words: `same_day` -> `same day`."""
    return advice.replace("_", " ") if advice else advice


@dataclass(frozen=True)
class Flag:
    """A flag raised by the answers: why a clinician must look, and on what authority."""

    id: str  # the question's, derived value's or rule's id
    level: str
    reason: str
    source: str
    advice: str | None = None
    about: tuple[str, ...] = ()  # the questions whose answers raised it
    patient_reason: str | None = None  # what the patient is told under "Why"
    next_step: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON and storage."""
        data = asdict(self)
        data["about"] = list(self.about)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Flag:
        """A flag read back from a submission's stored JSON (missing parts left empty)."""
        return cls(
            id=str(data.get("id", "")),
            level=str(data.get("level", "")),
            reason=str(data.get("reason", "")),
            source=str(data.get("source", "")),
            advice=data.get("advice"),
            about=tuple(data.get("about") or ()),
            patient_reason=data.get("patient_reason"),
            next_step=data.get("next_step"),
        )

    @property
    def rank(self) -> int:
        """Its level's place: urgent first, unknown levels last."""
        return level_rank(self.level)

    @property
    def level_words(self) -> str:
        """The level as a clinician reads it."""
        return LEVEL_WORDS.get(self.level, self.level)


StoredFlag = Flag
"""A flag as stored with a submission and read back with `StoredFlag.from_dict`."""


def stored_flags(data: Iterable[Mapping[str, Any]] | None) -> list[Flag]:
    """A submission's stored flags, typed, in the order stored (highest first)."""
    return [Flag.from_dict(item) for item in data or ()]


def highest(flags: Iterable[Flag]) -> Flag | None:
    """The flag of the highest level (the first of them), or None."""
    return min(flags, key=lambda f: f.rank, default=None)
