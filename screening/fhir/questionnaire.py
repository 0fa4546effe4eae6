"""A questionnaire definition as an R4 Questionnaire with the SDC extensions.

Sections become page groups, questions items of the mapped type (`codes.ITEM_TYPES`),
`show_if` enableWhen or an enableWhenExpression, derived values and flags hidden
calculated items. Sidecar extensions carry what FHIR cannot say (each question's and
section's YAML, and the rest of the file), so `importer` gives back the same file.
"""

from __future__ import annotations

import json
from typing import Any

from ..questionnaire import EMAIL_RE, PHONE_RE, Definition, FlagDef, Question, bodymap, resolve_date
from . import codes as c
from .fhirpath import Compiler, condition_json, enable_when, option_system

CONSENT_DISPLAY = "Yes, I agree"


def flag_link_id(owner: str, index: int | None) -> str:
    """The linkId of a flag's hidden item: `flag.<question or derived>.<n>`, or `flag.<rule>`."""
    return f"flag.{owner}" if index is None else f"flag.{owner}.{index}"


def flag_items(defn: Definition) -> list[tuple[str, str | None, FlagDef]]:
    """(linkId, owner question or derived value (None for a rule), flag), in the file's order."""
    found: list[tuple[str, str | None, FlagDef]] = [
        (flag_link_id(owner, i), owner, flag) for owner, i, flag in defn.question_flags()
    ]
    found += [(flag_link_id(rule.id, None), None, rule) for rule in defn.rules]
    return found


def export_questionnaire(defn: Definition, base_url: str | None = None) -> dict[str, Any]:
    """The definition as a Questionnaire resource (plain JSON-ready data)."""
    url = c.questionnaire_url(base_url, defn.questionnaire.id)
    compiler = Compiler(defn)
    about = defn.questionnaire
    root: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "id": about.id,
        "meta": {"profile": ["http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire"]},
        "extension": _root_extensions(defn),
        "url": url,
        "version": defn.version,
        "name": "".join(part.capitalize() for part in about.id.split("-")),
        "title": about.title,
        "status": "active",
        "description": about.intro,
    }
    if about.clinic.name:
        root["publisher"] = about.clinic.name
    telecom = [
        {"system": system, "value": value}
        for system, value in (("phone", about.clinic.phone), ("email", about.clinic.email))
        if value
    ]
    if telecom:
        root["contact"] = [
            {"name": about.clinic.name, "telecom": telecom} if about.clinic.name else {"telecom": telecom}
        ]
    items = [_section(defn, i, compiler, url) for i in range(len(defn.sections))]
    items += [_derived_item(name, compiler) for name in defn.derived]
    items += [_flag_item(link_id, owner, flag, compiler) for link_id, owner, flag in flag_items(defn)]
    if about.help_now:
        items.append(
            {
                "linkId": "screening.help_now",
                "type": "group",
                "extension": [c.item_control("footer")],
                "item": [{"linkId": "screening.help_now.text", "type": "display", "text": about.help_now}],
            }
        )
    root["item"] = items
    return root


def _root_extensions(defn: Definition) -> list[dict[str, Any]]:
    """The sources, readable, and the rest of the file (everything but the sections), exact."""
    rest = {key: (None if key == "sections" else value) for key, value in defn.raw.items()}
    extensions: list[dict[str, Any]] = [
        {
            "url": c.EXT_SOURCE,
            "extension": [{"url": "id", "valueString": key}, {"url": "citation", "valueString": text}],
        }
        for key, text in defn.sources.items()
    ]
    extensions.append({"url": c.EXT_DEFINITION, "valueString": json.dumps(rest, ensure_ascii=False)})
    return extensions


def _section(defn: Definition, index: int, compiler: Compiler, url: str) -> dict[str, Any]:
    """One page as a group with itemControl `page`."""
    section = defn.sections[index]
    raw = defn.raw["sections"][index]
    sidecar = {key: value for key, value in raw.items() if key != "questions"}
    children: list[dict[str, Any]] = []
    if section.intro:
        children.append({"linkId": f"{section.id}.intro", "type": "display", "text": section.intro})
    for j, q in enumerate(section.questions):
        children.append(_question(defn, q, raw["questions"][j], compiler, url))
    return {
        "linkId": section.id,
        "text": section.title,
        "type": "group",
        "extension": [
            c.item_control("page"),
            {"url": c.EXT_SECTION, "valueString": json.dumps(sidecar, ensure_ascii=False)},
        ],
        "item": children,
    }


