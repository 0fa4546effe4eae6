"""questions.yaml that would crash or swamp the loader (issue 13, item 21): clear errors with file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from screening.questionnaire import QuestionnaireError, loads

from .conftest import DEFAULT

BOMB = """\
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
"""


@pytest.mark.parametrize("character", ["\x00", "\x07", "\x1b", "\x85"])
def test_a_control_character_is_named_with_its_file_and_line(character):
    """A NUL (or other control character) on line 3: the error says the file, the line and the column."""
    text = Path(DEFAULT).read_text(encoding="utf-8").split("\n")
    text[2] = text[2] + character
    with pytest.raises(QuestionnaireError) as caught:
        loads("\n".join(text), source="questions.yaml")
    report = caught.value.report()
    assert "questions.yaml:3" in report and "control character" in report


def test_an_alias_bomb_is_refused_quickly_with_its_line():
    """Nine levels of nine aliases (387 million strings) are refused at once, naming the line."""
    with pytest.raises(QuestionnaireError) as caught:
        loads(BOMB, source="bomb.yaml")
    report = caught.value.report()
    assert "bomb.yaml:" in report and "alias bomb" in report


def test_a_few_aliases_still_work():
    """Anchors and aliases are YAML: a file using a handful is read as before."""
    with pytest.raises(QuestionnaireError) as caught:
        loads("x: &x [1, 2]\ny: *x\n", source="small.yaml")
    assert "alias" not in caught.value.report()  # refused for being no questionnaire, not for the alias
