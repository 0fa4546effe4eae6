"""questions.yaml -> a typed, fully validated questionnaire definition.

Pure: no Flask, no database. Every problem found is reported with the file, the path
inside it (`sections[2].questions[4].flags[0].level`), its line and what is wrong, and
all problems are reported at once so a clinic can fix its file in one go.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path as FilePath
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from . import bodymap
from . import conditions as cond

Path = tuple[str | int, ...]

LEVELS = ("urgent", "contraindication", "precaution", "note")
"""Flag levels, highest first."""

OUTCOMES = ("urgent", "not_suitable", "review", "suitable")
"""Outcomes, most serious first."""

OUTCOME_OF_LEVEL = {
    "urgent": "urgent",
    "contraindication": "not_suitable",
    "precaution": "review",
    "note": "suitable",
}

QUESTION_TYPES = (
    "yes_no",
    "single_choice",
    "multi_choice",
    "text",
    "textarea",
    "number",
    "scale",
    "date",
    "email",
    "phone",
    "consent",
    "body_map",
)
CHOICE_TYPES = ("single_choice", "multi_choice")
NUMERIC_TYPES = ("number", "scale")

# Which optional keys each question type takes; a key given to another type is an error.
TYPE_KEYS: dict[str, frozenset[str]] = {
    "yes_no": frozenset(),
    "single_choice": frozenset({"options"}),
    "multi_choice": frozenset({"options"}),
    "text": frozenset({"max_length"}),
    "textarea": frozenset({"max_length"}),
    "number": frozenset({"min", "max"}),
    "scale": frozenset({"min", "max", "min_label", "max_label"}),
    "date": frozenset({"min", "max"}),
    "email": frozenset(),
    "phone": frozenset(),
    "consent": frozenset(),
    "body_map": frozenset(),
}
TYPED_KEYS = frozenset().union(*TYPE_KEYS.values())
DEFAULT_MAX_LENGTH = {"text": 200, "textarea": 2000, "email": 254, "phone": 30}

# Section ids become /intake/<id>: these are taken by the other pages.
RESERVED_SECTION_IDS = frozenset({"check", "submit", "done", "restart"})

IDENT = r"^[a-z][a-z0-9_]*$"
SLUG = r"^[a-z][a-z0-9-]*$"
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]{2,}$")
PHONE_RE = re.compile(r"^\+?[0-9 ()\-.]+$")
SOURCE_REF_RE = re.compile(r"\bS\d+\b")
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# --- Loading YAML with lines, and without YAML 1.1's surprises -------------------


class _Loader(yaml.SafeLoader):
    """A safe loader that reads `yes`/`no` and dates as text, as YAML 1.2 does.

    YAML 1.1 turns a bare `no` into false and `2020-01-01` into a date object, which
    would silently break `when: no` or an option value `no`; here only true/false are
    booleans and dates stay text for the validator to check.
    """


_Loader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a questionnaire file."""

    path: Path
    message: str
    line: int | None = None

    def where(self) -> str:
        """The path in the `sections[2].questions[4]` form."""
        return format_path(self.path)


class QuestionnaireError(Exception):
    """The questionnaire file is not valid; `problems` lists everything wrong with it."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(self.report())

    def report(self) -> str:
        """Every problem on its own line: file:line: path: message."""
        lines = [f"{self.source}: {len(self.problems)} problem(s) in the questionnaire"]
        for p in self.problems:
            at = f"{self.source}:{p.line}" if p.line else self.source
            lines.append(f"  {at}: {p.where() or '(top level)'}: {p.message}")
        return "\n".join(lines)


def format_path(path: Path) -> str:
    """('sections', 2, 'id') -> 'sections[2].id'."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _parse_yaml(text: str, source: str) -> tuple[Any, dict[Path, int]]:
    """Parse YAML text into data and a map of path -> line number (1-based)."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise QuestionnaireError(source, [Problem((), "the file is empty")])
        lines: dict[Path, int] = {}
        problems: list[Problem] = []
        _map_lines(node, (), lines, problems)
        if problems:
            raise QuestionnaireError(source, problems)
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        what = getattr(exc, "problem", None) or str(exc)
        raise QuestionnaireError(source, [Problem((), f"not valid YAML: {what}", line)]) from exc
    finally:
        loader.dispose()
    return data, lines


def _map_lines(node: yaml.Node, path: Path, lines: dict, problems: list) -> None:
    """Record the line of every node, and catch keys given twice in one mapping."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            line = key_node.start_mark.line + 1
            if key in seen:
                problems.append(Problem(path + (key,), f"key '{key}' is given twice (first on line {seen[key]})", line))
            seen[key] = line
            _map_lines(value_node, path + (key,), lines, problems)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _map_lines(item, path + (i,), lines, problems)


