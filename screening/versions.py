"""Questionnaire versions: the ones patients answer now, checked before the app serves, and
the ones stored submissions answered (a submission is always shown with its own questions).

A clinic has one default questionnaire (`QUESTIONS_PATH`, the first-visit screening) and
may have more, one file each, in a folder (`QUESTIONNAIRES_PATH`, by default the
`questionnaires` folder beside the default file): the follow-up check, the aftercare
check. All of them are loaded and their cases run at start; one mistake in any of them
and the app refuses to start, listing every problem of every file.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app

from . import db, embedded_cases
from .models import QuestionnaireVersion
from .questionnaire import Definition, Problem, QuestionnaireError, QuestionnairesError, from_data, load

CURRENT = "screening.questionnaire"  # the app.extensions key of the default questionnaire
REGISTRY = "screening.questionnaires"  # the app.extensions key of all of them, by id, default first


def questionnaire_files(questions_path: str | Path, folder: str | Path | None = None) -> list[Path]:
    """The default questionnaire's file, then the folder's `*.yaml` files in name order."""
    default = Path(questions_path)
    where = Path(folder) if folder else default.parent / "questionnaires"
    others = sorted(p for p in where.glob("*.yaml") if p.resolve() != default.resolve()) if where.is_dir() else []
    return [default, *others]


def load_all(
    questions_path: str | Path, folder: str | Path | None = None, default: Definition | None = None
) -> dict[str, Definition]:
    """Every questionnaire, checked and its cases run, by id (the default first).

    `default` is the default questionnaire already loaded and checked. Raises
    QuestionnaireError (QuestionnairesError for several files) listing every problem.
    """
    files = questionnaire_files(questions_path, folder)
    loaded: dict[Path, Definition] = {}
    found: dict[str, Definition] = {}
    errors: list[QuestionnaireError] = []
    for i, path in enumerate(files):
        try:
            definition = default if i == 0 and default is not None else _checked(path, loaded)
        except QuestionnaireError as exc:
            errors.append(exc)
            continue
        if i == 0:
            loaded[path.resolve()] = definition
        qid = definition.questionnaire.id
        if qid in found:
            errors.append(
                QuestionnaireError(
                    str(path),
                    [
                        _problem(
                            definition,
                            f"questionnaire id '{qid}' is also the id of {found[qid].source}: each needs its own",
                        )
                    ],
                )
            )
            continue
        found[qid] = definition
    if errors:
        raise errors[0] if len(errors) == 1 else QuestionnairesError(errors)
    return found


def _problem(definition: Definition, message: str) -> Problem:
    """A problem on the questionnaire's id line."""
    path = ("questionnaire", "id")
    return Problem(path, message, definition.line_of(path))


def _checked(path: Path, loaded: dict[Path, Definition]) -> Definition:
    """One file loaded and its cases run (a file read once per process and content)."""
    key = (str(path.resolve()), path.read_text(encoding="utf-8") if path.is_file() else None)
    if key[1] is not None:
        first = _CACHE.get(key)
        if first is not None and all(loaded.get(p) is d for p, d in first[1].items()):
            return first[0]
    definition = load(path, loaded)
    problems = embedded_cases.case_problems(definition)
    if problems:
        raise QuestionnaireError(str(path), problems)
    if key[1] is not None:
        _CACHE[key] = (definition, dict(loaded))
    return definition


# Checked definitions by file and content, with the files they were composed with: tests
# build hundreds of apps, and a definition never changes once loaded.
_CACHE: dict[tuple[str, str | None], tuple[Definition, dict[Path, Definition]]] = {}


def load_current(app: Flask, default: Definition | None = None) -> None:
    """Validate every configured questionnaire and run its cases, once per app; refuse to
    start, listing every problem, if one is wrong, a case fails, or a serious flag is untested.

    `default` is the default questionnaire, already loaded and checked (tests pass it).
    """
    if REGISTRY in app.extensions:
        return
    default = default or app.extensions.get(CURRENT)
    try:
        found = load_all(app.config["QUESTIONS_PATH"], app.config.get("QUESTIONNAIRES_PATH"), default)
    except QuestionnaireError as exc:
        if click.get_current_context(silent=True) is not None:  # a command: say it, without a traceback
            raise click.ClickException(f"the app cannot start:\n{exc.report()}") from None
        print(exc.report(), file=sys.stderr)
        raise
    app.extensions[CURRENT] = next(iter(found.values()))
    app.extensions[REGISTRY] = found


def current_definition() -> Definition:
    """The default questionnaire (the first-visit screening), as patients answer it now."""
    return current_app.extensions[CURRENT]


def default_id() -> str:
    """The id of the default questionnaire."""
    return current_definition().questionnaire.id


def questionnaire_ids() -> list[str]:
    """The ids of every questionnaire patients can answer now, the default first."""
    return list(_registry())


def definition(questionnaire_id: str) -> Definition:
    """The current version of a questionnaire; raises LookupError for an unknown id."""
    found = _registry().get(questionnaire_id)
    if found is None:
        raise LookupError(f"no questionnaire '{questionnaire_id}' (there are: {', '.join(_registry())})")
    return found


def _registry() -> dict[str, Definition]:
    """Every current questionnaire by id (just the default when only it was loaded)."""
    found = current_app.extensions.get(REGISTRY)
    if found is None:
        current = current_definition()
        return {current.questionnaire.id: current}
    return found


def definition_for(version: str) -> Definition | None:
    """The questionnaire as this version asked it (rebuilt once per version), or None if unreadable."""
    for current in _registry().values():
        if current.version == version:
            return current
    cache: dict[str, Definition | None] = current_app.extensions.setdefault("screening.versions", {})
    if version not in cache:
        stored = db.session().get(QuestionnaireVersion, version)
        try:
            if stored is None:
                raise LookupError(f"no stored questionnaire {version}")
            cache[version] = from_data(stored.definition, source=f"stored questionnaire {version[:8]}")
        except (QuestionnaireError, LookupError, AttributeError):
            # The flags are stored whole, so pages can still show them: never fail the page.
            current_app.logger.exception("questionnaire version %s cannot be rebuilt", version)
            cache[version] = None
    return cache[version]
