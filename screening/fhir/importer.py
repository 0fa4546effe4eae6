"""A Questionnaire back into questions.yaml data.

Our own exports come back exactly (their sidecar extensions hold the YAML; the visible
`text`, `title` and `required` win when another tool changed them). Other
Questionnaires are mapped as far as our format reaches, and what it cannot hold is
reported by path. A pre-filled answer to a red-flag question is refused: a patient
must answer those themselves.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from ..questionnaire import IDENT
from . import codes as c

INITIAL_EXPRESSION = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-initialExpression"
PLACEHOLDER = "To be written by the clinic before patients use this questionnaire."
SIMPLE_TYPES = {"string": "text", "text": "textarea", "integer": "number", "date": "date", "boolean": "yes_no"}


class ImportProblems(ValueError):
    """Parts of a Questionnaire that cannot become questions.yaml, each named by its path."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass
class Imported:
    """The questions.yaml data, and notes on what best effort left out."""

    data: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def import_questionnaire(resource: Any) -> Imported:
    """A Questionnaire resource as questions.yaml data; raises ImportProblems."""
    if not isinstance(resource, dict) or resource.get("resourceType") != "Questionnaire":
        raise ImportProblems(["expected a Questionnaire resource"])
    sidecar = _sidecar(resource, c.EXT_DEFINITION)
    result = _ours(resource, sidecar) if isinstance(sidecar, dict) else _theirs(resource)
    problems = _prefilled(resource, result.data)
    if problems:
        raise ImportProblems(problems)
    return result


def _sidecar(element: dict[str, Any], url: str) -> Any:
    """The JSON a sidecar extension holds, or None."""
    found = c.extension_values(element, url)
    if not found or not isinstance(found[0].get("valueString"), str):
        return None
    try:
        return json.loads(found[0]["valueString"])
    except json.JSONDecodeError:
        return None


# --- Our own exports ---------------------------------------------------------------


def _ours(resource: dict[str, Any], rest: dict[str, Any]) -> Imported:
    """Rebuilt from the sidecars, in the Questionnaire's item order."""
    sections = []
    for item in resource.get("item") or []:
        section = _sidecar(item, c.EXT_SECTION)
        if not isinstance(section, dict):
            continue  # derived values, flags and the help line are in `rest`
        if item.get("text") and item["text"] != section.get("title"):
            section["title"] = item["text"]
        questions = []
        for child in item.get("item") or []:
            question = _sidecar(child, c.EXT_QUESTION)
            if not isinstance(question, dict):
                continue  # the intro and hints
            if child.get("text") and child["text"] != question.get("text"):
                question["text"] = child["text"]
            if isinstance(child.get("required"), bool) and child["required"] != question.get("required", True):
                question["required"] = child["required"]
            questions.append(question)
        section["questions"] = questions
        sections.append(section)
    data = {key: (sections if key == "sections" else value) for key, value in rest.items()}
    data.setdefault("sections", sections)
    return Imported(data)


# --- Anyone else's -----------------------------------------------------------------


def _theirs(resource: dict[str, Any]) -> Imported:
    """Best effort: groups become pages, items questions; the rest is reported."""
    notes: list[str] = []
    problems: list[str] = []
    sections: list[dict[str, Any]] = []
    loose: list[dict[str, Any]] = []
    for i, item in enumerate(resource.get("item") or []):
        path = f"Questionnaire.item[{i}]"
        if item.get("type") == "group":
            section = {"id": _ident(item.get("linkId"), path, problems), "title": item.get("text") or "Questions"}
            questions: list[dict[str, Any]] = []
            for j, child in enumerate(item.get("item") or []):
                here = f"{path}.item[{j}]"
                if child.get("type") == "display":
                    if j == 0 and child.get("text"):
                        section["intro"] = child["text"]
                    else:
                        notes.append(f"{here}: display item left out")
                    continue
                question = _question(child, here, problems, notes)
                if question:
                    questions.append(question)
            section["questions"] = questions
            sections.append(section)
        elif item.get("type") == "display":
            notes.append(f"{path}: display item left out")
        else:
            question = _question(item, path, problems, notes)
            if question:
                loose.append(question)
    if loose:
        sections.insert(0, {"id": "questions", "title": resource.get("title") or "Questions", "questions": loose})
    if problems:
        raise ImportProblems(problems)
    title = resource.get("title") or resource.get("name") or "Questionnaire"
    slug = re.sub(r"[^a-z0-9]+", "-", str(resource.get("id") or title).lower()).strip("-") or "questionnaire"
    notes.append("information, outcomes and privacy text are placeholders: write them before use")
    data = {
        "questionnaire": {
            "id": slug[:64] if slug[0].isalpha() else f"q-{slug}"[:64],
            "title": title,
            "intro": resource.get("description") or title,
            "privacy": PLACEHOLDER,
        },
        "sections": sections,
        "information": {"before_session": PLACEHOLDER, "aftercare": PLACEHOLDER},
        "outcomes": {
            "urgent": {
                "title": "Please get medical help now",
                "message": PLACEHOLDER,
                "advice": {"emergency": PLACEHOLDER},
            },
            "not_suitable": {"title": "Please do not come today", "message": PLACEHOLDER},
            "review": {"title": "Your clinician will talk with you first", "message": PLACEHOLDER},
            "suitable": {"title": "You are ready", "message": PLACEHOLDER},
        },
    }
    return Imported(data, notes)


