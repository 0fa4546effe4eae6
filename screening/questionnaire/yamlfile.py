"""Reading questions.yaml: YAML 1.2-style scalars, a line for every path, no duplicate keys."""

from __future__ import annotations

import re
from typing import Any

import yaml

from .problems import Path, Problem, QuestionnaireError


class _Limits:
    """Counts aliases while the file is composed, and nodes while their lines are mapped."""

    def __init__(self) -> None:
        self.aliases = 0
        self.nodes = 0


class _Loader(yaml.SafeLoader):
    """A safe loader that reads `yes`/`no` and dates as text, as YAML 1.2 does.

    YAML 1.1 turns a bare `no` into false and `2020-01-01` into a date object, which
    would silently break `when: no` or an option value `no`; here only true/false are
    booleans and dates stay text for the validator to check.
    """

    limits: _Limits
    source: str


def _compose_node(self: _Loader, parent: Any, index: Any) -> Any:
    """Compose as PyYAML does, counting aliases (a bounded number per file)."""
    if self.check_event(yaml.AliasEvent):
        self.limits.aliases += 1
        if self.limits.aliases > MAX_ALIASES:
            line = self.peek_event().start_mark.line + 1  # type: ignore[no-untyped-call]
            message = f"more than {MAX_ALIASES} aliases (*name): is this an alias bomb?"
            raise QuestionnaireError(self.source, [Problem((), message, line)])
    return yaml.SafeLoader.compose_node(self, parent, index)


_Loader.compose_node = _compose_node  # type: ignore[method-assign, assignment]

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


# Anchors and aliases (&name, *name) may repeat a block, but a few nested ones can
# stand for billions of nodes (a "billion laughs" file grew to 3 GB): past these limits
# the file is refused with the line where it went too far.
MAX_ALIASES = 100
MAX_NODES = 100_000
# Control characters other than tab, newline and carriage return: never meant, and
# PyYAML's own message for them names no file.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _control_characters(text: str) -> list[Problem]:
    """Each line holding a control character, with which one and where."""
    problems = []
    for number, line in enumerate(text.split("\n"), start=1):
        found = _CONTROL.search(line)
        if found:
            name = "NUL" if found.group() == "\x00" else f"U+{ord(found.group()):04X}"
            problems.append(
                Problem((), f"a control character ({name}) in column {found.start() + 1}: remove it", number)
            )
    return problems


def _parse_yaml(text: str, source: str) -> tuple[Any, dict[Path, int]]:
    """Parse YAML text into data and a map of path -> line number (1-based)."""
    control = _control_characters(text)
    if control:
        raise QuestionnaireError(source, control)
    loader = _Loader(text)
    loader.limits = _Limits()
    loader.source = source
    try:
        node = loader.get_single_node()
        if node is None:
            raise QuestionnaireError(source, [Problem((), "the file is empty")])
        lines: dict[Path, int] = {}
        problems: list[Problem] = []
        _map_lines(node, (), lines, problems, loader.limits, source)
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


def _map_lines(
    node: yaml.Node, path: Path, lines: dict[Path, int], problems: list[Problem], limits: _Limits, source: str
) -> None:
    """Record the line of every node, and catch keys given twice in one mapping."""
    limits.nodes += 1
    if limits.nodes > MAX_NODES:
        message = f"more than {MAX_NODES} values once aliases (*name) are expanded: is this an alias bomb?"
        raise QuestionnaireError(source, [Problem((), message, node.start_mark.line + 1)])
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            line = key_node.start_mark.line + 1
            if key in seen:
                problems.append(Problem(path + (key,), f"key '{key}' is given twice (first on line {seen[key]})", line))
            seen[key] = line
            _map_lines(value_node, path + (key,), lines, problems, limits, source)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _map_lines(item, path + (i,), lines, problems, limits, source)
