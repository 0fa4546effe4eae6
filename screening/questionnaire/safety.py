"""What protects patients from a harmful edit of a clinic's own copy of the file.

No program can judge clinical wording, so the file carries two kinds of protection:

- checks a program *can* make: every question listed in `safety.red_flags` exists, is
  always asked (no `show_if`), carries an urgent flag and is fired by an embedded case
  that states its advice; every contraindication and precaution tells the patient why;
- a recorded clinical sign-off of the safety-critical text (the red-flag questions, every
  urgent flag and rule, and the urgent outcome's message and advice, in order), with a
  fingerprint of that text: when the text changes, the file fails until a clinician has
  read the change and the sign-off is recorded again (`flask --app screening sign-off`).

Pure: no Flask, no database.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path as FilePath
from typing import Any

from .problems import Problem
from .schema import Definition

SIGN_OFF_HOW = (
    "If a clinician has reviewed the change, record their sign-off with "
    "`flask --app screening sign-off --by 'NAME, ROLE' FILE`"
)


def critical_text(defn: Definition) -> dict[str, Any]:
    """The safety-critical text, as plain data in the file's order."""
    red = set(defn.safety.red_flags) if defn.safety else set()
    questions = [
        q.model_dump(mode="json", exclude_none=True)
        for section in defn.sections
        for q in section.questions
        if q.id in red or any(f.level == "urgent" for f in q.flags)
    ]
    derived = {
        name: [f.model_dump(mode="json", exclude_none=True) for f in d.flags if f.level == "urgent"]
        for name, d in defn.derived.items()
    }
    rules = [r.model_dump(mode="json", exclude_none=True) for r in defn.rules if r.level == "urgent"]
    urgent = defn.outcomes.urgent
    return {
        "red_flags": list(defn.safety.red_flags) if defn.safety else [],
        "questions": questions,
        "derived": {name: flags for name, flags in derived.items() if flags},
        "rules": rules,
        # A list of pairs, not a mapping: the order of the advice is part of what is signed.
        "urgent": {"title": urgent.title, "message": urgent.message, "advice": list(urgent.advice.items())},
    }


def fingerprint(defn: Definition) -> str:
    """`sha256:` and the hash of the safety-critical text."""
    text = json.dumps(critical_text(defn), ensure_ascii=False, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def problems(defn: Definition) -> list[Problem]:
    """What the file's own declarations say is wrong (the cases are run, and the sign-off
    compared, in `embedded_cases.case_problems`)."""
    found: list[Problem] = []
    if defn.safety is None:
        return found
    by_id = {q.id: q for section in defn.sections for q in section.questions}
    for i, qid in enumerate(defn.safety.red_flags):
        path = ("safety", "red_flags", i)
        q = by_id.get(qid)
        if q is None:
            found.append(
                Problem(
                    path,
                    f"red flag '{qid}' is not a question in this file: a red flag cannot be removed"
                    " by deleting its question; remove it from this list on purpose, with a sign-off",
                )
            )
            continue
        if q.show_if is not None:
            found.append(Problem(path, f"red flag '{qid}' has a show_if: a red-flag question must always be asked"))
        if not any(f.level == "urgent" for f in q.flags):
            found.append(Problem(path, f"red flag '{qid}' has no urgent flag: it must raise an urgent flag"))
    for i, case in enumerate(defn.tests):
        if case.outcome == "urgent" and case.advice is None:
            found.append(
                Problem(
                    ("tests", i),
                    f"case '{case.name}' is urgent but does not state its advice"
                    f" (advice: {' or '.join(defn.outcomes.urgent.advice)})",
                )
            )
        if case.advice is not None and case.advice not in defn.outcomes.urgent.advice:
            found.append(Problem(("tests", i, "advice"), f"'{case.advice}' is not one of outcomes.urgent.advice"))
    for owner, path, flag in _flags(defn):
        if flag.level in ("contraindication", "precaution") and not flag.patient_reason:
            found.append(
                Problem(
                    path,
                    f"the {flag.level} of '{owner}' needs a patient_reason: what the patient is"
                    " told under 'Why' on the outcome page",
                )
            )
    return found


def _flags(defn: Definition) -> list[tuple[str, tuple[Any, ...], Any]]:
    """(owner, path, flag) for every flag and rule in the file."""
    out: list[tuple[str, tuple[Any, ...], Any]] = []
    for si, section in enumerate(defn.sections):
        for qi, q in enumerate(section.questions):
            out += [(q.id, ("sections", si, "questions", qi, "flags", fi), f) for fi, f in enumerate(q.flags)]
    for name, d in defn.derived.items():
        out += [(name, ("derived", name, "flags", fi), f) for fi, f in enumerate(d.flags)]
    out += [(r.id, ("rules", ri), r) for ri, r in enumerate(defn.rules)]
    return out


def sign_off_problems(defn: Definition) -> list[Problem]:
    """The sign-off must be there and match the text as it is now (checked with the cases,
    when a file is loaded to be used; a stored version is history and is not checked)."""
    if defn.safety is None:
        return []
    sign = defn.safety.sign_off
    now = fingerprint(defn)
    if sign is None:
        return [
            Problem(
                ("safety",),
                f"the safety-critical text has no clinical sign-off. {SIGN_OFF_HOW}",
                defn.line_of(("safety",)),
            )
        ]
    if sign.fingerprint != now:
        return [
            Problem(
                ("safety", "sign_off", "fingerprint"),
                f"the red-flag questions, urgent flags or urgent advice have changed since {sign.by} signed them off"
                f" on {sign.date}: patients would be told something no clinician has approved. {SIGN_OFF_HOW}",
                defn.line_of(("safety", "sign_off", "fingerprint")),
            )
        ]
    return []


def sign(text: str, source: str, by: str, on: str, base: FilePath | None = None) -> tuple[str, str]:
    """The file's text with its `safety.sign_off` set to `by`, `on` and the fingerprint of
    the text as it is now; and that fingerprint. Only the sign-off's own lines change, so
    the file's comments and layout are kept.

    Raises QuestionnaireError when the file cannot be read as a questionnaire at all, or
    has no `safety.sign_off` block to fill in.
    """
    from pydantic import ValidationError

    from . import _first_visit, compose
    from .checks import _from_pydantic
    from .problems import QuestionnaireError
    from .yamlfile import _parse_yaml

    data, lines = _parse_yaml(text, source)
    # A questionnaire built on a first visit is signed as its patients see it: shared questions in.
    data = compose.compose(data, lines, source, _first_visit(data, lines, source, base or FilePath("."), {}))
    try:
        defn = Definition.model_validate(data)
    except ValidationError as exc:
        raise QuestionnaireError(source, [_from_pydantic(err, lines) for err in exc.errors()]) from None
    keys = ("by", "date", "fingerprint")
    where = {key: lines.get(("safety", "sign_off", key)) for key in keys}
    if defn.safety is None or None in where.values():
        raise QuestionnaireError(
            source, [Problem(("safety",), "add a safety: sign_off: block with by:, date: and fingerprint: lines first")]
        )
    print_ = fingerprint(defn)
    out = text.split("\n")
    values = {"by": json.dumps(by, ensure_ascii=False), "date": json.dumps(on), "fingerprint": print_}
    for key in keys:
        i = where[key] - 1  # type: ignore[operator]
        head = out[i][: out[i].index(f"{key}:") + len(key) + 1]
        out[i] = f"{head} {values[key]}"
    return "\n".join(out), print_
