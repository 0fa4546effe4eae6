"""Reading questions.yaml: YAML 1.2-style scalars, a line for every path, no duplicate keys."""

from __future__ import annotations

import re
from typing import Any

import yaml

from .problems import Path, Problem, QuestionnaireError

# libyaml's parser when PyYAML has it (several times faster at start-up); same results.
_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[valid-type,misc]
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


def _map_lines(node: yaml.Node, path: Path, lines: dict[Path, int], problems: list[Problem]) -> None:
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
