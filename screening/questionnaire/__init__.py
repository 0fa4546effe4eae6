"""questions.yaml -> a typed, fully validated questionnaire definition.

Pure: no Flask, no database. Every problem found is reported with the file, the path
inside it (`sections[2].questions[4].flags[0].level`), its line and what is wrong, and
all problems are reported at once so a clinic can fix its file in one go.

The package: `yamlfile` reads the file, `schema` is its structure, `qtypes` the question
types, `checks` the whole-file checks, `vocabulary` the levels and outcomes,
`conditions` the condition language and `bodymap` the body map's regions.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path as FilePath
from typing import Any

from pydantic import ValidationError

from . import checks, compose
from .answers import InvalidAnswer, UnknownQuestion, coerce_answers
from .checks import _from_pydantic, _line_of
from .link import link
from .problems import Path, Problem, QuestionnaireError, QuestionnairesError, format_path
from .qtypes import (
    CHOICE_TYPES,
    CONTROL_RE,
    DATE_RE,
    DEFAULT_MAX_LENGTH,
    EMAIL_RE,
    NUMERIC_TYPES,
    PHONE_RE,
    QTYPES,
    QUESTION_TYPES,
    TYPE_KEYS,
    TYPED_KEYS,
    AnswerError,
    QuestionType,
    coerce_answer,
    csv_cell,
    display,
    parse_date,
    resolve_date,
    sample,
)
from .schema import (
    IDENT,
    RESERVED_SECTION_IDS,
    SLUG,
    SOURCE_REF_RE,
    About,
    Case,
    Clinic,
    Definition,
    Derived,
    FaqItem,
    FlagDef,
    Information,
    Option,
    Outcomes,
    OutcomeText,
    Question,
    Rule,
    Section,
    UrgentText,
)
from .vocabulary import LEVELS, OUTCOME_OF_LEVEL, OUTCOMES, Flag, StoredFlag
from .yamlfile import _parse_yaml

__all__ = [
    "CHOICE_TYPES",
    "CONTROL_RE",
    "DATE_RE",
    "DEFAULT_MAX_LENGTH",
    "EMAIL_RE",
    "IDENT",
    "LEVELS",
    "NUMERIC_TYPES",
    "OUTCOMES",
    "OUTCOME_OF_LEVEL",
    "PHONE_RE",
    "QTYPES",
    "QUESTION_TYPES",
    "RESERVED_SECTION_IDS",
    "SLUG",
    "SOURCE_REF_RE",
    "TYPED_KEYS",
    "TYPE_KEYS",
    "About",
    "AnswerError",
    "Case",
    "Clinic",
    "Definition",
    "Derived",
    "FaqItem",
    "Flag",
    "FlagDef",
    "Information",
    "InvalidAnswer",
    "Option",
    "OutcomeText",
    "Outcomes",
    "Path",
    "Problem",
    "Question",
    "QuestionType",
    "QuestionnaireError",
    "QuestionnairesError",
    "Rule",
    "Section",
    "StoredFlag",
    "UnknownQuestion",
    "UrgentText",
    "coerce_answer",
    "coerce_answers",
    "csv_cell",
    "display",
    "format_path",
    "from_data",
    "load",
    "loads",
    "parse_date",
    "resolve_date",
    "sample",
]


def load(path: str | FilePath, loaded: dict[FilePath, Definition] | None = None) -> Definition:
    """Read and validate a questionnaire file; raise QuestionnaireError on any problem.

    A file naming a `first_visit:` questionnaire is composed with it (see `compose`);
    `loaded` holds files already read, by resolved path, so each is read once.
    """
    path = FilePath(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise QuestionnaireError(str(path), [Problem((), f"cannot read the file: {exc}")]) from exc
    return loads(text, source=str(path), base=path.parent, loaded=loaded)


def loads(
    text: str,
    source: str = "questions.yaml",
    base: FilePath | None = None,
    loaded: dict[FilePath, Definition] | None = None,
) -> Definition:
    """Validate questionnaire YAML text; `source` names it in error messages, `base` is the
    folder a `first_visit:` path is read from."""
    data, lines = _parse_yaml(text, source)
    first = _first_visit(data, lines, source, base or FilePath("."), loaded if loaded is not None else {})
    data = compose.compose(data, lines, source, first)
    return from_data(data, source, lines, first_visit=first)


def _first_visit(
    data: Any, lines: dict[Path, int], source: str, base: FilePath, loaded: dict[FilePath, Definition]
) -> Definition | None:
    """The first-visit questionnaire a file names, loaded (or a problem on its `first_visit:` line)."""
    path = compose.first_visit_path(data, base)
    if path is None:
        return None
    if path in loaded:
        return loaded[path]
    where = (("first_visit",), lines.get(("first_visit",)))
    if path == FilePath(source).resolve() or path in _LOADING:
        raise QuestionnaireError(source, [Problem(where[0], f"{data['first_visit']} names this file again", where[1])])
    _LOADING.add(path)
    try:
        first = load(path, loaded)
    except QuestionnaireError as exc:
        inner = exc.report().replace("\n", "\n    ")
        message = f"the first-visit questionnaire {data['first_visit']} cannot be used:\n    {inner}"
        raise QuestionnaireError(source, [Problem(where[0], message, where[1])]) from None
    finally:
        _LOADING.discard(path)
    if first.first_visit is not None:
        message = f"{data['first_visit']} builds on another questionnaire itself: name the first-visit one"
        raise QuestionnaireError(source, [Problem(where[0], message, where[1])])
    loaded[path] = first
    return first


_LOADING: set[FilePath] = set()  # first-visit files being read, so a loop is reported, not recursed


def from_data(
    data: Any,
    source: str = "questions.yaml",
    lines: dict[Path, int] | None = None,
    first_visit: Definition | None = None,
) -> Definition:
    """Validate already-parsed data (for example a stored version of the definition).

    `first_visit` is the first-visit questionnaire the data builds on, when it was read
    from files: its answers named in conditions and cases are checked against it. A
    stored version has none, and was checked when it was served.
    """
    lines = lines or {}
    if not isinstance(data, dict):
        raise QuestionnaireError(source, [Problem((), "the file must be a mapping of keys such as 'sections'")])
    try:
        defn = Definition.model_validate(data)
    except ValidationError as exc:
        problems = [_from_pydantic(err, lines) for err in exc.errors()]
        raise QuestionnaireError(source, problems) from None
    defn._first_visit = first_visit
    defn._source = source
    problems = checks.run(defn)
    if problems:
        for i, p in enumerate(problems):
            problems[i] = Problem(p.path, p.message, p.line or _line_of(p.path, lines))
        raise QuestionnaireError(source, problems)
    link(defn)
    # Key order is kept: the order of the urgent advice is something a patient is told.
    canonical = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    defn._version = hashlib.sha256(canonical.encode()).hexdigest()
    defn._raw = data
    defn._lines = lines
    return defn