def _ident(value: Any, path: str, problems: list[str]) -> str:
    """A linkId usable as our id, or a problem."""
    text = str(value or "")
    if not re.match(IDENT, text) or len(text) > 64:
        problems.append(f"{path}.linkId {text!r} is not usable as an id (lower-case letters, digits and _)")
    return text


def _question(item: dict[str, Any], path: str, problems: list[str], notes: list[str]) -> dict[str, Any] | None:
    """One FHIR item as a question, or None with the reason in `problems`."""
    kind = item.get("type")
    question: dict[str, Any] = {"id": _ident(item.get("linkId"), path, problems), "text": item.get("text") or ""}
    if kind == "choice" or kind == "open-choice":
        if kind == "open-choice":
            notes.append(f"{path}.type 'open-choice' imported as a choice: free text answers are not kept")
        question["type"] = "multi_choice" if item.get("repeats") else "single_choice"
        options = []
        for k, option in enumerate(item.get("answerOption") or []):
            coding = option.get("valueCoding") or {}
            code = coding.get("code") or option.get("valueString")
            options.append(
                {
                    "value": _ident(code, f"{path}.answerOption[{k}]", problems),
                    "label": coding.get("display") or str(code),
                }
            )
        if not options:
            problems.append(f"{path}.answerOption: a choice needs its options listed (answerValueSet is not supported)")
        question["options"] = options
    elif kind in SIMPLE_TYPES:
        question["type"] = SIMPLE_TYPES[kind]
        if kind in ("string", "text") and isinstance(item.get("maxLength"), int):
            question["max_length"] = item["maxLength"]
        for url, key in ((c.EXT_MIN_VALUE, "min"), (c.EXT_MAX_VALUE, "max")):
            for ext in c.extension_values(item, url):
                bound = ext.get("valueInteger", ext.get("valueDate"))
                if bound is not None and kind in ("integer", "date"):
                    question[key] = bound
    else:
        problems.append(f"{path}.type {kind!r} is not supported")
        return None
    if item.get("required") is not True:
        question["required"] = False
    if item.get("enableWhen"):
        question["show_if"] = _show_if(item, path, problems)
    return question


def _show_if(item: dict[str, Any], path: str, problems: list[str]) -> Any:
    """enableWhen as a show_if."""
    parts: list[dict[str, Any]] = []
    for k, when in enumerate(item["enableWhen"]):
        here = f"{path}.enableWhen[{k}]"
        op, name = when.get("operator"), when.get("question")
        answers = [key for key in when if key.startswith("answer")]
        value = when[answers[0]] if answers else None
        if isinstance(value, bool):
            value = "yes" if value else "no"
        elif isinstance(value, dict):
            value = value.get("code")
        if op == "exists":
            parts.append({name: {"answered": bool(value == "yes")}})
        elif op == "=":
            parts.append({name: value})
        elif op == "!=":
            parts.append({name: {"not": value}})
        elif op in (">=", "<="):
            parts.append({name: {"gte" if op == ">=" else "lte": value}})
        else:
            problems.append(f"{here}.operator {op!r} is not supported")
    if len(parts) == 1:
        return parts[0]
    return {"any" if item.get("enableBehavior") == "any" else "all": parts}


# --- Safety --------------------------------------------------------------------------


def _prefilled(resource: dict[str, Any], data: dict[str, Any]) -> list[str]:
    """Pre-filled answers (initial, initialExpression) to red-flag questions."""
    red = set((data.get("safety") or {}).get("red_flags") or [])
    for section in data.get("sections") or []:
        for q in section.get("questions") or []:
            if any(f.get("level") == "urgent" for f in q.get("flags") or []):
                red.add(q.get("id"))
    problems = []
    for path, item in _items(resource.get("item") or [], "Questionnaire"):
        prefilled = bool(item.get("initial")) or bool(c.extension_values(item, INITIAL_EXPRESSION))
        if prefilled and item.get("linkId") in red:
            problems.append(
                f"{path} ({item.get('linkId')}): a pre-filled answer to a red-flag question is refused:"
                " the patient must answer it themselves"
            )
    return problems


def _items(items: list[Any], path: str) -> list[tuple[str, dict[str, Any]]]:
    """Every item with its path."""
    found = []
    for i, item in enumerate(items):
        if isinstance(item, dict):
            here = f"{path}.item[{i}]"
            found.append((here, item))
            found += _items(item.get("item") or [], here)
    return found
