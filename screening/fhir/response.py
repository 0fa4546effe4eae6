"""Answers as a QuestionnaireResponse (and a submission as a Bundle), and back.

Export fills the hidden derived and flag items from the app's own evaluation. Import
trusts no renderer: it maps each answer back to our form, refuses unknown items and
answers of the wrong kind, and leaves the checking of values (ranges, lengths) and
the evaluation to the app's own rules.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ..questionnaire import Definition, Question
from ..questionnaire.vocabulary import Flag
from ..rules import Assessment, assess
from . import codes as c
from .fhirpath import CODED, option_system
from .questionnaire import CONSENT_DISPLAY, flag_items

FLAG_CODES = f"{c.CANONICAL}/CodeSystem/flag"


class ResponseError(ValueError):
    """A QuestionnaireResponse that cannot be read as answers to this questionnaire."""


def fired_flag_items(defn: Definition, result: Assessment) -> set[str]:
    """The linkIds of the flag items that hold for an assessment (as `assess` decided)."""
    values = {**result.answers, **result.derived}
    fired = set()
    for link_id, owner, flag in flag_items(defn):
        if owner is None:
            holds = flag.condition.test(values)
        elif owner in defn.derived:
            holds = flag.condition.test(result.derived.get(owner))
        else:
            holds = owner in result.shown_ids and flag.condition.test(result.answers.get(owner))
        if holds:
            fired.add(link_id)
    return fired


def questionnaire_response(
    defn: Definition,
    answers: Mapping[str, Any],
    today: dt.date | None = None,
    *,
    base_url: str | None = None,
    authored: dt.datetime | None = None,
    reference: str | None = None,
    status: str = "completed",
    computed: bool = True,
    language: str | None = None,
) -> dict[str, Any]:
    """Checked answers as a QuestionnaireResponse: the answers to questions shown, and (with
    `computed`) the derived values and every flag item, true or false. `language`: the
    language the patient answered in (a BCP 47 tag), as the resource's `language`."""
    today = today or (authored.date() if authored else dt.date.today())
    result = assess(defn, answers, today)
    url = c.questionnaire_url(base_url, defn.questionnaire.id)
    qr: dict[str, Any] = {"resourceType": "QuestionnaireResponse"}
    if language:
        qr["language"] = language
    if reference:
        qr["identifier"] = {"system": f"{url}/reference", "value": reference}
    qr["questionnaire"] = f"{url}|{defn.version}"
    qr["status"] = status
    if authored:
        qr["authored"] = authored.isoformat()
    items = []
    for section in defn.sections:
        children = [
            {"linkId": q.id, "text": q.text, "answer": _answers(q, result.answers[q.id], url)}
            for q in section.questions
            if q.id in result.answers
        ]
        if children:
            items.append({"linkId": section.id, "text": section.title, "item": children})
    if computed:
        items += [
            {"linkId": name, "answer": [{"valueInteger": result.derived[name]}]}
            for name in defn.derived
            if name in result.derived
        ]
        fired = fired_flag_items(defn, result)
        items += [
            {"linkId": link_id, "answer": [{"valueBoolean": link_id in fired}]} for link_id, _, _ in flag_items(defn)
        ]
    qr["item"] = items
    return qr


def _answers(q: Question, answer: Any, url: str) -> list[dict[str, Any]]:
    """One stored answer as FHIR answer entries."""
    if q.type == "yes_no":
        return [{"valueBoolean": answer == "yes"}]
    if q.type in CODED:
        labels = dict(q.choices) | {"yes": CONSENT_DISPLAY} if q.type == "consent" else dict(q.choices)
        values = answer if isinstance(answer, list) else [answer]
        return [{"valueCoding": c.coding(option_system(q, url), v, labels.get(v))} for v in values]
    return [{c.ITEM_TYPES[q.type].value: answer}]


def export_bundle(
    defn: Definition,
    answers: Mapping[str, Any],
    flags: Sequence[Flag],
    *,
    reference: str,
    authored: dt.datetime,
    complete: bool = True,
    base_url: str | None = None,
    language: str | None = None,
) -> dict[str, Any]:
    """A submission as a collection Bundle: its QuestionnaireResponse and one DetectedIssue
    per flag it raised (the flags stored with it: what the patient was told)."""
    url = c.questionnaire_url(base_url, defn.questionnaire.id)
    qr = questionnaire_response(
        defn,
        answers,
        authored.date(),
        base_url=base_url,
        authored=authored,
        reference=reference,
        status="completed" if complete else "in-progress",
        language=language,
    )
    qr_url = _urn(url, reference, "response")
    entries = [{"fullUrl": qr_url, "resource": qr}]
    for i, flag in enumerate(flags):
        entries.append({"fullUrl": _urn(url, reference, f"flag-{i}"), "resource": _issue(defn, flag, qr_url, authored)})
    return {
        "resourceType": "Bundle",
        "identifier": {"system": f"{url}/reference", "value": reference},
        "type": "collection",
        "timestamp": authored.isoformat(),
        "entry": entries,
    }


