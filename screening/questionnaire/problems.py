"""What is wrong with a questionnaire file: problems with their path and line."""

from __future__ import annotations

from dataclasses import dataclass

Path = tuple[str | int, ...]


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


class QuestionnairesError(QuestionnaireError):
    """Several questionnaire files are not valid: each one's problems, file by file."""

    def __init__(self, errors: list[QuestionnaireError]) -> None:
        self.errors = errors
        super().__init__(", ".join(e.source for e in errors), [p for e in errors for p in e.problems])

    def report(self) -> str:
        """Each file's report in turn."""
        return "\n".join(e.report() for e in self.errors)
