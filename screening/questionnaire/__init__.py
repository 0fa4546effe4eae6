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

from . import checks
from .answers import InvalidAnswer, UnknownQuestion, coerce_answers
from .checks import _from_pydantic, _line_of
from .link import link
from .problems import Path, Problem, QuestionnaireError, format_path
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


def load(path: str | FilePath) -> Definition:
    """Read and validate a questionnaire file; raise QuestionnaireError on any problem."""
    path = FilePath(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise QuestionnaireError(str(path), [Problem((), f"cannot read the file: {exc}")]) from exc
    return loads(text, source=str(path))


def loads(text: str, source: str = "questions.yaml") -> Definition:
    """Validate questionnaire YAML text; `source` names it in error messages."""
    data, lines = _parse_yaml(text, source)
    return from_data(data, source, lines)


def from_data(data: Any, source: str = "questions.yaml", lines: dict[Path, int] | None = None) -> Definition:
    """Validate already-parsed data (for example a stored version of the definition)."""
    lines = lines or {}
    if not isinstance(data, dict):
        raise QuestionnaireError(source, [Problem((), "the file must be a mapping of keys such as 'sections'")])
    try:
        defn = Definition.model_validate(data)
    except ValidationError as exc:
        problems = [_from_pydantic(err, lines) for err in exc.errors()]
        raise QuestionnaireError(source, problems) from None
    problems = checks.run(defn)
    if problems:
        for i, p in enumerate(problems):
            problems[i] = Problem(p.path, p.message, _line_of(p.path, lines))
        raise QuestionnaireError(source, problems)
    link(defn)
    # Key order is kept: the order of the urgent advice is something a patient is told.
    canonical = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    defn._version = hashlib.sha256(canonical.encode()).hexdigest()
    defn._raw = data
    defn._lines = lines
    return defn
