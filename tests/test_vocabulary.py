"""The vocabulary: levels and outcomes in order, and stored flags read back typed."""

from __future__ import annotations

import ast
from pathlib import Path

from screening.models import OUTCOME_RANK
from screening.questionnaire.vocabulary import (
    LEVEL_WORDS,
    LEVELS,
    OUTCOME_LABELS,
    OUTCOME_OF_LEVEL,
    OUTCOME_OF_RANK,
    OUTCOME_WORDS,
    OUTCOMES,
    Flag,
    StoredFlag,
    advice_words,
    highest,
    level_rank,
    stored_flags,
)

CORE = Path(__file__).resolve().parent.parent / "screening"


def test_every_level_and_outcome_has_its_words_and_rank():
    """One list each, and every table covers it in that order."""
    assert list(OUTCOME_OF_LEVEL) == list(LEVELS) == list(LEVEL_WORDS)
    assert list(OUTCOME_LABELS) == list(OUTCOMES) == list(OUTCOME_WORDS) == list(OUTCOME_RANK)
    assert [OUTCOME_OF_RANK[r] for r in sorted(OUTCOME_OF_RANK)] == list(OUTCOMES)
    assert [level_rank(level) for level in LEVELS] == [0, 1, 2, 3]
    assert level_rank("made_up") == len(LEVELS)
    assert advice_words("same_day") == "same day" and advice_words(None) is None


def test_a_stored_flag_reads_back_as_it_was_written():
    """to_dict -> JSON -> from_dict gives the same flag; missing parts are left empty, not errors."""
    flag = Flag("saddle_numbness", "urgent", "Possible CES.", "S4", "emergency", ("saddle_numbness",))
    assert StoredFlag.from_dict(flag.to_dict()) == flag
    old = StoredFlag.from_dict({"id": "x", "level": "precaution"})
    assert (old.reason, old.source, old.advice, old.about) == ("", "", None, ())
    assert old.level_words == "Precaution" and old.rank == 2


def test_the_highest_flag_is_the_first_of_the_highest_level():
    """Unknown levels rank last; ties keep the stored order."""
    flags = stored_flags(
        [
            {"id": "a", "level": "note"},
            {"id": "b", "level": "mystery"},
            {"id": "c", "level": "precaution"},
            {"id": "d", "level": "precaution"},
        ]
    )
    assert highest(flags).id == "c"
    assert highest([]) is None
    assert stored_flags(None) == []


def test_the_clinical_core_imports_no_web_framework_and_no_database():
    """questionnaire/, rules.py and embedded_cases.py import only the standard library, yaml,
    pydantic, babel (the gettext catalogs of translations.py) and each other."""
    allowed = {"__future__", "collections", "copy", "dataclasses", "datetime", "functools", "hashlib", "io", "json",
               "operator", "pathlib", "random", "re", "typing", "yaml", "pydantic", "babel"}  # fmt: skip
    top = {"rules", "embedded_cases"}  # the core's modules beside questionnaire/
    files = [*sorted((CORE / "questionnaire").glob("*.py")), *(CORE / f"{name}.py" for name in sorted(top))]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.ImportFrom):  # relative: inside the core only
                targets = {node.module.split(".")[0]} if node.module else {alias.name for alias in node.names}
                inside = node.level == 1 and (path.parent.name == "questionnaire" or targets <= top | {"questionnaire"})
                assert inside, f"{path.name} imports .{node.module} from outside the core"
                continue
            else:
                continue
            for name in names:
                assert name.split(".")[0] in allowed, f"{path.name} imports {name}"


def test_the_patient_side_and_the_clinicians_side_do_not_import_each_other():
    """intake/ never imports review/, and review/ never imports intake/ (relative or absolute)."""
    for side, other in (("intake", "review"), ("review", "intake")):
        for path in sorted((CORE / side).glob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom):
                    module = node.module or ""
                    absolute = module if node.level == 0 else ("screening." + module if node.level == 2 else "")
                    assert not absolute.startswith(f"screening.{other}"), f"{side}/{path.name} imports {module}"
                elif isinstance(node, ast.Import):
                    assert not any(a.name.startswith(f"screening.{other}") for a in node.names), path.name