# --- The structure (pydantic) -----------------------------------------------------


class _Strict(BaseModel):
    """Unknown keys are errors; the definition never changes once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True)


Ident = Field(pattern=IDENT, max_length=64)
Text = Field(min_length=1)


class Option(_Strict):
    """One answer a choice question offers."""

    value: str = Field(pattern=IDENT, max_length=64)
    label: str = Text
    hint: str | None = None


class FlagDef(_Strict):
    """A flag raised when a condition on one answer holds."""

    when: Any
    level: Literal["urgent", "contraindication", "precaution", "note"]
    advice: str | None = None
    reason: str = Text
    source: str = Text
    _when: Any = PrivateAttr(default=None)

    @property
    def condition(self) -> Any:
        """The parsed `when`."""
        return self._when


class Question(_Strict):
    """One question on a page."""

    id: str = Ident
    text: str = Text
    short: str | None = None
    hint: str | None = None
    autocomplete: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9 -]*$")
    type: Literal[QUESTION_TYPES]  # type: ignore[valid-type]
    required: bool = True
    options: list[Option] | None = None
    min: int | float | str | None = None
    max: int | float | str | None = None
    min_label: str | None = None
    max_label: str | None = None
    max_length: int | None = Field(default=None, gt=0, le=100_000)
    show_if: Any = None
    flags: list[FlagDef] = []
    _show_if: Any = PrivateAttr(default=None)
    _section: str = PrivateAttr(default="")

    @property
    def condition(self) -> Any:
        """The parsed `show_if`, or None when always shown."""
        return self._show_if

    @property
    def section_id(self) -> str:
        """The id of the page this question is on."""
        return self._section

    @property
    def label(self) -> str:
        """The short name for summaries, or the question itself."""
        return self.short or self.text

    @property
    def limit(self) -> int | None:
        """The longest text this question accepts."""
        return self.max_length or DEFAULT_MAX_LENGTH.get(self.type)

    @property
    def choices(self) -> list[tuple[str, str]]:
        """(value, label) pairs of the answers this question offers."""
        if self.type == "yes_no":
            return [("yes", "Yes"), ("no", "No")]
        if self.type == "scale":
            return [(str(n), str(n)) for n in range(self.low, self.high + 1)]
        if self.type == "body_map":
            return [(r.code, r.label) for r in bodymap.REGIONS]
        return [(o.value, o.label) for o in self.options or []]

    @property
    def values(self) -> list[Any]:
        """Every answer a closed question can take (empty for open questions)."""
        if self.type == "scale":
            return list(range(self.low, self.high + 1))
        if self.type == "consent":
            return ["yes"]
        return [value for value, _ in self.choices]

    @property
    def low(self) -> Any:
        """The smallest answer allowed, if any."""
        if self.type == "scale" and self.min is None:
            return 0
        return resolve_date(self.min) if self.type == "date" else self.min

    @property
    def high(self) -> Any:
        """The largest answer allowed, if any."""
        if self.type == "scale" and self.max is None:
            return 10
        return resolve_date(self.max) if self.type == "date" else self.max

    def coerce(self, value: Any, today: dt.date | None = None) -> Any:
        """Check one answer to this question and return it in its stored form.

        Raises AnswerError with a message a patient can act on. None means unanswered.
        """
        return coerce_answer(self, value, today)


class Section(_Strict):
    """One page of the form."""

    id: str = Ident
    title: str = Text
    intro: str | None = None
    questions: list[Question] = Field(min_length=1)


class Derived(_Strict):
    """A value computed from answers, usable in conditions (for now: an age)."""

    years_since: str = Ident
    flags: list[FlagDef] = []


class Rule(FlagDef):
    """A flag that depends on more than one answer: a flag with an id of its own, whose
    `when` names the answers it tests."""

    id: str = Ident


class Case(_Strict):
    """A test case embedded in the file: answers in, outcome and flag ids out."""

    name: str = Text
    answers: dict[str, Any]
    today: str | None = Field(default=None, pattern=DATE_RE.pattern)
    outcome: Literal["urgent", "not_suitable", "review", "suitable"]
    flags: list[str]


class FaqItem(_Strict):
    """A question a patient often asks, with its answer."""

    question: str = Text
    answer: str = Text


class Information(_Strict):
    """Pages of information for patients."""

    before_session: str = Text
    aftercare: str = Text
    faq: list[FaqItem] = []


class OutcomeText(_Strict):
    """What the patient is told for one outcome."""

    title: str = Text
    message: str = Text


class UrgentText(OutcomeText):
    """The urgent outcome: its message and the advice each urgent flag can name."""

    advice: dict[str, str] = Field(min_length=1)


class Outcomes(_Strict):
    """The patient's message for each outcome."""

    urgent: UrgentText
    not_suitable: OutcomeText
    review: OutcomeText
    suitable: OutcomeText


