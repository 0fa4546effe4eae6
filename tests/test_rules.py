"""Conditions, derived values and outcomes, on plain data."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from screening import rules
from screening.questionnaire import conditions as cond
from screening.questionnaire import load, loads

from .conftest import SMALL

DEFN = load(SMALL)
TODAY = dt.date(2026, 11, 24)


@pytest.mark.parametrize(
    ("raw", "answer", "expected"),
    [
        ("yes", "yes", True),
        ("yes", "no", False),
        ("yes", None, False),
        ({"not": "yes"}, None, True),
        ({"in": ["a", "b"]}, "b", True),
        ({"in": ["a", "b"]}, "c", False),
        ({"in": ["a", "b"]}, ["c", "b"], True),
        ("back", ["back", "legs"], True),
        ("arms", ["back", "legs"], False),
        ({"gte": 65}, 65, True),
        ({"gte": 65}, 64, False),
        ({"lte": 15}, 15, True),
        ({"lte": 15}, None, False),
        ({"answered": True}, "", False),
        ({"answered": True}, [], False),
        ({"answered": False}, None, True),
        ({"all": [{"gte": 16}, {"lte": 19}]}, 17, True),
        ({"all": [{"gte": 16}, {"lte": 19}]}, 20, False),
        ({"any": ["a", "b"]}, "a", True),
        ({"gte": "2020-01-01"}, "2021-05-05", True),
    ],
)
def test_value_conditions(raw, answer, expected):
    """Each operator means what the schema says, including on unanswered questions (compiled alike)."""
    assert cond.parse_value_condition(raw).test(answer) is expected
    assert cond.compile_condition(cond.parse_value_condition(raw))(answer) is expected


def test_named_conditions_combine():
    """A mapping with several keys needs all of them; all/any/not nest."""
    c = cond.parse_named_condition({"a": "yes", "b": {"gte": 3}})
    assert c.test({"a": "yes", "b": 3})
    assert not c.test({"a": "yes", "b": 2})
    c = cond.parse_named_condition({"any": [{"a": "yes"}, {"not": {"b": {"answered": True}}}]})
    assert c.test({"a": "no"})
    assert not c.test({"a": "no", "b": 1})
    compiled = cond.compile_condition(c)
    assert compiled({"a": "no"}) and not compiled({"a": "no", "b": 1})


@pytest.mark.parametrize(
    ("raw", "path", "words"),
    [
        ({"a": {"gte": 1, "lte": 2}}, ("a",), "exactly one key"),
        ({"all": []}, ("all",), "non-empty list"),
        ({"gte": 3}, ("gte",), "must be inside a question"),
        ({"a": {"in": "x"}}, ("a", "in"), "non-empty list"),
        ({"a": {"answered": "yes"}}, ("a", "answered"), "true or false"),
        ("a", (), "expected a mapping"),
    ],
)
def test_condition_syntax_errors_point_inside(raw, path, words):
    """A malformed condition is refused, naming the place inside it."""
    with pytest.raises(cond.ConditionSyntaxError) as caught:
        cond.parse_named_condition(raw)
    assert caught.value.path == path
    assert words in caught.value.message


def test_conditions_serialise_for_the_browser():
    """The JSON form keeps the structure the page script evaluates."""
    c = cond.parse_named_condition({"all": [{"sex": {"not": "male"}}, {"pain": {"gte": 3}}]})
    assert c.to_json() == {"all": [{"q": "sex", "c": {"not": {"eq": "male"}}}, {"q": "pain", "c": {"gte": 3}}]}


@pytest.mark.parametrize(
    ("born", "today", "age"),
    [
        ("2000-11-24", TODAY, 26),
        ("2000-11-25", TODAY, 25),
        ("2000-02-29", dt.date(2021, 2, 28), 20),
        ("2000-02-29", dt.date(2021, 3, 1), 21),
    ],
)
def test_age_is_whole_years(born, today, age):
    """Age counts whole years, turning over on the birthday (29 February on 1 March)."""
    assert rules.derive(DEFN, {"born": born}, today) == {"age": age}


def test_no_age_without_a_date_of_birth():
    """Derived values are absent, not zero, when their answer is missing."""
    assert rules.derive(DEFN, {}, TODAY) == {}


def test_hidden_answers_are_dropped_before_rules_run():
    """An answer to a question hidden by show_if neither flags nor survives."""
    result = rules.evaluate(DEFN, {"had_cancer": "no", "cancer_checked": "no", "sex": "male", "pregnant": "yes"}, TODAY)
    assert result.answers == {"had_cancer": "no", "sex": "male"}
    assert sorted(result.dropped) == ["cancer_checked", "pregnant"]
    assert result.flags == []


def test_highest_level_wins_and_notes_never_change_the_outcome():
    """urgent > contraindication > precaution; notes alone are suitable."""
    assert rules.evaluate(DEFN, {"areas": ["back", "legs"]}, TODAY).outcome == "suitable"
    assert rules.evaluate(DEFN, {"sex": "female", "pregnant": "yes"}, TODAY).outcome == "review"
    assert rules.evaluate(DEFN, {"ill": "cold", "pregnant": "yes"}, TODAY).outcome == "not_suitable"
    result = rules.evaluate(DEFN, {"ill": "cold", "numb": "yes", "pregnant": "yes"}, TODAY)
    assert result.outcome == "urgent"
    assert [f.level for f in result.flags] == ["urgent", "contraindication", "precaution"]


def test_emergency_advice_outranks_same_day():
    """With both kinds of urgent flag, the patient is told the most urgent advice."""
    result = rules.evaluate(DEFN, {"ill": "fever", "numb": "yes"}, TODAY)
    assert result.advice == "emergency"
    assert [f.id for f in result.flags] == ["numb", "ill"]


def test_a_rule_flag_names_the_answers_behind_it():
    """Rules say which questions raised them, for highlighting on the record."""
    (flag,) = rules.evaluate(DEFN, {"had_cancer": "yes"}, TODAY).flags
    assert flag.id == "cancer_unchecked"
    assert flag.about == ("had_cancer", "cancer_checked")
    assert flag.source == "S1, S2"


def test_missing_required_follows_show_if():
    """A hidden required question is not missing; a shown one is."""
    answers = {"numb": "no", "ill": "no", "had_cancer": "no"}
    assert "cancer_checked" not in rules.missing_required(DEFN, answers, TODAY)
    assert "cancer_checked" in rules.missing_required(DEFN, {**answers, "had_cancer": "yes"}, TODAY)


@pytest.mark.parametrize(
    ("answers", "words"),
    [
        ({"nope": "yes"}, "unknown question id 'nope'"),
        ({"numb": "maybe"}, "numb: invalid answer 'maybe'"),
        ({"pain": 11}, "pain: invalid answer 11"),
        ({"pain": "5"}, "pain: invalid answer '5'"),
        ({"born": "2020-02-30"}, "born: invalid answer"),
        ({"areas": ["back", "toes"]}, "areas: invalid answer"),
        ([], "JSON object"),
    ],
)
def test_evaluate_input_refuses_bad_answers(answers, words):
    """Invalid input names the question and the value."""
    with pytest.raises(ValueError) as caught:
        rules.evaluate_input(DEFN, answers, TODAY)
    assert words in str(caught.value)


def test_a_hidden_question_raises_no_flag_even_on_not():
    """A flag written as `{not: ...}` does not fire for a question the patient never saw."""
    data = (
        Path(SMALL)
        .read_text()
        .replace(
            '- when: "yes"\n            level: precaution\n            reason: Pregnancy.',
            '- when: {not: "no"}\n            level: precaution\n            reason: Pregnancy.',
        )
    )
    defn = loads(data)
    assert [f.id for f in rules.evaluate(defn, {"sex": "female"}, TODAY).flags] == ["pregnant"]  # shown, unanswered
    assert rules.evaluate(defn, {"sex": "male"}, TODAY).flags == []  # hidden: never asked


def test_one_assessment_gives_everything_the_answers_mean():
    """assess: kept and dropped answers, derived values, shown and missing questions, flags, outcome."""
    answers = {"numb": "no", "ill": "cold", "had_cancer": "no", "cancer_checked": "yes", "born": "1950-06-01"}
    result = rules.assess(DEFN, answers, TODAY)
    assert list(result.answers) == ["numb", "ill", "had_cancer", "born"]
    assert result.dropped == ("cancer_checked",)
    assert result.derived == {"age": 76}
    assert "cancer_checked" not in result.shown and {"numb", "ill", "had_cancer", "name", "born"} <= result.shown_ids
    assert result.missing == tuple(rules.missing_required(DEFN, answers, TODAY))
    assert "name" in result.missing
    assert result.flags[0].id == "ill" and result.outcome == "not_suitable"
    old = rules.evaluate(DEFN, answers, TODAY)
    assert (old.answers, old.derived, old.flags, old.outcome) == (
        result.answers,
        result.derived,
        list(result.flags),
        result.outcome,
    )


def test_assess_agrees_with_the_question_by_question_rules_on_many_answer_sets():
    """The one-pass assessment shows exactly the questions is_shown shows, for the default questionnaire."""
    import random

    from screening.seed import vary

    defn = load(Path(__file__).resolve().parent.parent / "questions.yaml")
    rng = random.Random(5)
    base = {}
    for _ in range(60):
        answers = vary(defn, base, rng, TODAY, "full_name")
        result = rules.assess(defn, answers, TODAY)
        kept = result.answers
        expected = tuple(qid for qid in defn.questions if rules.is_shown(defn, qid, kept, TODAY))
        assert result.shown == expected
        assert result.missing == tuple(q for q in expected if defn.questions[q].required and q not in kept)
        base = answers if rng.random() < 0.5 else {}


def test_checks_only_report_and_linking_is_a_step_of_its_own():
    """The checks leave a definition untouched; link connects its questions, pages and conditions."""
    from screening.questionnaire import checks, yamlfile
    from screening.questionnaire.link import link
    from screening.questionnaire.schema import Definition

    data, _ = yamlfile._parse_yaml(Path(SMALL).read_text(), "small")
    defn = Definition.model_validate(data)
    assert checks.run(defn) == []
    assert dict(defn.questions) == {} and defn.plan is None
    assert all(q.condition is None and q.section_id == "" for s in defn.sections for q in s.questions)
    plan = link(defn)
    assert list(defn.questions) == list(DEFN.questions)
    assert defn.questions["cancer_checked"].section_id == "first"
    assert defn.questions["cancer_checked"].condition == DEFN.questions["cancer_checked"].condition
    assert [step.id for step in plan.steps] == list(DEFN.questions)
