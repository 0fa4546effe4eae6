"""The URLs, codes and mappings FHIR needs: one table per fact, checked at import.

The mapping from our question types to FHIR item types lives here rather than in
`questionnaire.qtypes` (which stays free of FHIR): `ITEM_TYPES` must name every type the
registry has, and importing this module fails otherwise, so a new question type cannot
ship without its FHIR form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..questionnaire import QTYPES

# The project's own canonical base for its extensions and code systems. Published
# Questionnaires name these URLs, so this must never change.
CANONICAL = "https://screening.example/fhir"

EXT_QUESTION = f"{CANONICAL}/StructureDefinition/screening-question"
EXT_SECTION = f"{CANONICAL}/StructureDefinition/screening-section"
EXT_DEFINITION = f"{CANONICAL}/StructureDefinition/screening-definition"
EXT_CONDITION = f"{CANONICAL}/StructureDefinition/screening-condition"
EXT_FLAG = f"{CANONICAL}/StructureDefinition/screening-flag"
EXT_SOURCE = f"{CANONICAL}/StructureDefinition/screening-source"
CS_BODY_MAP = f"{CANONICAL}/CodeSystem/body-map"
CS_FLAG_LEVEL = f"{CANONICAL}/CodeSystem/flag-level"
CS_ADVICE = f"{CANONICAL}/CodeSystem/urgent-advice"

SDC = "http://hl7.org/fhir/uv/sdc/StructureDefinition"
EXT_CALCULATED = f"{SDC}/sdc-questionnaire-calculatedExpression"
EXT_ENABLE_WHEN_EXPRESSION = f"{SDC}/sdc-questionnaire-enableWhenExpression"
EXT_SHORT_TEXT = f"{SDC}/sdc-questionnaire-shortText"
CORE = "http://hl7.org/fhir/StructureDefinition"
EXT_HIDDEN = f"{CORE}/questionnaire-hidden"
EXT_ITEM_CONTROL = f"{CORE}/questionnaire-itemControl"
EXT_DISPLAY_CATEGORY = f"{CORE}/questionnaire-displayCategory"
EXT_SLIDER_STEP = f"{CORE}/questionnaire-sliderStepValue"
EXT_MIN_VALUE = f"{CORE}/minValue"
EXT_MAX_VALUE = f"{CORE}/maxValue"
EXT_REGEX = f"{CORE}/regex"
CS_ITEM_CONTROL = "http://hl7.org/fhir/questionnaire-item-control"
CS_DISPLAY_CATEGORY = "http://hl7.org/fhir/questionnaire-display-category"

FHIRPATH = "text/fhirpath"

# R4 value sets the structure check of fhir.resources does not enforce.
R4_ITEM_TYPES = frozenset(
    [
        "group",
        "display",
        "boolean",
        "decimal",
        "integer",
        "date",
        "dateTime",
        "time",
        "string",
        "text",
        "url",
        "choice",
        "open-choice",
        "attachment",
        "reference",
        "quantity",
    ]
)
ENABLE_WHEN_OPERATORS = frozenset({"exists", "=", "!=", ">", "<", ">=", "<="})
ITEM_CONTROLS = frozenset(
    [
        "list",
        "table",
        "htable",
        "gtable",
        "atable",
        "header",
        "footer",
        "page",
        "inline",
        "prompt",
        "unit",
        "lower",
        "upper",
        "flyover",
        "help",
        "legal",
        "autocomplete",
        "drop-down",
        "check-box",
        "lookup",
        "radio-button",
        "slider",
        "spinner",
        "text-box",
    ]
)

# DetectedIssue.severity for each flag level (R4: high | moderate | low).
SEVERITY = {"urgent": "high", "contraindication": "high", "precaution": "moderate", "note": "low"}


@dataclass(frozen=True)
class ItemType:
    """How one of our question types is written as a FHIR item."""

    fhir: str  # the item type
    value: str  # the answer's value[x]: valueBoolean, valueCoding, ...
    control: str | None = None  # the SDC itemControl code, if any
    repeats: bool = False
    regex: bool = False  # the type's own pattern travels as the regex extension


ITEM_TYPES: dict[str, ItemType] = {
    "yes_no": ItemType("boolean", "valueBoolean"),
    "single_choice": ItemType("choice", "valueCoding", "radio-button"),
    "multi_choice": ItemType("choice", "valueCoding", "check-box", repeats=True),
    "text": ItemType("string", "valueString"),
    "textarea": ItemType("text", "valueString"),
    "number": ItemType("integer", "valueInteger"),
    "scale": ItemType("integer", "valueInteger", "slider"),
    "date": ItemType("date", "valueDate"),
    "email": ItemType("string", "valueString", regex=True),
    "phone": ItemType("string", "valueString", regex=True),
    "consent": ItemType("choice", "valueCoding", "check-box"),
    "body_map": ItemType("choice", "valueCoding", "check-box", repeats=True),
}

_unmapped = sorted(set(QTYPES) - set(ITEM_TYPES))
if _unmapped:  # pragma: no cover - fails the import, and so every test, when a type is added
    raise ImportError(f"question types without a FHIR mapping in screening/fhir/codes.py: {', '.join(_unmapped)}")


def questionnaire_url(base: str | None, questionnaire_id: str) -> str:
    """The canonical URL of a questionnaire (all its versions share it)."""
    return f"{(base or CANONICAL).rstrip('/')}/Questionnaire/{questionnaire_id}"


def options_system(url: str) -> str:
    """The code system of a questionnaire's own answer options."""
    return f"{url}/CodeSystem/options"


def coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    """A Coding."""
    return {"system": system, "code": code} | ({"display": display} if display else {})


def concept(system: str, code: str) -> dict[str, Any]:
    """A CodeableConcept of one coding."""
    return {"coding": [coding(system, code)]}


def item_control(code: str) -> dict[str, Any]:
    """The SDC itemControl extension."""
    return {"url": EXT_ITEM_CONTROL, "valueCodeableConcept": concept(CS_ITEM_CONTROL, code)}


def expression(url: str, text: str) -> dict[str, Any]:
    """An extension holding a FHIRPath Expression."""
    return {"url": url, "valueExpression": {"language": FHIRPATH, "expression": text}}


def extension_values(element: dict[str, Any], url: str) -> list[dict[str, Any]]:
    """The extensions of an element with this URL."""
    return [e for e in element.get("extension") or [] if e.get("url") == url]
