"""The shipped questions.yaml: the clinical contract, and its own embedded cases."""

from __future__ import annotations

import datetime as dt

import pytest

from screening import embedded_cases, rules
from screening.questionnaire import load

from .conftest import DEFAULT

DEFN = load(DEFAULT)

# The clinical contract (CLINICAL.md), typed out independently of questions.yaml:
# question id -> {answer: level the flag raises}. "urgent:emergency" names the advice.
CONTRACT: dict[str, dict[str, str]] = {
    "first_acupuncture": {"yes": "note"},
    "saddle_numbness": {"yes": "urgent:emergency"},
    "bladder_bowel_change": {"yes": "urgent:emergency"},
    "sexual_function_change": {"yes": "urgent:emergency"},
    "both_legs_symptoms": {"yes": "urgent:emergency"},
    "leg_weakness_worsening": {"yes": "urgent:emergency"},
    "fever_or_unwell": {"fever": "urgent:same_day", "minor_illness": "contraindication"},
    "weight_loss": {"yes": "urgent:same_day"},
    "cancer_history": {},
    "cancer_back_pain_checked": {},
    "night_pain": {"yes": "urgent:same_day"},
    "back_lump_or_shape_change": {"yes": "urgent:same_day"},
    "chest_pain": {"yes": "urgent:emergency"},
    "major_trauma": {"yes": "urgent:emergency"},
    "tummy_pain": {"yes_sudden_severe": "urgent:emergency", "yes": "precaution"},
    "straining_pain": {"yes": "precaution"},
    "minor_injury_sudden_pain": {"yes": "precaution"},
    "osteoporosis_or_steroids": {"yes": "precaution"},
    "pain_getting_worse": {"yes": "precaution"},
    "iv_drug_use": {"yes": "precaution"},
    "inflammatory_back_pain": {"yes": "note"},
    "pregnant": {"yes": "precaution", "not_sure": "precaution"},
    "bleeding_disorder": {"yes": "contraindication"},
    "anticoagulant": {"yes": "precaution"},
    "antiplatelet": {"yes": "note"},
    "implanted_device": {"yes": "precaution"},
    "epilepsy": {"yes_controlled": "precaution", "yes_not_controlled": "contraindication"},
    "fainting_history": {"yes": "precaution"},
    "needle_fear": {"a_little": "note", "very": "precaution"},
    "diabetes": {"yes": "precaution"},
    "poor_sensation_or_healing": {"yes": "precaution"},
    "immune_weak": {"yes": "precaution", "chemo_or_low_white_cells": "contraindication"},
    "lymphoedema_or_nodes_removed": {"yes": "precaution"},
    "metal_allergy": {"yes": "contraindication"},
    "skin_problem_treatment_area": {"yes": "contraindication"},
    "heart_valve": {"yes": "precaution"},
    "back_surgery_or_implant": {"yes": "precaution"},
    "alcohol_or_drugs_today": {"yes": "contraindication"},
    "eaten_recently": {"no": "precaution"},
    "driving_after": {"yes": "note"},
    "previous_bad_reaction": {"yes": "precaution"},
    "understands_and_agrees": {"questions": "precaution", "no": "contraindication"},
    "pain_now": {},
}
VALUES = {
    "fever_or_unwell": ["no", "fever", "minor_illness"],
    "pregnant": ["no", "yes", "not_sure"],
    "tummy_pain": ["no", "yes_sudden_severe", "yes"],
    "epilepsy": ["no", "yes_controlled", "yes_not_controlled"],
    "needle_fear": ["ok", "a_little", "very"],
    "immune_weak": ["no", "yes", "chemo_or_low_white_cells"],
    "understands_and_agrees": ["yes", "questions", "no"],
    "sex": ["female", "male", "other", "prefer_not_to_say"],
}
TODAY = dt.date(2026, 11, 24)


def outcome_level(answers: dict) -> list[str]:
    """The 'level' or 'level:advice' of every flag the answers raise."""
    result = rules.evaluate(DEFN, answers, TODAY)
    return [f"{f.level}:{f.advice}" if f.advice else f.level for f in result.flags]


