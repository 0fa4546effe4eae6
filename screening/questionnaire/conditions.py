"""The small condition language shared by `show_if`, flags and rules.

Pure data in, pure data out: a condition is parsed once from YAML into a tree of
small objects, checked against the questionnaire, and then tested against answers.
There is no `eval` and no embedded code: the only operations are the ones below.

Two kinds of condition exist:

- a *value condition* tests one answer: a plain value, `{in: [...]}`, `{gte: n}`,
  `{lte: n}`, `{answered: bool}`, and `all` / `any` / `not` of value conditions;
- a *named condition* tests answers by name: `{question_id: VALUE-CONDITION}`
  (several keys must all hold), and `all` / `any` / `not` of named conditions.

An unanswered question matches no value, so `{not: "yes"}` holds when it is unanswered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

COMBINATORS = ("all", "any", "not")
OPERATORS = ("in", "gte", "lte", "answered")
RESERVED_NAMES = frozenset(COMBINATORS + OPERATORS)

# Earlier answers a condition may name as `<scope>.<question_id>`: `first_visit.` the
# patient's answers to the first-visit questionnaire the file names under `first_visit:`,
# `last_check.` their answers the last time they did this same questionnaire (a second
# aftercare check). A plain name is always this questionnaire's own answer, so an answer
# asked again here takes precedence over the earlier one without hiding it.
SCOPES = ("first_visit", "last_check")


def scope_of(name: str) -> tuple[str, str] | None:
    """('first_visit', 'cancer_history') for `first_visit.cancer_history`; None for a plain name."""
    scope, dot, rest = name.partition(".")
    return (scope, rest) if dot else None


Path = tuple[str | int, ...]


class ConditionSyntaxError(ValueError):
    """A condition that does not follow the grammar; `path` is inside the condition."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


def is_answered(answer: Any) -> bool:
    """True when an answer holds something (not missing, blank or an empty list)."""
    return answer not in (None, "", [])


@dataclass(frozen=True)
class Equals:
    """The answer is this value (for a list of ticked options: the value is among them)."""

    value: Any
    path: Path

    def test(self, answer: Any) -> bool:
        """Whether the answer matches."""
        if isinstance(answer, list):
            return self.value in answer
        return answer is not None and answer == self.value

    def to_json(self) -> dict[str, Any]:
        """A JSON form for the browser's live show/hide."""
        return {"eq": self.value}


@dataclass(frozen=True)
class In:
    """The answer is one of these values (for a list: any of them is ticked)."""

    values: tuple[Any, ...]
    path: Path

    def test(self, answer: Any) -> bool:
        """Whether the answer matches."""
        if isinstance(answer, list):
            return any(v in answer for v in self.values)
        return answer is not None and answer in self.values

    def to_json(self) -> dict[str, Any]:
        """A JSON form for the browser."""
        return {"in": list(self.values)}


@dataclass(frozen=True)
class Compare:
    """The answer is at least (`gte`) or at most (`lte`) a bound."""

    op: str
    bound: Any
    path: Path

    def test(self, answer: Any) -> bool:
        """Whether the answer matches; an unanswered question never does."""
        if answer is None or isinstance(answer, (list, bool)):
            return False
        return bool(answer >= self.bound if self.op == "gte" else answer <= self.bound)

    def to_json(self) -> dict[str, Any]:
        """A JSON form for the browser."""
        return {self.op: self.bound}


@dataclass(frozen=True)
class Answered:
    """The question was (or was not) answered."""

    expected: bool
    path: Path

    def test(self, answer: Any) -> bool:
        """Whether the answered-ness matches."""
        return is_answered(answer) == self.expected

    def to_json(self) -> dict[str, Any]:
        """A JSON form for the browser."""
        return {"answered": self.expected}


@dataclass(frozen=True)
class Check:
    """A named condition's leaf: the answer (or derived value) called `name` matches."""

    name: str
    condition: Any
    path: Path

    def test(self, values: Mapping[str, Any]) -> bool:
        """Whether the named value matches."""
        return bool(self.condition.test(values.get(self.name)))

    def to_json(self) -> dict[str, Any]:
        """A JSON form for the browser."""
        return {"q": self.name, "c": self.condition.to_json()}


@dataclass(frozen=True)
class All:
    """Every part holds."""

    parts: tuple[Any, ...]
    path: Path

    def test(self, subject: Any) -> bool:
        """Whether every part holds."""
        return all(p.test(subject) for p in self.parts)

    def to_json(self) -> dict[str, Any]:
        """A JSON form for the browser."""
        return {"all": [p.to_json() for p in self.parts]}


@dataclass(frozen=True)
class AnyOf:
    """At least one part holds."""

    parts: tuple[Any, ...]
    path: Path

    def test(self, subject: Any) -> bool:
        """Whether any part holds."""
        return any(p.test(subject) for p in self.parts)

    def to_json(self) -> dict[str, Any]:
        """A JSON form for the browser."""
        return {"any": [p.to_json() for p in self.parts]}


@dataclass(frozen=True)
class Not:
    """The part does not hold."""

    part: Any
    path: Path

    def test(self, subject: Any) -> bool:
        """Whether the part fails."""
        return not self.part.test(subject)

    def to_json(self) -> dict[str, Any]:
        """A JSON form for the browser."""
        return {"not": self.part.to_json()}