class Clinic(_Strict):
    """How patients reach the clinic."""

    name: str | None = None
    phone: str | None = None
    email: str | None = None


class About(_Strict):
    """What the questionnaire is."""

    id: str = Field(pattern=SLUG, max_length=64)
    title: str = Text
    intro: str = Text
    minutes: int | None = Field(default=None, gt=0)
    privacy: str = Text
    # One line at the foot of every patient page: where to get help now (local numbers).
    help_now: str | None = None
    clinic: Clinic = Clinic()


class Definition(_Strict):
    """A whole questionnaire, validated."""

    questionnaire: About
    sources: dict[str, str] = {}
    sections: list[Section] = Field(min_length=1)
    derived: dict[str, Derived] = {}
    rules: list[Rule] = []
    tests: list[Case] = []
    information: Information
    outcomes: Outcomes
    _version: str = PrivateAttr(default="")
    _raw: Any = PrivateAttr(default=None)
    _questions: dict[str, Question] = PrivateAttr(default_factory=dict)

    @property
    def version(self) -> str:
        """A hash of the definition: submissions record which version they answered."""
        return self._version

    @property
    def raw(self) -> Any:
        """The definition as plain data, for storing alongside submissions."""
        return self._raw

    @property
    def questions(self) -> Mapping[str, Question]:
        """Every question by id, in the order asked."""
        return self._questions

    def section(self, section_id: str) -> Section | None:
        """The section with this id, or None."""
        return next((s for s in self.sections if s.id == section_id), None)

    def question_flags(self) -> Iterator[tuple[str, int, FlagDef]]:
        """(owner id, index, flag) for every flag on a question or derived value."""
        for q in self.questions.values():
            for i, flag in enumerate(q.flags):
                yield q.id, i, flag
        for name, d in self.derived.items():
            for i, flag in enumerate(d.flags):
                yield name, i, flag

    def urgent_advice_order(self) -> list[str]:
        """Urgent advice keys, most urgent first."""
        return list(self.outcomes.urgent.advice)


# --- Answers -----------------------------------------------------------------------


class AnswerError(ValueError):
    """An answer a question cannot take; the message is written for the patient."""