@pytest.mark.parametrize("qid", sorted(CONTRACT))
def test_every_contract_question_has_its_flags(qid):
    """Each answer in the contract raises exactly its level, and no other answer flags."""
    q = DEFN.questions[qid]
    for value in q.values:
        expected = [CONTRACT[qid][value]] if value in CONTRACT[qid] else []
        context = {"sex": "female"} if qid == "pregnant" else {}
        if qid in ("cancer_history", "cancer_back_pain_checked"):
            continue  # these flag only through rule R2, checked below
        assert outcome_level({**context, qid: value}) == expected, (qid, value)


@pytest.mark.parametrize("qid", sorted(VALUES))
def test_choice_values_are_the_contract(qid):
    """Answer values are exactly those in the contract (the order on the page may differ)."""
    assert sorted(DEFN.questions[qid].values) == sorted(VALUES[qid])


def test_yes_comes_before_no():
    """Every closed question offers its "yes" answers before "no" (no answer is led to)."""
    for q in DEFN.questions.values():
        values = [str(v) for v in q.values]
        if "no" in values:
            yeses = [
                i for i, v in enumerate(values) if v.startswith("yes") or v in ("not_sure", "fever", "minor_illness")
            ]
            assert all(i < values.index("no") for i in yeses), q.id


def test_no_leading_words():
    """No page tells the patient what most people answer."""
    for section in DEFN.sections:
        assert "most people answer" not in (section.intro or "").lower(), section.id


def test_yes_no_questions_are_yes_no():
    """Every yes/no question in the contract takes "yes" and "no"."""
    for qid in CONTRACT:
        if qid not in VALUES and qid != "pain_now":
            assert DEFN.questions[qid].type == "yes_no", qid


def test_the_other_questions_exist():
    """Identity, contact, sex, duration, medicines and consent are asked."""
    for qid in ("full_name", "date_of_birth", "email", "phone", "sex", "pain_duration", "medicines"):
        assert qid in DEFN.questions
    assert any(q.type == "consent" for q in DEFN.questions.values())
    assert DEFN.questions["date_of_birth"].type == "date"
    assert DEFN.questions["pain_now"].type == "scale"
    assert (DEFN.questions["pain_now"].low, DEFN.questions["pain_now"].high) == (0, 10)


def born(years_ago: int, days: int = 0) -> str:
    """A date of birth making the patient `years_ago` old on TODAY (minus `days`)."""
    return (TODAY.replace(year=TODAY.year - years_ago) - dt.timedelta(days=days)).isoformat()


@pytest.mark.parametrize(
    ("age", "expected"),
    [(15, ["contraindication"]), (16, ["note"]), (19, ["note"]), (20, []), (49, []), (50, ["note"]), (80, ["note"])],
)
def test_age_bands(age, expected):
    """Under 16 is a contraindication; 16 to 19 and 50 or over are notes."""
    assert outcome_level({"date_of_birth": born(age)}) == expected


def test_age_turns_on_the_birthday():
    """The day before the 16th birthday is still under 16."""
    assert outcome_level({"date_of_birth": born(16, days=-1)}) == ["contraindication"]


def test_r1_fragility_fracture():
    """Minor injury with osteoporosis or steroids, or aged 65+, is urgent (same day)."""
    injury = {"minor_injury_sudden_pain": "yes"}
    assert "urgent:same_day" in outcome_level({**injury, "osteoporosis_or_steroids": "yes"})
    assert "urgent:same_day" in outcome_level({**injury, "date_of_birth": born(65)})
    assert "urgent:same_day" not in outcome_level({**injury, "date_of_birth": born(64)})
    assert "urgent:same_day" not in outcome_level({"osteoporosis_or_steroids": "yes", "date_of_birth": born(70)})


def test_r2_cancer_history():
    """Past cancer with back pain not checked by a doctor is urgent; checked is a precaution."""
    assert outcome_level({"cancer_history": "yes"}) == ["urgent:same_day"]
    assert outcome_level({"cancer_history": "yes", "cancer_back_pain_checked": "no"}) == ["urgent:same_day"]
    assert outcome_level({"cancer_history": "yes", "cancer_back_pain_checked": "yes"}) == ["precaution"]
    assert outcome_level({"cancer_history": "no", "cancer_back_pain_checked": "no"}) == []


