"""The checks that protect a clinic's own copy of questions.yaml from harmful edits.

Each edit below passed check-questions before version 2 of the clinical content. Each
must now fail, with a message naming the file, the line and what is wrong.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from screening import embedded_cases
from screening.questionnaire import QuestionnaireError, load, loads, safety

from .conftest import DEFAULT

TEXT = Path(DEFAULT).read_text(encoding="utf-8")


def edited(old: str, new: str, count: int = 1) -> str:
    """The default file with one edit (which must apply exactly where meant)."""
    assert TEXT.count(old) >= count, old
    return TEXT.replace(old, new, count)


def check(runner, tmp_path: Path, text: str):
    """`check-questions` on a copy of the file holding `text`."""
    path = tmp_path / "questions.yaml"
    path.write_text(text, encoding="utf-8")
    return path, runner.invoke(args=["check-questions", str(path)])


def line_of(text: str, needle: str) -> int:
    """The 1-based line of the first `needle` in `text`."""
    return text[: text.index(needle)].count("\n") + 1


def test_the_default_file_passes_and_is_signed_off(runner):
    """The shipped file declares its red flags and carries a matching sign-off."""
    result = runner.invoke(args=["check-questions"])
    assert result.exit_code == 0, result.output
    defn = load(DEFAULT)
    assert defn.safety is not None and defn.safety.sign_off is not None
    assert defn.safety.sign_off.fingerprint == safety.fingerprint(defn)
    assert "saddle_numbness" in defn.safety.red_flags and "tummy_pain" in defn.safety.red_flags


def test_a_999_flag_changed_to_a_same_day_gp_appointment_fails(runner, tmp_path):
    """Saddle numbness lowered from 999 to "see your GP today": its own case and the sign-off catch it."""
    block = TEXT[TEXT.index("- id: saddle_numbness") :]
    old = block[: block.index("advice: emergency") + len("advice: emergency")]
    text = edited(old, old.replace("advice: emergency", "advice: same_day"))
    path, result = check(runner, tmp_path, text)
    assert result.exit_code == 1
    case_line = line_of(text, "- name: saddle numbness is urgent")
    assert re.search(
        rf"{re.escape(str(path))}:{case_line + 3}: tests\[\d+\]\.advice: case 'saddle numbness is urgent'"
        r" fails: expected the emergency advice, got same_day",
        result.output,
    ), result.output
    assert "safety.sign_off.fingerprint: the red-flag questions, urgent flags or urgent advice have changed" in (
        result.output
    )


def test_swapping_the_order_of_the_urgent_advice_fails(runner, tmp_path):
    """Same-day advice listed first would be shown above 999 to a patient with both."""
    start = TEXT.index("    advice:\n      # Most urgent first.")
    end = TEXT.index("  not_suitable:", start)
    advice = TEXT[start:end]
    emergency = re.search(r"      emergency: .*\n", advice).group(0)
    same_day = advice[advice.index("      same_day:") :]
    swapped = advice.replace(emergency, "").replace(same_day, same_day + emergency)
    text = TEXT[:start] + swapped + TEXT[end:]
    path, result = check(runner, tmp_path, text)
    assert result.exit_code == 1
    line = line_of(text, "    fingerprint: sha256:")
    assert f"{path}:{line}: safety.sign_off.fingerprint:" in result.output, result.output
    assert loads(TEXT).version != loads(text).version


def test_a_red_flag_question_given_a_show_if_fails(runner, tmp_path):
    """A red flag hidden after another answer would not be asked of every patient."""
    text = edited(
        "        short: Chest pain\n        type: yes_no\n",
        '        short: Chest pain\n        type: yes_no\n        show_if: {saddle_numbness: "no"}\n',
    )
    path, result = check(runner, tmp_path, text)
    assert result.exit_code == 1
    index = load(DEFAULT).safety.red_flags.index("chest_pain")
    line = line_of(text, "  red_flags: [")
    assert f"{path}:{line}: safety.red_flags[{index}]: red flag 'chest_pain' has a show_if" in result.output


def test_a_red_flag_question_deleted_with_its_own_case_fails(runner, tmp_path):
    """Deleting the question and its case together is caught by the declared list."""
    question = TEXT[TEXT.index("      - id: chest_pain") : TEXT.index("      - id: tummy_pain")]
    case = TEXT[TEXT.index("  - name: chest pain is urgent") : TEXT.index("  - name: major trauma is urgent")]
    text = TEXT.replace(question, "").replace(case, "")
    path, result = check(runner, tmp_path, text)
    assert result.exit_code == 1
    assert "red flag 'chest_pain' is not a question in this file" in result.output
    assert f"{path}:{line_of(text, '  red_flags: [')}:" in result.output


def test_an_urgent_message_softened_while_still_naming_999_fails(runner, tmp_path):
    """ "Go to A&E or call 999" turned into "if you are worried, you could call 999" still names 999."""
    text = edited(
        "emergency: Go to A&E now, or call [999](tel:999).",
        "emergency: If you are worried, you could think about calling [999](tel:999) later.",
    )
    path, result = check(runner, tmp_path, text)
    assert result.exit_code == 1
    line = line_of(text, "    fingerprint: sha256:")
    assert f"{path}:{line}: safety.sign_off.fingerprint:" in result.output
    assert "flask --app screening sign-off" in result.output  # says how to sign off a deliberate change


def test_a_signed_off_change_passes_again(runner, tmp_path):
    """A deliberate, reviewed change is recorded with `sign-off` and then passes."""
    text = edited(
        "emergency: Go to A&E now, or call [999](tel:999).",
        "emergency: Call [999](tel:999) now, or go straight to A&E.",
    )
    path, result = check(runner, tmp_path, text)
    assert result.exit_code == 1
    signed = runner.invoke(args=["sign-off", "--by", "Dr A Lead, clinical lead", str(path)])
    assert signed.exit_code == 0, signed.output
    assert 'by: "Dr A Lead, clinical lead"' in path.read_text()
    assert runner.invoke(args=["check-questions", str(path)]).exit_code == 0
    # Only the sign-off lines changed: comments and layout are kept.
    before, after = text.splitlines(), path.read_text().splitlines()
    assert len(before) == len(after)
    assert [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b] == [
        line_of(text, "    by: ") - 1,
        line_of(text, "    date: ") - 1,
        line_of(text, "    fingerprint: ") - 1,
    ] or [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b] == [
        line_of(text, "    by: ") - 1,
        line_of(text, "    fingerprint: ") - 1,
    ]


def test_an_urgent_case_must_state_its_advice(tmp_path):
    """A case whose outcome is urgent says which advice the patient is given."""
    text = edited("    outcome: urgent\n    advice: emergency\n", "    outcome: urgent\n")
    with pytest.raises(QuestionnaireError) as caught:
        loads(text)
    assert "is urgent but does not state its advice" in caught.value.report()


def test_a_case_may_state_the_dropped_answers(tmp_path):
    """A case that states `dropped` is compared with the answers the hidden questions lost."""
    defn = load(DEFAULT)
    case = next(c for c in defn.tests if c.name == "stale answers to hidden questions are dropped")
    wrong = case.model_copy(update={"dropped": ["pregnant"]})
    results, _ = embedded_cases.run_cases(defn.model_copy(update={"tests": [wrong]}))
    assert not results[0].passed
    assert results[0].mismatches == (
        (
            "dropped",
            "dropped answers: expected ['pregnant'], got ['cancer_back_pain_checked', 'pregnant'];"
            " not expected: cancer_back_pain_checked",
        ),
    )
    right = case.model_copy(update={"dropped": ["cancer_back_pain_checked", "pregnant"]})
    results, _ = embedded_cases.run_cases(defn.model_copy(update={"tests": [right]}))
    assert results[0].passed, results[0].mismatches


def test_every_contraindication_and_precaution_tells_the_patient_why():
    """patient_reason on every contraindication and precaution; notes and urgent flags need none."""
    defn = load(DEFAULT)
    flags = [f for _, _, f in defn.question_flags()] + list(defn.rules)
    needing = [f for f in flags if f.level in ("contraindication", "precaution")]
    assert needing and all(f.patient_reason for f in needing)
    text = edited(
        '            patient_reason: "You have had alcohol or drugs today, so needling is not safe today."\n', ""
    )
    with pytest.raises(QuestionnaireError) as caught:
        loads(text)
    assert "the contraindication of 'alcohol_or_drugs_today' needs a patient_reason" in caught.value.report()


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("    title: Please get medical help now", "    title: Please get help soon"),
        ("Do not come hungry", "Do come hungry"),
        ('next_step: "Have a light snack before you come."', 'next_step: "Come as you are."'),
        (
            "    title: You are ready for your session\n",
            "    title: You are all set\n",
        ),
    ],
)
def test_the_version_changes_with_anything_a_patient_is_told(old, new):
    """Outcome messages, information pages and reasons are part of the version."""
    base = loads(TEXT)
    changed = loads(edited(old, new))
    assert base.version != changed.version
