"""`fhir validate`: the R4B structure check of fhir.resources, then what it leaves out.

fhir.resources checks element names, types and cardinality, but not code bindings or
the invariants of Questionnaire (unique linkIds, enableWhen pointing back, display
items without answers). Every message names the element's path.
"""

from __future__ import annotations

from typing import Any

from . import codes as c

RESOURCE_TYPES = ("Questionnaire", "QuestionnaireResponse", "Bundle", "DetectedIssue")
ANSWER_TYPES = {
    "boolean": {"answerBoolean"},
    "decimal": {"answerDecimal"},
    "integer": {"answerInteger"},
    "date": {"answerDate"},
    "dateTime": {"answerDateTime"},
    "time": {"answerTime"},
    "string": {"answerString"},
    "text": {"answerString"},
    "url": {"answerString", "answerUri"},
    "choice": {"answerCoding"},
    "open-choice": {"answerCoding", "answerString"},
    "attachment": set(),
    "reference": {"answerReference"},
    "quantity": {"answerQuantity"},
}


def validate(resource: Any) -> list[str]:
    """Every problem found in a FHIR resource (empty: valid)."""
    if not isinstance(resource, dict) or resource.get("resourceType") not in RESOURCE_TYPES:
        kind = resource.get("resourceType") if isinstance(resource, dict) else type(resource).__name__
        return [f"resourceType: expected one of {', '.join(RESOURCE_TYPES)}, not {kind!r}"]
    problems = structure(resource)
    return problems + invariants(resource, resource["resourceType"])


def structure(resource: dict[str, Any]) -> list[str]:
    """The fhir.resources (R4B) model check, its errors as `Type.path.to[0].element: message`."""
    from fhir.resources.R4B import get_fhir_model_class
    from pydantic import ValidationError

    kind = resource["resourceType"]
    try:
        get_fhir_model_class(kind).model_validate(resource)
    except ValidationError as exc:
        return [f"{kind}{_loc(err['loc'])}: {err['msg']}" for err in exc.errors()]
    return []


