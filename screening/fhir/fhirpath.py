"""Conditions as FHIRPath (SDC expressions) and, where they fit, as plain enableWhen.

Every atom is already true or false, never empty, so `and` / `or` / `not()` keep the
app's rule that an unanswered question matches no value (`{not: "yes"}` holds when it
was not answered). An answer is read only while its question is shown: a renderer that
kept a hidden question's answer still raises no flag from it, as `rules.assess` does.
"""

from __future__ import annotations

import json
from typing import Any

from ..questionnaire import Definition, Question
from ..questionnaire import conditions as cond
from .codes import CS_BODY_MAP, options_system


class Unsupported(ValueError):
    """A condition FHIRPath generation does not cover."""


def _literal(value: Any) -> str:
    """A FHIRPath literal for a number, a date or a text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value)
    if _is_date(text):
        return f"@{text}"
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _is_date(text: str) -> bool:
    """YYYY-MM-DD."""
    return len(text) == 10 and text[4] == "-" and text[7] == "-" and text.replace("-", "").isdigit()


class Compiler:
    """Turns the conditions of one definition into FHIRPath."""

    def __init__(self, defn: Definition) -> None:
        self.defn = defn
        self._answers: dict[str, str] = {}

    # --- what a name reads ---------------------------------------------------------

    def answer(self, name: str) -> str:
        """The answers (a collection) of a question while it is shown, or a derived value."""
        if name in self._answers:
            return self._answers[name]
        scoped = cond.scope_of(name)
        if scoped is not None:
            # An earlier answer: the patient's earlier QuestionnaireResponse, given to the
            # form as a variable of that name (%first_visit).
            text = f"%{scoped[0]}.repeat(item).where(linkId='{scoped[1]}').answer.value"
        elif name in self.defn.derived:
            text = self.age(self.defn.derived[name].years_since)
        else:
            q = self.defn.questions[name]
            text = f"%resource.repeat(item).where(linkId='{name}').answer.value"
            if q.condition is not None:
                text += f".where({self.condition(q.condition)})"
        self._answers[name] = text
        return text

    def age(self, qid: str) -> str:
        """Whole years from the date answered to today (none for a future date)."""
        this, now = "$this.toString()", "today().toString()"
        return (
            f"{self.answer(qid)}.where($this <= today()).select(({now}.substring(0,4).toInteger() - "
            f"{this}.substring(0,4).toInteger()) - iif({now}.substring(5,5) < {this}.substring(5,5), 1, 0))"
        )

    # --- conditions ----------------------------------------------------------------

    def condition(self, node: Any) -> str:
        """A named condition (show_if, rule) as a FHIRPath boolean."""
        if isinstance(node, cond.Check):
            return self.value_condition(node.condition, node.name)
        if isinstance(node, cond.All):
            return " and ".join(f"({self.condition(p)})" for p in node.parts)
        if isinstance(node, cond.AnyOf):
            return " or ".join(f"({self.condition(p)})" for p in node.parts)
        if isinstance(node, cond.Not):
            return f"({self.condition(node.part)}).not()"
        raise Unsupported(f"not a named condition: {node!r}")

    def value_condition(self, node: Any, name: str) -> str:
        """A condition on the answer called `name` as a FHIRPath boolean."""
        answer = self.answer(name)
        if isinstance(node, cond.Equals):
            return f"{answer}.where({self._match(name)} = {self._value(name, node.value)}).exists()"
        if isinstance(node, cond.In):
            values = " | ".join(self._value(name, v) for v in node.values)
            return f"{answer}.where({self._match(name)} in ({values})).exists()"
        if isinstance(node, cond.Compare):
            op = ">=" if node.op == "gte" else "<="
            return f"{answer}.where($this {op} {_literal(node.bound)}).exists()"
        if isinstance(node, cond.Answered):
            return f"{answer}.exists()" if node.expected else f"{answer}.exists().not()"
        if isinstance(node, cond.All):
            return " and ".join(f"({self.value_condition(p, name)})" for p in node.parts)
        if isinstance(node, cond.AnyOf):
            return " or ".join(f"({self.value_condition(p, name)})" for p in node.parts)
        if isinstance(node, cond.Not):
            return f"({self.value_condition(node.part, name)}).not()"
        raise Unsupported(f"not a value condition: {node!r}")

    def flag(self, owner: str, node: Any) -> str:
        """A question's or derived value's flag: its `when` on that answer; a hidden question
        raises none, not even `{not: ...}`."""
        test = self.value_condition(node, owner)
        q = self._question(owner)
        if q is not None and q.condition is not None:
            return f"({self.condition(q.condition)}) and ({test})"
        return test

    def _question(self, name: str) -> Question | None:
        scoped = cond.scope_of(name)
        if scoped is None:
            return self.defn.questions.get(name)
        earlier = self.defn if scoped[0] == "last_check" else self.defn.first_visit_definition
        if earlier is None:  # a stored version: its first visit is not at hand
            return None
        return earlier.questions.get(scoped[1])

    def _match(self, name: str) -> str:
        """What a value is compared with: a Coding's code, or the value itself."""
        q = self._question(name)
        return "code" if q is not None and q.type in CODED else "$this"

    def _value(self, name: str, value: Any) -> str:
        """An answer value as the FHIR answer holds it."""
        q = self._question(name)
        if q is not None and q.type == "yes_no":
            return "true" if value == "yes" else "false" if value == "no" else _literal(value)
        if q is not None and q.type in CODED:
            return _literal(str(value))
        return _literal(value)


CODED = ("single_choice", "multi_choice", "consent", "body_map")


def option_system(q: Question, url: str) -> str:
    """The code system of a coded question's answers."""
    return CS_BODY_MAP if q.type == "body_map" else options_system(url)


def enable_when(defn: Definition, q: Question, url: str) -> tuple[list[dict[str, Any]], str | None] | None:
    """A show_if as plain enableWhen items and enableBehavior, when it is one `{q: value}` or
    a flat all/any of them on questions (not derived values); otherwise None."""
    node = q.condition
    behaviour = None
    if isinstance(node, (cond.All, cond.AnyOf)):
        behaviour = "all" if isinstance(node, cond.All) else "any"
        parts = list(node.parts)
    else:
        parts = [node]
    items = []
    for part in parts:
        if not (isinstance(part, cond.Check) and isinstance(part.condition, cond.Equals)):
            return None
        source = defn.questions.get(part.name)
        if source is None:
            return None
        value = part.condition.value
        if source.type == "yes_no":
            if value not in ("yes", "no"):
                return None
            answer: dict[str, Any] = {"answerBoolean": value == "yes"}
        elif source.type in CODED:
            answer = {"answerCoding": {"system": option_system(source, url), "code": str(value)}}
        elif source.type in ("number", "scale") and isinstance(value, int):
            answer = {"answerInteger": value}
        else:
            return None
        items.append({"question": part.name, "operator": "="} | answer)
    return items, (behaviour if len(items) > 1 else None)


def condition_json(raw: Any) -> str:
    """A YAML condition as JSON text (for the lossless sidecar)."""
    return json.dumps(raw, ensure_ascii=False, separators=(",", ":"))
