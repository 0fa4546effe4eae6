"""The questionnaire validator: every kind of mistake is caught and located."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from screening import create_app
from screening.questionnaire import QuestionnaireError, load, loads

from .conftest import SMALL

BASE = yaml.safe_load(Path(SMALL).read_text())


def problems_of(data=None, text: str | None = None) -> list[tuple[str, str, int | None]]:
    """Validate data (dumped to YAML) or text; return (path, message, line) of each problem."""
    if text is None:
        text = yaml.safe_dump(data, sort_keys=False)
    with pytest.raises(QuestionnaireError) as caught:
        loads(text, source="clinic.yaml")
    assert "clinic.yaml" in str(caught.value)
    return [(p.where(), p.message, p.line) for p in caught.value.problems]


def changed(edit) -> dict:
    """A copy of the small questionnaire with one edit applied."""
    data = copy.deepcopy(BASE)
    edit(data)
    return data


def one_problem(data) -> tuple[str, str, int | None]:
    """Exactly one problem, returned."""
    found = problems_of(data)
    assert len(found) == 1, found
    return found[0]


def test_the_small_file_is_valid():
    defn = load(SMALL)
    assert list(defn.questions)[:2] == ["numb", "ill"]
    assert len(defn.version) == 64


def test_unknown_key_is_named_with_its_path_and_line():
    path, message, line = one_problem(changed(lambda d: d["sections"][0]["questions"][1].update(colour="red")))
    assert path == "sections[0].questions[1].colour"
    assert "unknown key 'colour'" in message
    assert line is not None and line > 1


def test_unknown_question_type():
    path, message, _ = one_problem(changed(lambda d: d["sections"][1]["questions"][0].update(type="slider")))
    assert path == "sections[1].questions[0].type"
    assert "'slider'" in message and "yes_no" in message


def test_wrong_flag_level():
    path, message, _ = one_problem(
        changed(lambda d: d["sections"][0]["questions"][0]["flags"][0].update(level="severe"))
    )
    assert path == "sections[0].questions[0].flags[0].level"
    assert "'severe'" in message and "contraindication" in message


def test_duplicate_question_id():
    path, message, _ = one_problem(changed(lambda d: d["sections"][1]["questions"][0].update(id="numb")))
    assert path == "sections[1].questions[0].id"
    assert "duplicate question id 'numb'" in message


def test_duplicate_section_id():
    path, message, _ = one_problem(changed(lambda d: d["sections"][1].update(id="first")))
    assert path == "sections[1].id"
    assert "duplicate section id 'first'" in message


def test_section_id_taken_by_another_page():
    path, message, _ = one_problem(changed(lambda d: d["sections"][1].update(id="check")))
    assert path == "sections[1].id"
    assert "/intake/check" in message


def test_option_value_used_twice():
    def edit(d):
        d["sections"][0]["questions"][1]["options"][2]["value"] = "fever"
        d["sections"][0]["questions"][1]["flags"].pop()  # its flag named the old value
        d["tests"].pop(2)  # and so did this case

    path, message, _ = one_problem(changed(edit))
    assert path == "sections[0].questions[1].options[2].value"
    assert "'fever' is used twice" in message


def test_key_given_twice_in_yaml():
    text = Path(SMALL).read_text().replace("  intro: Answer a few questions.\n", "  intro: A.\n  intro: B.\n", 1)
    ((path, message, line),) = problems_of(text=text)
    assert path == "questionnaire.intro"
    assert "given twice" in message
    assert line == 6  # the second 'intro'


def test_broken_yaml_names_the_line():
    text = Path(SMALL).read_text().replace("title: First page", "title: [First page", 1)
    ((_, message, line),) = problems_of(text=text)
    assert "not valid YAML" in message
    assert line is not None


def test_condition_naming_a_question_that_does_not_exist():
    path, message, _ = one_problem(
        changed(lambda d: d["sections"][0]["questions"][3].update(show_if={"had_cancr": "yes"}))
    )
    assert path == "sections[0].questions[3].show_if.had_cancr"
    assert "'had_cancr' is not a question" in message


def test_condition_naming_a_later_question():
    path, message, _ = one_problem(changed(lambda d: d["sections"][0]["questions"][3].update(show_if={"sex": "male"})))
    assert path == "sections[0].questions[3].show_if.sex"
    assert "asked after" in message


def test_condition_value_the_question_cannot_take():
    path, message, _ = one_problem(changed(lambda d: d["sections"][0]["questions"][0]["flags"][0].update(when="Yes")))
    assert path == "sections[0].questions[0].flags[0].when"
    assert "'Yes' is not an answer 'numb' can take" in message


def test_rule_value_the_question_cannot_take():
    def edit(d):
        d["rules"][0]["when"] = {"all": [{"had_cancer": "yes"}, {"cancer_checked": {"not": "y"}}]}

    path, message, _ = one_problem(changed(edit))
    assert path == "rules[0].when.all[1].cancer_checked.not"
    assert "could never match" in message


def test_unknown_operator_in_condition():
    path, message, _ = one_problem(changed(lambda d: d["derived"]["age"]["flags"][0].update(when={"less": 16})))
    assert path == "derived.age.flags[0].when.less"
    assert "unknown operator 'less'" in message


def test_comparison_on_a_yes_no_question():
    path, message, _ = one_problem(
        changed(lambda d: d["sections"][0]["questions"][0]["flags"][0].update(when={"gte": 3}))
    )
    assert path == "sections[0].questions[0].flags[0].when.gte"
    assert "only works on numbers" in message


def test_flag_without_source():
    path, message, _ = one_problem(changed(lambda d: d["sections"][0]["questions"][0]["flags"][0].pop("source")))
    assert path == "sections[0].questions[0].flags[0].source"
    assert "'source' is required" in message


def test_rule_with_empty_source():
    path, message, _ = one_problem(changed(lambda d: d["rules"][0].update(source="")))
    assert path == "rules[0].source"


def test_source_citing_an_unlisted_reference():
    path, message, _ = one_problem(changed(lambda d: d["rules"][0].update(source="S1, S9")))
    assert path == "rules[0].source"
    assert "S9" in message


def test_urgent_flag_without_advice():
    path, message, _ = one_problem(changed(lambda d: d["sections"][0]["questions"][0]["flags"][0].pop("advice")))
    assert path == "sections[0].questions[0].flags[0].advice"
    assert "needs 'advice'" in message


def test_urgent_flag_with_unknown_advice():
    path, message, _ = one_problem(
        changed(lambda d: d["sections"][0]["questions"][0]["flags"][0].update(advice="asap"))
    )
    assert path == "sections[0].questions[0].flags[0].advice"
    assert "unknown advice 'asap'" in message


def test_advice_on_a_flag_that_is_not_urgent():
    path, message, _ = one_problem(
        changed(lambda d: d["sections"][0]["questions"][1]["flags"][1].update(advice="emergency"))
    )
    assert path == "sections[0].questions[1].flags[1].advice"


def test_key_a_question_type_does_not_take():
    path, message, _ = one_problem(changed(lambda d: d["sections"][0]["questions"][0].update(max_length=10)))
    assert path == "sections[0].questions[0].max_length"
    assert "not used by questions of type yes_no" in message


def test_choice_question_without_options():
    def edit(d):
        question = d["sections"][1]["questions"][4]
        question.pop("options")
        question.pop("flags")

    path, message, _ = one_problem(changed(edit))
    assert path == "sections[1].questions[4].options"


def test_min_above_max():
    path, message, _ = one_problem(changed(lambda d: d["sections"][1]["questions"][6].update(min=30)))
    assert path == "sections[1].questions[6].min"
    assert "greater than max" in message


def test_bad_question_id():
    path, message, _ = one_problem(changed(lambda d: d["sections"][1]["questions"][0].update(id="Full Name")))
    assert path == "sections[1].questions[0].id"
    assert "lower_snake_case" in message


def test_question_named_like_an_operator():
    path, message, _ = one_problem(changed(lambda d: d["sections"][1]["questions"][0].update(id="any")))
    assert path == "sections[1].questions[0].id"
    assert "condition language" in message


def test_derived_value_from_a_question_that_is_not_a_date():
    path, message, _ = one_problem(changed(lambda d: d["derived"]["age"].update(years_since="name")))
    assert path == "derived.age.years_since"
    assert "needs a date" in message


def test_rule_id_that_is_a_question_id():
    def edit(d):
        d["rules"][0]["id"] = "numb"
        d["tests"][4]["flags"] = ["numb"]

    path, message, _ = one_problem(changed(edit))
    assert path == "rules[0].id"
    assert "already a question" in message


def test_missing_outcome_message():
    path, message, _ = one_problem(changed(lambda d: d["outcomes"].pop("review")))
    assert path == "outcomes.review"
    assert "required" in message


def test_case_with_an_unknown_question():
    path, message, _ = one_problem(changed(lambda d: d["tests"][0]["answers"].update(numbb="yes")))
    assert path == "tests[0].answers.numbb"


def test_case_with_an_invalid_answer():
    path, message, _ = one_problem(changed(lambda d: d["tests"][0]["answers"].update(pain=11)))
    assert path == "tests[0].answers.pain"
    assert "between 0 and 10" in message


def test_case_expecting_an_unknown_flag():
    path, message, _ = one_problem(changed(lambda d: d["tests"][0].update(flags=["numbness"])))
    assert path == "tests[0].flags[0]"


def test_every_problem_is_reported_at_once():
    def edit(d):
        d["sections"][0]["questions"][0]["type"] = "slider"
        d["sections"][1]["questions"][0]["colour"] = "red"
        d["rules"][0]["level"] = "severe"

    paths = {p for p, _, _ in problems_of(changed(edit))}
    assert {"sections[0].questions[0].type", "sections[1].questions[0].colour", "rules[0].level"} <= paths


def test_bare_yes_and_no_are_read_as_text():
    text = Path(SMALL).read_text().replace('- when: "yes"', "- when: yes", 1).replace('{value: "no",', "{value: no,")
    defn = loads(text)
    assert defn.questions["ill"].values[0] == "no"
    assert defn.questions["numb"].flags[0].condition.value == "yes"


def test_the_app_refuses_to_start_on_an_invalid_file(tmp_path):
    broken = tmp_path / "questions.yaml"
    broken.write_text(Path(SMALL).read_text().replace("level: urgent", "level: severe", 1))
    with pytest.raises(QuestionnaireError) as caught:
        create_app({"SECRET_KEY": "x", "QUESTIONS_PATH": str(broken)}, instance_path=str(tmp_path))
    assert "sections[0].questions[0].flags[0].level" in str(caught.value)


def test_number_condition_written_as_text_can_never_match():
    """`when: "3"` on a number question would never fire: refused."""

    def edit(d):
        d["sections"][1]["questions"][6]["flags"] = [{"when": "3", "level": "note", "reason": "r", "source": "S1"}]

    path, message, _ = one_problem(changed(edit))
    assert path == "sections[1].questions[6].flags[0].when"
    assert "whole number" in message


def test_comparison_beyond_the_questions_range_can_never_match():
    """`{gte: 30}` on a question whose max is 24 would never fire: refused."""

    def edit(d):
        flag = {"when": {"gte": 30}, "level": "note", "reason": "r", "source": "S1"}
        d["sections"][1]["questions"][6]["flags"] = [flag]

    path, message, _ = one_problem(changed(edit))
    assert path == "sections[1].questions[6].flags[0].when.gte"
    assert "only takes 0 to 24" in message


def test_date_condition_that_is_not_a_date():
    """A date question compared with words would never fire: refused."""

    def edit(d):
        d["sections"][1]["questions"][1]["flags"] = [
            {"when": "last year", "level": "note", "reason": "r", "source": "S1"}
        ]

    path, message, _ = one_problem(changed(edit))
    assert path == "sections[1].questions[1].flags[0].when"
    assert "date" in message


def test_the_app_refuses_to_start_when_an_embedded_case_fails(tmp_path):
    """Lowering a red flag's level without updating its case stops the app, naming the case."""
    weakened = tmp_path / "questions.yaml"
    text = Path(SMALL).read_text().replace("level: urgent\n            advice: emergency\n", "level: note\n", 1)
    weakened.write_text(text)
    with pytest.raises(QuestionnaireError) as caught:
        create_app({"SECRET_KEY": "x", "QUESTIONS_PATH": str(weakened)}, instance_path=str(tmp_path))
    assert "case 'numb is urgent' fails" in str(caught.value)