def resolve_date(value: Any, today: dt.date | None = None) -> str | None:
    """A date bound as ISO text: `today` becomes today's date."""
    if value == "today":
        return (today or dt.date.today()).isoformat()
    return value


def parse_date(text: str) -> dt.date | None:
    """A real calendar date from YYYY-MM-DD text, or None."""
    if not isinstance(text, str) or not DATE_RE.match(text):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def _whole_number(value: Any) -> int:
    """An int from an int or a whole float; anything else is an error."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise AnswerError("Enter a number")
    if isinstance(value, float) and not value.is_integer():
        raise AnswerError("Enter a whole number")
    return int(value)


def coerce_answer(q: Question, value: Any, today: dt.date | None = None) -> Any:
    """Check `value` as an answer to `q`; return the stored form (None: unanswered)."""
    if value is None or value == "" or value == []:
        return None
    t = q.type
    if t in ("yes_no", "single_choice"):
        if value not in q.values:
            raise AnswerError("Select yes or no" if t == "yes_no" else "Select one of the options")
        return value
    if t in ("multi_choice", "body_map"):
        if not isinstance(value, list) or any(v not in q.values for v in value):
            raise AnswerError("Select from the options given" if t == "multi_choice" else "Mark areas on the body map")
        return [v for v in q.values if v in value]  # the options' order, no repeats
    if t == "consent":
        if value != "yes":
            raise AnswerError("Tick the box to agree")
        return value
    if t in NUMERIC_TYPES:
        number = _whole_number(value)
        if (q.low is not None and number < q.low) or (q.high is not None and number > q.high):
            raise AnswerError(_range_message(q.low, q.high))
        return number
    if not isinstance(value, str):
        raise AnswerError("Enter text")
    if CONTROL_RE.search(value):
        # NUL and other control characters cannot be typed, and PostgreSQL cannot store NUL.
        raise AnswerError("Your answer has a hidden character in it: please type it again")
    value = value.strip()
    if t == "date":
        return _check_date(q, value, today)
    if q.limit is not None and len(value) > q.limit:
        raise AnswerError(f"Use {q.limit} characters or fewer (you used {len(value)})")
    if t == "email" and not EMAIL_RE.match(value):
        raise AnswerError("Enter an email address like name@example.com")
    if t == "phone" and (not PHONE_RE.match(value) or not 7 <= sum(c.isdigit() for c in value) <= 15):
        raise AnswerError("Enter a phone number, like 07700 900 982 or +44 7700 900 982")
    return value or None


def _range_message(low: Any, high: Any) -> str:
    """'Enter a number between 0 and 10', or the one-sided form."""
    if low is not None and high is not None:
        return f"Enter a whole number between {low} and {high}"
    if low is not None:
        return f"Enter a whole number of {low} or more"
    return f"Enter a whole number of {high} or less"


def _check_date(q: Question, value: str, today: dt.date | None) -> str:
    """A real date within the question's limits, as YYYY-MM-DD."""
    date = parse_date(value)
    if date is None:
        raise AnswerError("Enter a real date, for example 27 3 1980")
    low, high = resolve_date(q.min, today), resolve_date(q.max, today)
    if high is not None and value > high:
        raise AnswerError(
            "The date must be today or in the past" if q.max == "today" else f"The date must be on or before {high}"
        )
    if low is not None and value < low:
        raise AnswerError(f"The date must be on or after {low}")
    return date.isoformat()


def coerce_answers(defn: Definition, answers: Mapping[str, Any], today: dt.date | None = None) -> dict[str, Any]:
    """Check a mapping of question id -> answer (any subset); raise KeyError or AnswerError.

    Errors name the question. Unanswered entries are left out of the result.
    """
    result = {}
    for qid, value in answers.items():
        q = defn.questions.get(qid)
        if q is None:
            raise UnknownQuestion(qid)
        try:
            coerced = q.coerce(value, today)
        except AnswerError as exc:
            raise InvalidAnswer(qid, value, str(exc)) from exc
        if coerced is not None:
            result[qid] = coerced
    return result


