"""The honest time estimate printed by check-questions and shown on the start page."""

from __future__ import annotations

from screening.estimate import Estimate, estimate, shown_questions, words
from screening.questionnaire import load

from .conftest import DEFAULT, SMALL


def test_words_are_what_a_patient_reads():
    """Link targets are not read; link text is."""
    assert words("Go to A&E now, or call [999](tel:999).") == 7
    assert words(None) == 0


def test_reading_at_200_words_a_minute_and_4_seconds_an_answer():
    """400 words and 15 answers: 2 minutes reading and 1 minute answering."""
    assert Estimate(400, 15).seconds == 180
    assert Estimate(400, 15).minutes == 3
    assert Estimate(401, 15).minutes == 4  # never promise less than it takes
    assert Estimate(0, 0).minutes == 1


def test_only_what_a_patient_with_no_flags_is_shown_counts():
    """Questions hidden from the all-clear patient (past cancer's follow-up) are not counted."""
    defn = load(DEFAULT)
    shown = shown_questions(defn)
    assert "saddle_numbness" in shown and "cancer_back_pain_checked" not in shown
    assert estimate(defn).answers == len(shown)


def test_a_file_without_an_all_clear_case_counts_the_questions_always_asked():
    """Without a suitable case that raises nothing, every question without a show_if counts."""
    defn = load(SMALL)
    defn = defn.model_copy(update={"tests": [c for c in defn.tests if c.outcome != "suitable"]})
    assert shown_questions(defn) == {q.id for s in defn.sections for q in s.questions if q.show_if is None}


def test_check_questions_prints_it(runner):
    """The figure is printed with how it was worked out."""
    result = runner.invoke(args=["check-questions"])
    assert f"Estimated time for a typical patient: about {estimate(load(DEFAULT)).minutes} minutes" in result.output
    assert "words to read at 200 a minute" in result.output