def test_r3_past_cancer_and_pain_getting_worse():
    """Past cancer with pain getting worse is urgent (same day), even after a doctor's check."""
    checked = {"cancer_history": "yes", "cancer_back_pain_checked": "yes"}
    assert "urgent:same_day" in outcome_level({**checked, "pain_getting_worse": "yes"})
    assert "urgent:same_day" not in outcome_level({**checked, "pain_getting_worse": "no"})
    assert outcome_level({"cancer_history": "no", "pain_getting_worse": "yes"}) == ["precaution"]


def test_r4_upper_back_pain():
    """Upper back pain is a precaution; at 50 or over (from the birthday) or after cancer, urgent."""
    upper = {"pain_areas": ["upper_back"], "cancer_history": "no"}
    assert outcome_level({**upper, "date_of_birth": born(50, days=-1)}) == ["precaution"]
    assert "urgent:same_day" in outcome_level({**upper, "date_of_birth": born(50)})
    assert "urgent:same_day" in outcome_level(
        {**upper, "date_of_birth": born(30), "cancer_history": "yes", "cancer_back_pain_checked": "yes"}
    )
    assert "urgent:same_day" not in outcome_level(
        {"pain_areas": ["lower_back"], "date_of_birth": born(70), "cancer_history": "no"}
    )


def test_r5_past_cancer_and_pain_worse_on_straining():
    """Past cancer with pain worse on straining is urgent (same day); without cancer a precaution."""
    checked = {"cancer_history": "yes", "cancer_back_pain_checked": "yes"}
    assert "urgent:same_day" in outcome_level({**checked, "straining_pain": "yes"})
    assert "urgent:same_day" not in outcome_level({**checked, "straining_pain": "no"})
    assert outcome_level({"cancer_history": "no", "straining_pain": "yes"}) == ["precaution"]


def test_the_body_map_is_required():
    """R4 reads the body map, so the patient must mark at least one area."""
    assert DEFN.questions["pain_areas"].required


def test_pregnancy_is_not_asked_of_men():
    """The pregnancy answer is dropped when the patient is male."""
    result = rules.evaluate(DEFN, {"sex": "male", "pregnant": "yes"}, TODAY)
    assert "pregnant" not in result.answers
    assert result.dropped == ["pregnant"]


def test_every_clinical_rule_names_its_source():
    """Every flag and rule has a source, and cited S-numbers are listed."""
    for owner, _, flag in DEFN.question_flags():
        assert flag.source.strip(), owner
    for rule in DEFN.rules:
        assert rule.source.strip(), rule.id
    assert DEFN.sources


def test_urgent_advice_names_the_emergency_numbers():
    """Emergency advice says 999 or A&E; same-day advice says 111 or GP."""
    advice = DEFN.outcomes.urgent.advice
    assert list(advice)[:2] == ["emergency", "same_day"]
    assert "999" in advice["emergency"] and "A&E" in advice["emergency"]
    assert "111" in advice["same_day"] and "GP" in advice["same_day"]


def test_information_is_honest_about_the_evidence():
    """The information pages carry the key facts from the clinical brief."""
    before = DEFN.information.before_session
    after = DEFN.information.aftercare
    assert "NICE" in before and "10 minutes" in before
    assert "day" in after and "111" in after and "999" in after


@pytest.mark.parametrize("case", DEFN.tests, ids=[c.name for c in DEFN.tests])
def test_embedded_case(case):
    """Each case in questions.yaml gives its expected outcome and flags."""
    results, _ = embedded_cases.run_cases(DEFN.model_copy(update={"tests": [case]}))
    (result,) = results
    assert (result.outcome, result.flags) == (result.expected_outcome, result.expected_flags)


def test_every_flag_of_the_default_file_is_exercised():
    """Every flag, of every level, fires in at least one passing embedded case."""
    results, unexercised = embedded_cases.run_cases(DEFN)
    assert all(r.passed for r in results)
    assert unexercised == []
    fired = {key for r in results for key in r.fired}
    every = {(owner, i) for owner, i, _ in DEFN.question_flags()} | {(r.id, -1) for r in DEFN.rules}
    assert every - fired == set()
