"""Several questionnaires, each question and its flags written once.

A questionnaire in the `questionnaires/` folder (the follow-up check, the aftercare
check, ...) names the first-visit questionnaire it builds on:

    first_visit: ../questions.yaml

and then

- takes a question from it by id, flags and all, changing only its wording:
  `- use: saddle_numbness` with an optional `text:`, `short:`, `hint:` or `error:`;
- may leave out `information:`, and any outcome under `outcomes:`, to use the first
  visit's (the urgent advice and its phone numbers stay in one place);
- lists the first visit's `sources:` as its own (its own entries win);
- names the patient's first-visit answers in its conditions as `first_visit.<id>`.

Composing happens on the parsed data, before the definition is validated: what is
stored with a submission (and hashed into its version) is the whole questionnaire as the
patient saw it, so a change to a shared question changes every questionnaire using it.

Pure: no Flask, no database.
"""

from __future__ import annotations

import json
from pathlib import Path as FilePath
from typing import TYPE_CHECKING, Any

from .problems import Path, Problem, QuestionnaireError

if TYPE_CHECKING:
    from .schema import Definition

# What a `use:` entry may change: the wording. Type, options and flags are the shared question's.
WORDING = ("text", "short", "hint", "error")


def first_visit_path(data: Any, base: FilePath) -> FilePath | None:
    """The first-visit file a questionnaire names, resolved against its folder (None: none named)."""
    if not isinstance(data, dict) or not isinstance(data.get("first_visit"), str):
        return None
    return (base / str(data["first_visit"])).resolve()


def compose(data: Any, lines: dict[Path, int], source: str, first: Definition | None) -> Any:
    """The data with every `use:` replaced by the shared question and the first visit's
    information, outcomes and sources filled in; raises QuestionnaireError naming each
    `use:` that cannot be resolved (or that changes more than the wording)."""
    if not isinstance(data, dict):
        return data
    problems: list[Problem] = []

    def problem(path: Path, message: str) -> None:
        line = next((lines[path[:end]] for end in range(len(path), -1, -1) if path[:end] in lines), None)
        problems.append(Problem(path, message, line))

    if "first_visit" in data and not isinstance(data["first_visit"], str):
        problem(("first_visit",), "'first_visit' is the path of the first-visit questionnaire, e.g. ../questions.yaml")
    library = _questions(first.raw) if first is not None else {}
    out = dict(data)
    sections = data.get("sections")
    if isinstance(sections, list):
        out["sections"] = [_section(s, si, library, first, data, problem) for si, s in enumerate(sections)]
    if first is not None:
        raw = first.raw
        out["sources"] = {**raw.get("sources", {}), **(data.get("sources") or {})}
        out.setdefault("information", raw.get("information"))
        if isinstance(data.get("outcomes", {}), dict):
            out["outcomes"] = {**raw.get("outcomes", {}), **data.get("outcomes", {})}
    if problems:
        raise QuestionnaireError(source, problems)
    return out


def _questions(raw: Any) -> dict[str, dict[str, Any]]:
    """The first visit's questions as plain data, by id."""
    return {q["id"]: q for s in raw.get("sections", []) for q in s.get("questions", [])}


def _section(section: Any, si: int, library: dict[str, Any], first: Definition | None, data: Any, problem: Any) -> Any:
    """One section with its `use:` entries resolved."""
    if not isinstance(section, dict) or not isinstance(section.get("questions"), list):
        return section
    questions = []
    for qi, entry in enumerate(section["questions"]):
        path: Path = ("sections", si, "questions", qi)
        if not isinstance(entry, dict) or "use" not in entry:
            questions.append(entry)
            continue
        qid = entry["use"]
        extra = sorted(set(entry) - {"use", *WORDING})
        if first is None:
            problem(
                (*path, "use"),
                "'use' takes a question from the first-visit questionnaire: name it at the top of the file"
                " (first_visit: ../questions.yaml)",
            )
        elif not isinstance(qid, str) or qid not in library:
            message = f"{qid!r} is not a question of the first-visit questionnaire ({data['first_visit']})"
            problem((*path, "use"), message)
        elif extra:
            problem(
                (*path, extra[0]),
                f"a used question changes only its wording ({', '.join(WORDING)}); its {', '.join(extra)}"
                f" come from '{qid}' in {data['first_visit']}, where a question and its flags are written once",
            )
        else:
            shared = json.loads(json.dumps(library[qid]))  # a copy: the first visit's data is never changed
            shared.update({k: entry[k] for k in WORDING if k in entry})
            questions.append(shared)
            continue
        questions.append(entry)
    return {**section, "questions": questions}