class UnknownQuestion(KeyError):
    """An answer names a question the questionnaire does not have."""

    def __init__(self, qid: str) -> None:
        super().__init__(qid)
        self.qid = qid

    def __str__(self) -> str:
        return f"unknown question id {self.qid!r}"


class InvalidAnswer(ValueError):
    """An answer a question cannot take."""

    def __init__(self, qid: str, value: Any, message: str) -> None:
        super().__init__(f"{qid}: invalid answer {value!r}: {message}")
        self.qid = qid


# --- Loading and checking ----------------------------------------------------------


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


def from_data(data: Any, source: str = "questions.yaml", lines: dict | None = None) -> Definition:
    """Validate already-parsed data (for example a stored version of the definition)."""
    lines = lines or {}
    if not isinstance(data, dict):
        raise QuestionnaireError(source, [Problem((), "the file must be a mapping of keys such as 'sections'")])
    try:
        defn = Definition.model_validate(data)
    except ValidationError as exc:
        problems = [_from_pydantic(err, lines) for err in exc.errors()]
        raise QuestionnaireError(source, problems) from None
    problems = _Checker(defn).run()
    if problems:
        for i, p in enumerate(problems):
            problems[i] = Problem(p.path, p.message, _line_of(p.path, lines))
        raise QuestionnaireError(source, problems)
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    defn._version = hashlib.sha256(canonical.encode()).hexdigest()
    defn._raw = data
    return defn