def _urn(url: str, reference: str, part: str) -> str:
    """A stable urn:uuid for one part of one submission's Bundle."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{url}/{reference}/{part}')}"


def _issue(defn: Definition, flag: Flag, qr_url: str, authored: dt.datetime) -> dict[str, Any]:
    """One flag as a DetectedIssue."""
    issue: dict[str, Any] = {
        "resourceType": "DetectedIssue",
        "status": "final",
        "code": {
            "coding": [c.coding(c.CS_FLAG_LEVEL, flag.level), c.coding(FLAG_CODES, flag.id)],
            "text": flag.level_words,
        },
        "severity": c.SEVERITY.get(flag.level, "low"),
        "identifiedDateTime": authored.isoformat(),
        "evidence": [{"detail": [{"reference": qr_url}]}],
        "detail": flag.reason + (f" (sources: {flag.source})" if flag.source else ""),
    }
    if flag.advice:
        told = defn.outcomes.urgent.advice.get(flag.advice)
        issue["mitigation"] = [
            {"action": {"coding": [c.coding(c.CS_ADVICE, flag.advice)], "text": told or flag.advice}}
        ]
    return issue


# --- Import --------------------------------------------------------------------------


def find_response(resource: Any) -> dict[str, Any]:
    """The QuestionnaireResponse itself, or the one inside a Bundle."""
    if not isinstance(resource, dict):
        raise ResponseError("expected a JSON object: a QuestionnaireResponse or a Bundle")
    if resource.get("resourceType") == "QuestionnaireResponse":
        return resource
    if resource.get("resourceType") == "Bundle":
        found: list[dict[str, Any]] = [
            e["resource"]
            for e in resource.get("entry") or []
            if isinstance(e, dict) and isinstance(e.get("resource"), dict)
            and e["resource"].get("resourceType") == "QuestionnaireResponse"
        ]  # fmt: skip
        if len(found) != 1:
            raise ResponseError(f"the Bundle holds {len(found)} QuestionnaireResponses, expected 1")
        return found[0]
    raise ResponseError(f"expected a QuestionnaireResponse or a Bundle, not {resource.get('resourceType')!r}")


def response_version(qr: Mapping[str, Any], url: str) -> str | None:
    """The questionnaire version a response answers (None: not stated); refuses another questionnaire."""
    canonical = qr.get("questionnaire")
    if not canonical:
        return None
    if not isinstance(canonical, str):
        raise ResponseError("QuestionnaireResponse.questionnaire must be a canonical URL")
    address, _, version = canonical.partition("|")
    if address != url:
        raise ResponseError(
            f"QuestionnaireResponse.questionnaire {address!r} is another questionnaire (expected {url})"
        )
    return version or None


def answers_from_response(defn: Definition, qr: Mapping[str, Any], base_url: str | None = None) -> dict[str, Any]:
    """A QuestionnaireResponse's answers as raw answers (question id -> answer), to be
    checked by `coerce_answers`. Derived and flag items are ignored: the app works them out."""
    url = c.questionnaire_url(base_url, defn.questionnaire.id)
    computed = set(defn.derived) | {link_id for link_id, _, _ in flag_items(defn)}
    answers: dict[str, Any] = {}
    for path, item in _walk(qr.get("item") or [], "QuestionnaireResponse"):
        link_id = item.get("linkId")
        entries = item.get("answer") or []
        if link_id in computed or link_id in {s.id for s in defn.sections}:
            continue
        q = defn.questions.get(str(link_id))
        if q is None:
            if entries:
                raise ResponseError(f"{path}: unknown question {link_id!r}")
            continue
        if link_id in answers:
            raise ResponseError(f"{path}: question {link_id!r} is answered twice")
        values = [_value(q, entry, url, f"{path}.answer[{k}]") for k, entry in enumerate(entries)]
        if not values:
            continue
        if c.ITEM_TYPES[q.type].repeats:
            answers[q.id] = values
        elif len(values) > 1:
            raise ResponseError(f"{path}: question {q.id!r} takes one answer, got {len(values)}")
        else:
            answers[q.id] = values[0]
    return answers


def _walk(items: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every item, nested ones too, with its path (answers' own child items as well)."""
    if not isinstance(items, list):
        raise ResponseError(f"{path}.item must be a list")
    for i, item in enumerate(items):
        here = f"{path}.item[{i}]"
        if not isinstance(item, dict):
            raise ResponseError(f"{here} must be an object")
        yield here, item
        yield from _walk(item.get("item") or [], here)
        for k, entry in enumerate(item.get("answer") or []):
            if isinstance(entry, dict) and entry.get("item"):
                yield from _walk(entry["item"], f"{here}.answer[{k}]")


def _value(q: Question, entry: Any, url: str, path: str) -> Any:
    """One answer entry as our raw answer."""
    if not isinstance(entry, dict):
        raise ResponseError(f"{path} must be an object")
    kinds = [key for key in entry if key.startswith("value")]
    if len(kinds) != 1:
        raise ResponseError(f"{path}: an answer holds exactly one value[x] ({q.id})")
    kind, value = kinds[0], entry[kinds[0]]
    expected = c.ITEM_TYPES[q.type].value
    if kind == "valueDecimal" and expected == "valueInteger":
        kind = expected  # a renderer may write a whole number as a decimal: coerce_answers checks it
    if kind != expected:
        raise ResponseError(f"{path}: {q.id} takes {expected}, not {kind}")
    if q.type == "yes_no":
        if not isinstance(value, bool):
            raise ResponseError(f"{path}: {q.id} takes true or false")
        return "yes" if value else "no"
    if kind == "valueCoding":
        if not isinstance(value, dict) or not isinstance(value.get("code"), str):
            raise ResponseError(f"{path}: {q.id} takes a Coding with a code")
        system = value.get("system")
        if system is not None and system != option_system(q, url):
            raise ResponseError(f"{path}: {q.id}: code system {system!r} is not this questionnaire's")
        return value["code"]
    return value
