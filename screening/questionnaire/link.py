"""Linking a checked definition: one explicit step after the checks, which only report.

It builds the question index, the page of each question and the parsed conditions
(what `Question.condition`, `Question.section_id` and `Definition.questions` read), and a
`Plan`: the questions in the order asked with their conditions compiled into plain
functions and their flags built once, so `rules.assess` walks plain tuples and never
touches a pydantic model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import conditions as cond
from .vocabulary import LEVEL_RANK, Flag

if TYPE_CHECKING:
    from .schema import Definition

Ranked = tuple[tuple[int, int], Flag]  # (sort key, flag): highest level, then most urgent advice, first


@dataclass(frozen=True, slots=True)
class Step:
    """One question, as `assess` needs it."""

    id: str
    required: bool
    show_if: cond.Test | None  # values -> shown?
    flags: tuple[tuple[cond.Test, Ranked], ...]  # answer -> raised?
    derives: tuple[str, ...]  # derived values worked out from this answer


@dataclass(frozen=True)
class Plan:
    """A definition ready to assess answers against."""

    steps: tuple[Step, ...]
    derived: tuple[str, ...]  # derived value names, in the file's order
    derived_flags: tuple[tuple[str, cond.Test, Ranked], ...]
    rules: tuple[tuple[cond.Test, Ranked], ...]  # values -> raised?
    same_page: frozenset[str]  # questions whose show_if looks at an answer on their own page
    earlier: tuple[str, ...] = ()  # earlier answers named (`first_visit.cancer_history`), in the order met


def link(defn: Definition) -> Plan:
    """Connect a checked definition's parts; returns (and keeps on it) the plan for assessing."""
    questions = {}
    for si, section in enumerate(defn.sections):
        for qi, q in enumerate(section.questions):
            path = ("sections", si, "questions", qi)
            questions[q.id] = q
            q._section = section.id
            if q.show_if is not None:
                q._show_if = cond.parse_named_condition(q.show_if, (*path, "show_if"))
            for fi, flag in enumerate(q.flags):
                flag._when = cond.parse_value_condition(flag.when, (*path, "flags", fi, "when"))
    for name, derived in defn.derived.items():
        for fi, flag in enumerate(derived.flags):
            flag._when = cond.parse_value_condition(flag.when, ("derived", name, "flags", fi, "when"))
    for ri, rule in enumerate(defn.rules):
        rule._when = cond.parse_named_condition(rule.when, ("rules", ri, "when"))
    defn._questions = questions
    plan = _plan(defn, questions)
    defn._plan = plan
    return plan


def _plan(defn: Definition, questions: dict[str, Any]) -> Plan:
    """The compiled form of a linked definition."""
    advice_order = list(defn.outcomes.urgent.advice)

    def ranked(owner: str, flag: Any, about: tuple[str, ...]) -> Ranked:
        advice = advice_order.index(flag.advice) if flag.advice in advice_order else len(advice_order)
        made = Flag(
            owner, flag.level, flag.reason, flag.source, flag.advice, about, flag.patient_reason, flag.next_step
        )
        return (LEVEL_RANK[flag.level], advice), made

    def source_of(name: str) -> str:
        return defn.derived[name].years_since if name in defn.derived else name

    derives: dict[str, list[str]] = {}
    for name, derived in defn.derived.items():
        derives.setdefault(derived.years_since, []).append(name)
    steps = []
    same_page = set()
    earlier: dict[str, None] = {}
    for qid, q in questions.items():
        condition = q.condition
        named = cond.names(condition) if condition is not None else []
        earlier.update((c.name, None) for c in named if cond.scope_of(c.name))
        if any(
            not cond.scope_of(check.name) and questions[source_of(check.name)].section_id == q.section_id
            for check in named
        ):
            same_page.add(qid)
        steps.append(
            Step(
                qid,
                q.required,
                cond.compile_condition(condition) if condition is not None else None,
                tuple((cond.compile_condition(f.condition), ranked(qid, f, (qid,))) for f in q.flags),
                tuple(derives.get(qid, ())),
            )
        )
    derived_flags = tuple(
        (name, cond.compile_condition(f.condition), ranked(name, f, (d.years_since,)))
        for name, d in defn.derived.items()
        for f in d.flags
    )
    rules = []
    for rule in defn.rules:
        earlier.update((c.name, None) for c in cond.names(rule.condition) if cond.scope_of(c.name))
        about = tuple(dict.fromkeys(source_of(check.name) for check in cond.names(rule.condition)))
        rules.append((cond.compile_condition(rule.condition), ranked(rule.id, rule, about)))
    return Plan(tuple(steps), tuple(defn.derived), derived_flags, tuple(rules), frozenset(same_page), tuple(earlier))