def _line_of(path: Path, lines: dict[Path, int]) -> int | None:
    """The line of the deepest part of `path` that exists in the file."""
    for end in range(len(path), -1, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return None


def _from_pydantic(err: Mapping[str, Any], lines: dict[Path, int]) -> Problem:
    """A pydantic error as a Problem with a message a clinic can act on."""
    path = tuple(err["loc"])
    kind = err["type"]
    if kind == "extra_forbidden":
        message = f"unknown key '{path[-1]}'"
    elif kind == "missing":
        message = f"'{path[-1]}' is required here"
    elif kind == "string_pattern_mismatch":
        pattern = err.get("ctx", {}).get("pattern")
        rule = {
            IDENT: "lower_snake_case: a-z, 0-9 and _, starting with a letter",
            SLUG: "lower-case letters, digits and dashes, starting with a letter",
        }.get(pattern, "a date written YYYY-MM-DD")
        message = f"{err['input']!r} is not valid: use {rule}"
    elif kind == "literal_error":
        message = f"{err['input']!r} is not allowed: expected {err['msg'].removeprefix('Input should be ')}"
    else:
        message = err["msg"]
        if isinstance(err.get("input"), bool):
            message += " (true/false was read as a yes/no switch: put the text in quotes)"
    return Problem(path, message, _line_of(path, lines))


class _Checker:
    """Checks that need the whole definition: ids, references, values, sources."""

    def __init__(self, defn: Definition) -> None:
        self.defn = defn
        self.problems: list[Problem] = []
        self.position: dict[str, int] = {}  # question id -> order asked

    def add(self, path: Path, message: str) -> None:
        """Record a problem."""
        self.problems.append(Problem(path, message))

    def run(self) -> list[Problem]:
        """Run every check; return the problems found."""
        d = self.defn
        self._unique([("sections", i, "id") for i in range(len(d.sections))], "section")
        for i, section in enumerate(d.sections):
            if section.id in RESERVED_SECTION_IDS:
                self.add(
                    ("sections", i, "id"),
                    f"'{section.id}' is the name of another page (/intake/{section.id}); choose another id",
                )
        for si, section in enumerate(d.sections):
            for qi, q in enumerate(section.questions):
                self._question(("sections", si, "questions", qi), q, section.id)
        for name, derived in d.derived.items():
            self._derived(("derived", name), name, derived)
        rule_ids: dict[str, int] = {}
        for ri, rule in enumerate(d.rules):
            self._rule(("rules", ri), rule, rule_ids)
        self._sources()
        self._cases()
        return self.problems

    def _unique(self, paths: list[Path], what: str) -> None:
        """Ids at these paths must differ."""
        seen: dict[str, Path] = {}
        for path in paths:
            value = self._get(path)
            if value in seen:
                self.add(path, f"duplicate {what} id '{value}' (also at {format_path(seen[value])})")
            seen.setdefault(value, path)

    def _get(self, path: Path) -> Any:
        """The value at a path of the definition."""
        node: Any = self.defn
        for part in path:
            node = node[part] if isinstance(part, int) else getattr(node, part)
        return node

    def _question(self, path: Path, q: Question, section_id: str) -> None:
        """One question: its id, the keys its type takes, options, limits, conditions."""
        d = self.defn
        if q.id in cond.RESERVED_NAMES:
            self.add(path + ("id",), f"'{q.id}' is a word of the condition language; choose another id")
        if q.id in self.position or q.id in d.derived:
            self.add(path + ("id",), f"duplicate question id '{q.id}'")
        else:
            self.position[q.id] = len(self.position)
            d._questions[q.id] = q
            q._section = section_id
        given = {k for k in TYPED_KEYS if getattr(q, k) is not None}
        for key in sorted(given - TYPE_KEYS[q.type]):
            self.add(path + (key,), f"'{key}' is not used by questions of type {q.type}")
        if q.type in CHOICE_TYPES:
            if not q.options:
                self.add(path + ("options",), f"a {q.type} question needs at least one option")
            seen: set[str] = set()
            for oi, option in enumerate(q.options or []):
                if option.value in seen:
                    self.add(path + ("options", oi, "value"), f"option value '{option.value}' is used twice")
                seen.add(option.value)
        self._limits(path, q)
        if q.show_if is not None:
            q._show_if = self._named(path + ("show_if",), q.show_if, before=q.id)
        for fi, flag in enumerate(q.flags):
            flag._when = self._on_answer(path + ("flags", fi, "when"), flag.when, q)
            self._flag(path + ("flags", fi), flag)

    def _limits(self, path: Path, q: Question) -> None:
        """min/max make sense for the type and min is not above max."""
        if q.type in NUMERIC_TYPES:
            for key in ("min", "max"):
                value = getattr(q, key)
                if value is not None and (isinstance(value, str) or not float(value).is_integer()):
                    self.add(path + (key,), f"'{key}' must be a whole number")
                    return
        if q.type == "date":
            for key in ("min", "max"):
                value = getattr(q, key)
                if value is not None and value != "today" and parse_date(value) is None:
                    self.add(path + (key,), f"'{key}' must be a date written YYYY-MM-DD, or today")
                    return
        if q.low is not None and q.high is not None and q.low > q.high:
            self.add(path + ("min",), f"min ({q.min}) is greater than max ({q.max})")

    def _flag(self, path: Path, flag: FlagDef | Rule) -> None:
        """Urgent flags name their advice; others do not."""
        advice = self.defn.outcomes.urgent.advice
        if flag.level == "urgent" and flag.advice is None:
            self.add(path + ("advice",), f"an urgent flag needs 'advice': one of {', '.join(advice)}")
        elif flag.level == "urgent" and flag.advice not in advice:
            self.add(
                path + ("advice",),
                f"unknown advice '{flag.advice}': expected one of {', '.join(advice)} (outcomes.urgent.advice)",
            )
        elif flag.level != "urgent" and flag.advice is not None:
            self.add(path + ("advice",), f"'advice' is only for urgent flags, not {flag.level}")
        if not flag.source.strip():
            self.add(path + ("source",), "every flag names its source")

    def _parse(self, path: Path, raw: Any, parser) -> Any:
        """Parse a condition, recording a syntax problem at its place."""
        try:
            return parser(raw, path)
        except cond.ConditionSyntaxError as exc:
            self.add(exc.path, exc.message)
            return None

    def _on_answer(self, path: Path, raw: Any, q: Question | None, derived: bool = False) -> Any:
        """A value condition on one question's (or derived value's) answer."""
        parsed = self._parse(path, raw, cond.parse_value_condition)
        if parsed is not None:
            self._values_fit(parsed, q, derived)
        return parsed

    def _values_fit(self, condition: Any, q: Question | None, derived: bool) -> None:
        """Every value in a condition is one the question can take."""
        for node in cond.walk(condition):
            if isinstance(node, (cond.Equals, cond.In)):
                values = (node.value,) if isinstance(node, cond.Equals) else node.values
                for value in values:
                    self._value_fits(node.path, value, q, derived)
            elif isinstance(node, cond.Compare):
                numeric = derived or (q is not None and q.type in NUMERIC_TYPES)
                if numeric and not isinstance(node.bound, (int, float)):
                    self.add(node.path, f"'{node.op}' needs a number here, not {node.bound!r}")
                elif numeric and q is not None and self._out_of_range(node, q):
                    self.add(
                        node.path, f"{node.op} {node.bound} can never match: '{q.id}' only takes {q.low} to {q.high}"
                    )
                elif q is not None and q.type == "date" and parse_date(node.bound) is None:
                    self.add(node.path, f"'{node.op}' needs a date written YYYY-MM-DD here")
                elif not numeric and (q is None or q.type != "date"):
                    self.add(
                        node.path,
                        f"'{node.op}' only works on numbers, scales and dates, not on a {q.type if q else '?'} question",  # noqa: E501
                    )

    @staticmethod
    def _out_of_range(node: cond.Compare, q: Question) -> bool:
        """A bound beyond the question's own limits: `gte` above max, or `lte` below min."""
        if node.op == "gte":
            return q.high is not None and node.bound > q.high
        return q.low is not None and node.bound < q.low

    def _value_fits(self, path: Path, value: Any, q: Question | None, derived: bool) -> None:
        """One value named in a condition is a possible answer."""
        if derived:
            if not isinstance(value, (int, float)):
                self.add(path, f"{value!r} can never match: this derived value is a number")
            return
        if q is None:
            return
        if q.type in NUMERIC_TYPES:
            whole = isinstance(value, int) and not isinstance(value, bool)
            if not whole:
                self.add(path, f"{value!r} can never match: '{q.id}' is answered with a whole number")
            elif (q.low is not None and value < q.low) or (q.high is not None and value > q.high):
                self.add(path, f"{value} can never match: '{q.id}' only takes {q.low} to {q.high}")
            return
        if q.type == "date":
            if parse_date(value) is None:
                self.add(path, f"{value!r} can never match: '{q.id}' is answered with a date (YYYY-MM-DD)")
            return
        if not q.values:
            if not isinstance(value, str):
                self.add(path, f"{value!r} can never match: '{q.id}' is answered with text")
            return
        if value not in q.values:
            shown = ", ".join(repr(v) for v in q.values)
            self.add(
                path,
                f"{value!r} is not an answer '{q.id}' can take (expected one of {shown}); "
                "this condition could never match",
            )

    def _named(self, path: Path, raw: Any, before: str | None) -> Any:
        """A condition naming answers; with `before`, only questions asked earlier."""
        parsed = self._parse(path, raw, cond.parse_named_condition)
        if parsed is None:
            return None
        for check in cond.names(parsed):
            self._reference(check, before)
        return parsed

    def _reference(self, check: cond.Check, before: str | None) -> None:
        """A named leaf refers to an existing, earlier question or derived value."""
        d = self.defn
        name = check.name
        if name in d.derived:
            source = d.derived[name].years_since
            if before is not None and self.position.get(source, 1 << 30) >= self.position.get(before, 0):
                self.add(check.path, f"'{name}' is worked out from '{source}', which is not asked before '{before}'")
            self._values_fit(check.condition, None, derived=True)
            return
        q = d._questions.get(name)
        if q is None and before is not None and name in {qq.id for s in d.sections for qq in s.questions}:
            self.add(check.path, f"'{name}' is asked after '{before}': a condition can only use earlier answers")
            return
        if q is None:
            self.add(check.path, f"'{name}' is not a question or derived value in this questionnaire")
            return
        if before is not None and name == before:
            self.add(check.path, f"a question cannot depend on its own answer ('{name}')")
            return
        self._values_fit(check.condition, q, derived=False)

    def _derived(self, path: Path, name: str, derived: Derived) -> None:
        """A derived value: its name is free and its source is a date question."""
        if name in cond.RESERVED_NAMES or not re.match(IDENT, name):
            self.add(path, f"'{name}' is not a valid name for a derived value")
        source = self.defn._questions.get(derived.years_since)
        if source is None:
            self.add(path + ("years_since",), f"'{derived.years_since}' is not a question in this questionnaire")
        elif source.type != "date":
            self.add(
                path + ("years_since",),
                f"'{derived.years_since}' is a {source.type} question; years_since needs a date",
            )
        for fi, flag in enumerate(derived.flags):
            flag._when = self._on_answer(path + ("flags", fi, "when"), flag.when, None, derived=True)
            self._flag(path + ("flags", fi), flag)

    def _rule(self, path: Path, rule: Rule, seen: dict[str, int]) -> None:
        """A rule: a free id, a condition over known answers, and a well-formed flag."""
        if rule.id in self.defn._questions or rule.id in self.defn.derived:
            self.add(
                path + ("id",),
                f"rule id '{rule.id}' is already a question or derived value: flags could not be told apart",
            )
        if rule.id in seen:
            self.add(path + ("id",), f"duplicate rule id '{rule.id}' (also at rules[{seen[rule.id]}])")
        seen.setdefault(rule.id, path[1])
        rule._when = self._named(path + ("when",), rule.when, before=None)
        self._flag(path, rule)

    def _sources(self) -> None:
        """S-numbers cited in `source` fields are listed under `sources` (when it is used)."""
        known = self.defn.sources
        if not known:
            return
        cited = [(p, f.source) for p, f in self._all_flags()]
        for path, text in cited:
            for ref in SOURCE_REF_RE.findall(text):
                if ref not in known:
                    self.add(path + ("source",), f"cites {ref}, which is not listed under 'sources'")

    def _all_flags(self) -> Iterator[tuple[Path, FlagDef | Rule]]:
        """(path, flag) for every flag and rule in the file."""
        for si, s in enumerate(self.defn.sections):
            for qi, q in enumerate(s.questions):
                for fi, f in enumerate(q.flags):
                    yield ("sections", si, "questions", qi, "flags", fi), f
        for name, d in self.defn.derived.items():
            for fi, f in enumerate(d.flags):
                yield ("derived", name, "flags", fi), f
        for ri, r in enumerate(self.defn.rules):
            yield ("rules", ri), r

    def _cases(self) -> None:
        """Test cases name real questions, give valid answers and expect real flag ids."""
        d = self.defn
        flag_ids = {q.id for q in d._questions.values() if q.flags}
        flag_ids |= {name for name, der in d.derived.items() if der.flags}
        flag_ids |= {r.id for r in d.rules}
        for ci, case in enumerate(d.tests):
            path = ("tests", ci)
            today = dt.date.fromisoformat(case.today) if case.today and parse_date(case.today) else None
            for qid, value in case.answers.items():
                q = d._questions.get(qid)
                if q is None:
                    self.add(path + ("answers", qid), f"'{qid}' is not a question in this questionnaire")
                    continue
                try:
                    q.coerce(value, today)
                except AnswerError as exc:
                    self.add(path + ("answers", qid), f"{value!r} is not a valid answer to '{qid}': {exc}")
            if case.today and parse_date(case.today) is None:
                self.add(path + ("today",), f"{case.today!r} is not a real date")
            for fi, fid in enumerate(case.flags):
                if fid not in flag_ids:
                    self.add(path + ("flags", fi), f"'{fid}' is not the id of any flag or rule")