def _loc(loc: tuple[Any, ...]) -> str:
    """A pydantic location as a FHIR path: ('item', 0, 'type') -> .item[0].type."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif not str(part).startswith("function-"):
            text += f".{part}"
    return text


def invariants(resource: dict[str, Any], path: str) -> list[str]:
    """Our own checks, by resource type (a Bundle's entries each in turn)."""
    kind = resource.get("resourceType")
    if kind == "Questionnaire":
        return _questionnaire(resource, path)
    if kind == "QuestionnaireResponse":
        return _response(resource, path)
    if kind == "Bundle":
        problems = []
        for i, entry in enumerate(resource.get("entry") or []):
            inner = entry.get("resource") if isinstance(entry, dict) else None
            if isinstance(inner, dict):
                problems += invariants(inner, f"{path}.entry[{i}].resource")
        return problems
    if kind == "DetectedIssue" and resource.get("severity") not in (None, "high", "moderate", "low"):
        return [f"{path}.severity {resource.get('severity')!r} is not high, moderate or low"]
    return []


def _flatten(items: Any, path: str) -> list[tuple[str, dict[str, Any]]]:
    """Items in document order, each with its path."""
    found: list[tuple[str, dict[str, Any]]] = []
    for i, item in enumerate(items if isinstance(items, list) else []):
        if isinstance(item, dict):
            here = f"{path}.item[{i}]"
            found.append((here, item))
            found += _flatten(item.get("item"), here)
    return found


def _questionnaire(resource: dict[str, Any], root: str) -> list[str]:
    """Codes, linkIds, enableWhen and expressions of a Questionnaire."""
    problems: list[str] = []
    items = _flatten(resource.get("item"), root)
    seen: dict[str, str] = {}
    types = {str(item.get("linkId")): item.get("type") for _, item in items}
    for path, item in items:
        link_id, kind = str(item.get("linkId")), item.get("type")
        if link_id in seen:
            problems.append(f"{path}.linkId {link_id!r} is used twice (first at {seen[link_id]})")
        seen.setdefault(link_id, path)
        if kind not in c.R4_ITEM_TYPES:
            problems.append(f"{path}.type {kind!r} is not an R4 item type")
        if kind == "display":
            for key in ("required", "repeats", "answerOption", "item", "initial"):
                if key in item:
                    problems.append(f"{path}.{key}: a display item cannot have {key}")
        problems += _enable_when(item, path, seen, types)
        problems += _extensions(item, path)
    return problems


def _enable_when(item: dict[str, Any], path: str, earlier: dict[str, str], types: dict[str, Any]) -> list[str]:
    """enableWhen: known operators, earlier questions, answers of the question's type."""
    problems = []
    whens = item.get("enableWhen") or []
    if len(whens) > 1 and not item.get("enableBehavior"):
        problems.append(f"{path}.enableBehavior is required with more than one enableWhen")
    for k, when in enumerate(whens):
        here = f"{path}.enableWhen[{k}]"
        question, op = when.get("question"), when.get("operator")
        if op not in c.ENABLE_WHEN_OPERATORS:
            problems.append(f"{here}.operator {op!r} is not one of {' '.join(sorted(c.ENABLE_WHEN_OPERATORS))}")
        if question not in earlier or question == item.get("linkId"):
            problems.append(f"{here}.question {question!r} is not an earlier item")
            continue
        answers = [key for key in when if key.startswith("answer")]
        expected = {"answerBoolean"} if op == "exists" else ANSWER_TYPES.get(types.get(question) or "", set())
        if answers and answers[0] not in expected:
            problems.append(f"{here}.{answers[0]} does not match the type of {question!r} ({types.get(question)})")
    return problems


def _extensions(item: dict[str, Any], path: str) -> list[str]:
    """itemControl codes, flag levels, and FHIRPath that parses."""
    problems = []
    for k, ext in enumerate(item.get("extension") or []):
        here = f"{path}.extension[{k}]"
        url = ext.get("url")
        if url == c.EXT_ITEM_CONTROL:
            codes = [cd.get("code") for cd in (ext.get("valueCodeableConcept") or {}).get("coding") or []]
            problems += [
                f"{here}: itemControl {code!r} is not a known code" for code in codes if code not in c.ITEM_CONTROLS
            ]
        elif url == c.EXT_FLAG:
            levels = [
                e.get("valueCoding", {}).get("code") for e in ext.get("extension") or [] if e.get("url") == "level"
            ]
            if len(levels) != 1 or levels[0] not in c.SEVERITY:
                problems.append(f"{here}: a screening flag needs one level of {', '.join(c.SEVERITY)}")
        elif isinstance(ext.get("valueExpression"), dict):
            problems += _parses(ext["valueExpression"], f"{here}.valueExpression.expression")
    return problems


def _parses(expression: dict[str, Any], path: str) -> list[str]:
    """A FHIRPath expression that parses in full (fhirpathpy's own parse recovers silently)."""
    if expression.get("language") != c.FHIRPATH:
        return []
    problem = fhirpath_syntax_error(str(expression.get("expression") or ""))
    return [f"{path}: FHIRPath does not parse: {problem}"] if problem else []


def fhirpath_syntax_error(text: str) -> str | None:
    """The first syntax error in a FHIRPath expression, or None (fhirpathpy's grammar)."""
    from antlr4 import CommonTokenStream, InputStream, Token
    from antlr4.error.ErrorListener import ErrorListener
    from fhirpathpy.parser.generated.FHIRPathLexer import FHIRPathLexer
    from fhirpathpy.parser.generated.FHIRPathParser import FHIRPathParser

    errors: list[str] = []

    class Collect(ErrorListener):  # type: ignore[misc]  # antlr4 has no type information
        def syntaxError(self, recognizer: Any, symbol: Any, line: int, column: int, msg: str, e: Any) -> None:
            errors.append(f"column {column + 1}: {msg}")

    lexer = FHIRPathLexer(InputStream(text))
    lexer.removeErrorListeners()
    lexer.addErrorListener(Collect())
    tokens = CommonTokenStream(lexer)
    parser = FHIRPathParser(tokens)
    parser.removeErrorListeners()
    parser.addErrorListener(Collect())
    parser.expression()
    if not errors and tokens.LA(1) != Token.EOF:
        errors.append(f"unexpected {tokens.LT(1).text!r} after the expression")
    return errors[0] if errors else None


def _response(resource: dict[str, Any], root: str) -> list[str]:
    """A QuestionnaireResponse: each answer holds one value, linkIds are given."""
    problems = []
    for path, item in _flatten(resource.get("item"), root):
        if not item.get("linkId"):
            problems.append(f"{path}.linkId is missing")
        for k, answer in enumerate(item.get("answer") or []):
            values = [key for key in answer if key.startswith("value")] if isinstance(answer, dict) else []
            if len(values) != 1:
                problems.append(f"{path}.answer[{k}] must hold exactly one value[x]")
    return problems