def _combinator(key: str, raw: Any, path: Path, parse: Callable[[Any, Path], Any]) -> Any:
    """Parse `all` / `any` / `not` around parts parsed by `parse`."""
    here = path + (key,)
    if key == "not":
        return Not(parse(raw, here), here)
    if not isinstance(raw, list) or not raw:
        raise ConditionSyntaxError(here, f"'{key}' takes a non-empty list of conditions")
    parts = tuple(parse(item, here + (i,)) for i, item in enumerate(raw))
    return All(parts, here) if key == "all" else AnyOf(parts, here)


def _scalar(raw: Any, path: Path, what: str) -> Any:
    """A plain value in a condition: a string or a number."""
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        raise ConditionSyntaxError(path, f"{what} must be a text or a number, not {raw!r}")
    return raw


def parse_value_condition(raw: Any, path: Path = ()) -> Any:
    """Parse a condition on one answer."""
    if not isinstance(raw, dict):
        return Equals(_scalar(raw, path, "a value to compare with"), path)
    if len(raw) != 1:
        raise ConditionSyntaxError(
            path,
            "a condition on one answer has exactly one key (one of "
            f"{', '.join(COMBINATORS + OPERATORS)}); combine several with 'all'",
        )
    ((key, arg),) = raw.items()
    here = path + (key,)
    if key in COMBINATORS:
        return _combinator(key, arg, path, parse_value_condition)
    if key == "in":
        if not isinstance(arg, list) or not arg:
            raise ConditionSyntaxError(here, "'in' takes a non-empty list of values")
        return In(tuple(_scalar(v, here + (i,), "a value") for i, v in enumerate(arg)), here)
    if key in ("gte", "lte"):
        return Compare(key, _scalar(arg, here, f"'{key}'"), here)
    if key == "answered":
        if not isinstance(arg, bool):
            raise ConditionSyntaxError(here, "'answered' takes true or false")
        return Answered(arg, here)
    raise ConditionSyntaxError(here, f"unknown operator '{key}' (expected one of {', '.join(COMBINATORS + OPERATORS)})")


def parse_named_condition(raw: Any, path: Path = ()) -> Any:
    """Parse a condition that names the answers it tests."""
    if not isinstance(raw, dict) or not raw:
        raise ConditionSyntaxError(path, "expected a mapping such as {question_id: value} or {all: [...]}")
    parts = []
    for key, arg in raw.items():
        if key in COMBINATORS:
            parts.append(_combinator(key, arg, path, parse_named_condition))
        elif key in OPERATORS:
            raise ConditionSyntaxError(
                path + (key,),
                f"'{key}' must be inside a question: write {{question_id: {{{key}: ...}}}}",
            )
        else:
            parts.append(Check(str(key), parse_value_condition(arg, path + (key,)), path + (key,)))
    return parts[0] if len(parts) == 1 else All(tuple(parts), path)


def walk(condition: Any) -> Iterator[Any]:
    """Every node of a condition tree, outermost first."""
    yield condition
    if isinstance(condition, (All, AnyOf)):
        for part in condition.parts:
            yield from walk(part)
    elif isinstance(condition, Not):
        yield from walk(condition.part)
    elif isinstance(condition, Check):
        yield from walk(condition.condition)


def names(condition: Any) -> list[Check]:
    """The named leaves of a named condition."""
    return [node for node in walk(condition) if isinstance(node, Check)]


Test = Callable[[Any], bool]


def compile_condition(condition: Any) -> Test:
    """The condition as one plain function (answer -> bool, or values -> bool for a named
    condition), so testing it costs a few calls and no attribute look-ups."""
    if isinstance(condition, Equals):
        value = condition.value

        def equals(answer: Any) -> bool:
            if isinstance(answer, list):
                return value in answer
            return answer is not None and answer == value

        return equals
    if isinstance(condition, In):
        values = condition.values

        def among(answer: Any) -> bool:
            if isinstance(answer, list):
                return any(v in answer for v in values)
            return answer is not None and answer in values

        return among
    if isinstance(condition, Compare):
        bound, at_least = condition.bound, condition.op == "gte"

        def compare(answer: Any) -> bool:
            if answer is None or isinstance(answer, (list, bool)):
                return False
            return bool(answer >= bound if at_least else answer <= bound)

        return compare
    if isinstance(condition, Answered):
        expected = condition.expected
        return lambda answer: is_answered(answer) == expected
    if isinstance(condition, Check):
        name, inner = condition.name, compile_condition(condition.condition)
        return lambda values: inner(values.get(name))
    if isinstance(condition, All):
        parts = tuple(compile_condition(p) for p in condition.parts)
        return lambda subject: all(p(subject) for p in parts)
    if isinstance(condition, AnyOf):
        parts = tuple(compile_condition(p) for p in condition.parts)
        return lambda subject: any(p(subject) for p in parts)
    if isinstance(condition, Not):
        part = compile_condition(condition.part)
        return lambda subject: not part(subject)
    raise TypeError(f"not a condition: {condition!r}")