def _question(defn: Definition, q: Question, raw: dict[str, Any], compiler: Compiler, url: str) -> dict[str, Any]:
    """One question as an item of the mapped type."""
    kind = c.ITEM_TYPES[q.type]
    item: dict[str, Any] = {"linkId": q.id, "text": q.text, "type": kind.fhir, "required": q.required}
    extensions: list[dict[str, Any]] = []
    if kind.control:
        extensions.append(c.item_control(kind.control))
    if q.short:
        extensions.append({"url": c.EXT_SHORT_TEXT, "valueString": q.short})
    extensions += _limits(q)
    if kind.regex:
        pattern = EMAIL_RE.pattern if q.type == "email" else PHONE_RE.pattern
        extensions.append({"url": c.EXT_REGEX, "valueString": pattern})
    if q.condition is not None:
        extensions.append({"url": c.EXT_CONDITION, "valueString": condition_json(q.show_if)})
        plain = enable_when(defn, q, url)
        if plain is None:
            extensions.append(c.expression(c.EXT_ENABLE_WHEN_EXPRESSION, compiler.condition(q.condition)))
        else:
            item["enableWhen"], behaviour = plain
            if behaviour:
                item["enableBehavior"] = behaviour
    extensions.append({"url": c.EXT_QUESTION, "valueString": json.dumps(raw, ensure_ascii=False)})
    item["extension"] = extensions
    if kind.repeats:
        item["repeats"] = True
    if kind.fhir in ("string", "text") and q.limit:
        item["maxLength"] = q.limit
    options = _options(q, url)
    if options:
        item["answerOption"] = options
    children = _children(q)
    if children:
        item["item"] = children
    return item


def _limits(q: Question) -> list[dict[str, Any]]:
    """minValue / maxValue (integers and fixed dates), and a scale's slider step."""
    found: list[dict[str, Any]] = []
    for url, bound in ((c.EXT_MIN_VALUE, q.low), (c.EXT_MAX_VALUE, q.high)):
        given = q.min if url == c.EXT_MIN_VALUE else q.max
        if bound is None:
            continue
        if q.type == "date":
            # "today" has no fixed value: the R4 way (a cqf-expression on `_valueDate`) is
            # rejected by the R4B models, so it travels in the sidecar only; import
            # re-checks every date against the question anyway.
            if given != "today":
                found.append({"url": url, "valueDate": resolve_date(given)})
        else:
            found.append({"url": url, "valueInteger": int(bound)})
    if q.type == "scale":
        found.append({"url": c.EXT_SLIDER_STEP, "valueInteger": 1})
    return found


def _options(q: Question, url: str) -> list[dict[str, Any]]:
    """answerOption codings of a coded question."""
    if q.type == "consent":
        return [{"valueCoding": c.coding(option_system(q, url), "yes", CONSENT_DISPLAY)}]
    if q.type == "body_map":
        return [{"valueCoding": c.coding(c.CS_BODY_MAP, r.code, r.label)} for r in bodymap.REGIONS]
    if q.type in ("single_choice", "multi_choice"):
        return [{"valueCoding": c.coding(option_system(q, url), value, label)} for value, label in q.choices]
    return []


def _children(q: Question) -> list[dict[str, Any]]:
    """The hint, and a scale's end labels, as display items."""
    children = []
    if q.hint:
        children.append(
            {
                "linkId": f"{q.id}.hint",
                "type": "display",
                "text": q.hint,
                "extension": [
                    {
                        "url": c.EXT_DISPLAY_CATEGORY,
                        "valueCodeableConcept": c.concept(c.CS_DISPLAY_CATEGORY, "instructions"),
                    }
                ],
            }
        )
    for end, label in (("lower", q.min_label), ("upper", q.max_label)):
        if label:
            children.append(
                {"linkId": f"{q.id}.{end}", "type": "display", "text": label, "extension": [c.item_control(end)]}
            )
    return children


def _hidden(link_id: str, text: str, kind: str, expression: str) -> dict[str, Any]:
    """A hidden, read-only item a renderer calculates."""
    return {
        "linkId": link_id,
        "text": text,
        "type": kind,
        "readOnly": True,
        "extension": [{"url": c.EXT_HIDDEN, "valueBoolean": True}, c.expression(c.EXT_CALCULATED, expression)],
    }


def _derived_item(name: str, compiler: Compiler) -> dict[str, Any]:
    """A derived value (an age in whole years) as a hidden calculated integer."""
    return _hidden(name, name.replace("_", " ").capitalize(), "integer", compiler.answer(name))


def _flag_item(link_id: str, owner: str | None, flag: FlagDef, compiler: Compiler) -> dict[str, Any]:
    """A flag as a hidden calculated boolean, with its level, advice, reason and sources."""
    rule_id = getattr(flag, "id", None)
    expression = compiler.flag(owner, flag.condition) if owner is not None else compiler.condition(flag.condition)
    item = _hidden(link_id, flag.reason, "boolean", expression)
    details: list[dict[str, Any]] = [
        {"url": "id", "valueString": owner or rule_id},
        {"url": "level", "valueCoding": c.coding(c.CS_FLAG_LEVEL, flag.level)},
    ]
    if flag.level == "urgent" and flag.advice:
        details.append({"url": "advice", "valueCoding": c.coding(c.CS_ADVICE, flag.advice)})
    details.append({"url": "reason", "valueString": flag.reason})
    details += [{"url": "source", "valueString": s.strip()} for s in flag.source.split(",") if s.strip()]
    details.append({"url": "condition", "valueString": condition_json(flag.when)})
    item["extension"].append({"url": c.EXT_FLAG, "extension": details})
    return item
