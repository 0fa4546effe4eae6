"""The clinic's words: flag levels and outcomes, their order, and what each is called.

Pure data, shared by the core, the patient's pages and the clinicians' pages.
"""

from __future__ import annotations

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
