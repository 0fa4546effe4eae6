"""Checks that need the whole definition: ids, references, values, sources, embedded cases.

The checks of earlier answers (`first_visit.<id>`, `last_check.<id>`) are in earlier.py."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from . import conditions as cond
from . import earlier, safety
from .problems import Path, Problem, format_path
from .qtypes import CHOICE_TYPES, NUMERIC_TYPES, TYPE_KEYS, TYPED_KEYS, AnswerError, parse_date
from .schema import IDENT, RESERVED_SECTION_IDS, SLUG, SOURCE_REF_RE, Definition, Derived, FlagDef, Question, Rule


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


def run(defn: Definition) -> list[Problem]:
    """Every problem of a structurally valid definition, in file order. Reports only: the
    definition is not changed (`link.link` then connects its parts)."""
    return _Checker(defn).run()


class _Checker:
    """Checks that need the whole definition: ids, references, values, sources."""

    def __init__(self, defn: Definition) -> None:
        self.defn = defn
        self.problems: list[Problem] = []
        self.position: dict[str, int] = {}  # question id -> order asked
        # Questions by id as the walk meets them, so a condition can only find earlier ones.
        self.questions: dict[str, Question] = {}

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
                self._question(("sections", si, "questions", qi), q)
        for name, derived in d.derived.items():
            self._derived(("derived", name), name, derived)
        rule_ids: dict[str, int] = {}
        for ri, rule in enumerate(d.rules):
            self._rule(("rules", ri), rule, rule_ids)
        self._sources()
        self._cases()
        self.problems += safety.problems(d)
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

    def _question(self, path: Path, q: Question) -> None:
        """One question: its id, the keys its type takes, options, limits, conditions."""
        d = self.defn
        if q.id in cond.RESERVED_NAMES:
            self.add(path + ("id",), f"'{q.id}' is a word of the condition language; choose another id")
        if q.id in self.position or q.id in d.derived:
            self.add(path + ("id",), f"duplicate question id '{q.id}'")
        else:
            self.position[q.id] = len(self.position)
            self.questions[q.id] = q
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
            self._named(path + ("show_if",), q.show_if, before=q.id)
        for fi, flag in enumerate(q.flags):
            self._on_answer(path + ("flags", fi, "when"), flag.when, q)
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

    def _parse(self, path: Path, raw: Any, parser: Callable[[Any, Path], Any]) -> Any:
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
        if cond.scope_of(name) is not None:
            self._earlier_reference(check)
            return
        if name in d.derived:
            source = d.derived[name].years_since
            if before is not None and self.position.get(source, 1 << 30) >= self.position.get(before, 0):
                self.add(check.path, f"'{name}' is worked out from '{source}', which is not asked before '{before}'")
            self._values_fit(check.condition, None, derived=True)
            return
        q = self.questions.get(name)
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

    def _earlier_reference(self, check: cond.Check) -> None:
        """`first_visit.<id>` or `last_check.<id>`: an answer the patient gave before."""
        found = earlier.resolve(self.defn, check.name)
        if isinstance(found, str):
            self.add(check.path, found)
        elif found is not None:
            self._values_fit(check.condition, found.question, derived=found.derived)

    def _derived(self, path: Path, name: str, derived: Derived) -> None:
        """A derived value: its name is free and its source is a date question."""
        if name in cond.RESERVED_NAMES or not re.match(IDENT, name):
            self.add(path, f"'{name}' is not a valid name for a derived value")
        source = self.questions.get(derived.years_since)
        if source is None:
            self.add(path + ("years_since",), f"'{derived.years_since}' is not a question in this questionnaire")
        elif source.type != "date":
            self.add(
                path + ("years_since",),
                f"'{derived.years_since}' is a {source.type} question; years_since needs a date",
            )
        for fi, flag in enumerate(derived.flags):
            self._on_answer(path + ("flags", fi, "when"), flag.when, None, derived=True)
            self._flag(path + ("flags", fi), flag)

    def _rule(self, path: Path, rule: Rule, seen: dict[str, int]) -> None:
        """A rule: a free id, a condition over known answers, and a well-formed flag."""
        if rule.id in self.questions or rule.id in self.defn.derived:
            self.add(
                path + ("id",),
                f"rule id '{rule.id}' is already a question or derived value: flags could not be told apart",
            )
        if rule.id in seen:
            self.add(path + ("id",), f"duplicate rule id '{rule.id}' (also at rules[{seen[rule.id]}])")
        seen.setdefault(rule.id, int(path[1]))
        self._named(path + ("when",), rule.when, before=None)
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
        flag_ids = {q.id for q in self.questions.values() if q.flags}
        flag_ids |= {name for name, der in d.derived.items() if der.flags}
        flag_ids |= {r.id for r in d.rules}
        for ci, case in enumerate(d.tests):
            path = ("tests", ci)
            today = dt.date.fromisoformat(case.today) if case.today and parse_date(case.today) else None
            for qid, value in case.answers.items():
                q = self.questions.get(qid)
                if q is None:
                    self.add(path + ("answers", qid), f"'{qid}' is not a question in this questionnaire")
                    continue
                try:
                    q.coerce(value, today)
                except AnswerError as exc:
                    self.add(path + ("answers", qid), f"{value!r} is not a valid answer to '{qid}': {exc}")
            for scope, given in (case.earlier or {}).items():
                self.problems += earlier.case_answer_problems(d, path + ("earlier", scope), scope, given, today)
            if case.today and parse_date(case.today) is None:
                self.add(path + ("today",), f"{case.today!r} is not a real date")
            for fi, fid in enumerate(case.flags or ()):
                if fid not in flag_ids:
                    self.add(path + ("flags", fi), f"'{fid}' is not the id of any flag or rule")
            for di, qid in enumerate(case.dropped or ()):
                if qid not in self.questions:
                    self.add(path + ("dropped", di), f"'{qid}' is not a question in this questionnaire")
