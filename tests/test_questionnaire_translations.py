"""The questionnaire's translations (screening/questionnaire/translations.py): catalogs keyed
by id, a changed English text never shown in its old translation, numbers never changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from screening import embedded_cases, rules
from screening.questionnaire import QuestionnaireError, loads, safety
from screening.questionnaire import translations as qt
from screening.questionnaire.numbers import number_problem
from screening.questionnaire.texts import texts

from .conftest import DEFAULT, checked

ROOT = Path(__file__).resolve().parent.parent
SADDLE_BEFORE = (
    "Do you have numbness, tingling or a strange feeling between your legs, or\n"
    "          around your bottom or private parts?"
)
SADDLE_AFTER = "Do you have numbness or tingling between your legs, or around your bottom or private parts?"
POLISH = ROOT / "translations" / "questionnaires" / "acupuncture-low-back-pain" / "pl.po"


@pytest.fixture(scope="module")
def english():
    """The default questionnaire."""
    return checked(DEFAULT)


@pytest.fixture(scope="module")
def polish():
    """The shipped Polish catalog."""
    return qt.read_catalog(POLISH)


def edited(old: str, new: str):
    """The default questionnaire with one text changed (and signed off again, as a clinic would)."""
    text = Path(DEFAULT).read_text(encoding="utf-8")
    assert old in text
    text = text.replace(old, new, 1)
    text, _ = safety.sign(text, "edited.yaml", "Test Clinician, physiotherapist", "2026-11-29")
    return loads(text, source="edited.yaml")


def with_entry(catalog_text: str, key: str, english: str, translation: str) -> str:
    """A catalog's text with one entry's translation replaced."""
    po = qt.parse_catalog(catalog_text)
    old = po.messages[key].text
    escaped_old = old.replace('"', '\\"')
    assert escaped_old in catalog_text, key
    return catalog_text.replace(escaped_old, translation.replace('"', '\\"'), 1)


def test_the_polish_catalog_translates_every_text_and_is_honestly_unreviewed(english, polish):
    counts = qt.counts(english, polish)
    assert polish.language == "pl"
    assert not polish.reviewed
    assert (counts.translated, counts.stale, counts.missing, counts.refused) == (len(texts(english)), 0, 0, 0)
    assert qt.number_problems(english, polish) == []


def test_keys_name_questions_options_flags_pages_and_outcomes(english):
    keys = {t.key for t in texts(english)}
    assert {
        "question.saddle_numbness.text",
        "option.tummy_pain.yes_sudden_severe",
        "flag.tummy_pain.1.patient_reason",
        "section.warning_signs.title",
        "outcome.urgent.message",
        "advice.emergency",
        "rule.upper_back_pain.patient_reason",
        "info.aftercare",
    } <= keys
    # What clinicians read (a flag's reason and source) is never translated.
    assert not any(key.endswith((".reason", ".source")) for key in keys)


def test_the_translated_questionnaire_has_polish_texts_and_the_same_ids_and_rules(english, polish):
    pl = qt.translated(english, polish)
    assert pl.sections[0].title == "Objawy alarmowe"
    assert pl.questions["tummy_pain"].choices[0] == (
        "yes_sudden_severe",
        "Tak – zaczął się nagle albo jest bardzo silny",
    )
    assert list(pl.questions) == list(english.questions)
    assert [q.values for q in pl.questions.values()] == [q.values for q in english.questions.values()]
    assert pl.urgent_advice_order() == english.urgent_advice_order()
    assert "tel:999" in pl.outcomes.urgent.advice["emergency"]
    # Its own version: what is built once per version (form classes) is never mixed up.
    assert pl.version != english.version


def test_answers_given_in_polish_lead_to_the_same_outcome_for_every_embedded_case(english, polish):
    pl = qt.translated(english, polish)
    for case in english.tests:
        answers_en = rules.evaluate_input(english, case.answers, _day(case.today))
        answers_pl = rules.evaluate_input(pl, case.answers, _day(case.today))
        assert answers_pl.outcome == answers_en.outcome == case.outcome, case.name
        assert [f.id for f in answers_pl.flags] == [f.id for f in answers_en.flags], case.name
        assert [f.advice for f in answers_pl.flags] == [f.advice for f in answers_en.flags], case.name
        # Clinicians read the clinic's language in the flags, whichever language the patient used.
        assert [f.reason for f in answers_pl.flags] == [f.reason for f in answers_en.flags], case.name
    results, _ = embedded_cases.run_cases(pl)
    assert results and all(r.passed for r in results)


def _day(text: str | None):
    """A case's `today`, as a date."""
    import datetime as dt

    return dt.date.fromisoformat(text) if text else None


def test_a_changed_english_question_falls_back_to_english_and_is_named(polish):
    changed = edited(
        SADDLE_BEFORE,
        SADDLE_AFTER,
    )
    pl = qt.translated(changed, polish)
    assert pl.questions["saddle_numbness"].text == changed.questions["saddle_numbness"].text  # English
    assert pl.questions["saddle_numbness"].short == "Drętwienie między nogami"  # its other texts stay Polish
    assert pl.questions["bladder_bowel_change"].text.startswith("Czy od początku bólu pleców")
    [stale] = qt.stale(changed, polish)
    assert stale.text.key == "question.saddle_numbness.text"
    [line] = qt.stale_report(changed, polish)
    assert "question.saddle_numbness.text" in line and "out of date" in line


def test_an_altered_emergency_number_is_refused_and_never_shown(english):
    text = with_entry(
        POLISH.read_text(encoding="utf-8"), "advice.emergency", "", "Idź na SOR albo zadzwoń pod [112](tel:112)."
    )
    catalog = qt.parse_catalog(text, "pl.po")
    [problem] = qt.number_problems(english, catalog)
    assert "advice.emergency" in problem.message
    assert "tel:999" in problem.message and "112" in problem.message
    assert problem.path == ("outcomes", "urgent", "advice", "emergency") and problem.line
    assert (
        qt.translated(english, catalog).outcomes.urgent.advice["emergency"] == "Go to A&E now, or call [999](tel:999)."
    )


@pytest.mark.parametrize(
    ("source", "translation", "said"),
    [
        ("Call [999](tel:999).", "Zadzwoń pod 999.", "drops the link tel:999"),
        ("In an emergency, call 999.", "W nagłym wypadku zadzwoń po pomoc.", "drops the number 999"),
        ("Call 111.", "Zadzwoń pod 111 albo 112.", "adds the number 112"),
        ("Call us on 01234 567890.", "Zadzwoń pod 01234 567 809.", "drops the number 01234567890"),
    ],
)
def test_a_translation_that_drops_or_changes_a_number_is_refused(source, translation, said):
    assert said in (number_problem(source, translation) or "")


def test_numbers_written_another_way_are_the_same_numbers():
    assert number_problem("Call us on 01234 567890.", "Zadzwoń pod 01234 567 890.") is None
    assert number_problem("fewer than 1 in 10,000 treatments", "rzadziej niż raz na 10 000 zabiegów") is None
    assert number_problem("Ring 0800 111 222", "Zadzwoń 0800 111 222", phones=["0800 111 222"]) is None
    assert "drops" in number_problem("Ring 0800 111 222", "Zadzwoń 0800 111 223", phones=["0800 111 222"])


def test_a_fuzzy_translation_is_never_used(english):
    text = POLISH.read_text(encoding="utf-8").replace(
        'msgctxt "section.warning_signs.title"', '#, fuzzy\nmsgctxt "section.warning_signs.title"', 1
    )
    catalog = qt.parse_catalog(text)
    assert qt.translated(english, catalog).sections[0].title == "Warning signs"
    assert [s.text.key for s in qt.stale(english, catalog)] == ["section.warning_signs.title"]


def test_update_keeps_the_old_translation_fuzzy_with_the_english_it_was_made_from(polish):
    changed = edited("title: Warning signs", "title: Signs of an emergency")
    updated = qt.update(changed, POLISH.read_text(encoding="utf-8"))
    assert "X-Reviewed: no" in updated  # the header, and so the review status, is kept
    entry = updated[updated.index('msgctxt "section.warning_signs.title"') - 80 :]
    assert '#| msgid "Warning signs"' in entry.split("msgctxt")[0] + entry.split("msgstr")[0]
    catalog = qt.parse_catalog(updated)
    assert catalog.messages["section.warning_signs.title"].fuzzy
    assert qt.translated(changed, catalog).sections[0].title == "Signs of an emergency"


def test_a_new_catalog_is_unreviewed_and_empty(english):
    catalog = qt.parse_catalog(qt.new_catalog(english, "cy"))
    assert catalog.language == "cy" and not catalog.reviewed
    assert qt.counts(english, catalog).missing == len(texts(english))


def test_reviewed_needs_both_the_yes_and_a_name():
    base = 'msgid ""\nmsgstr ""\n"Language: pl\\n"\n"X-Reviewed: yes\\n"\n'
    assert qt.parse_catalog(base + '"X-Reviewed-By: Anna Nowak, MCIL\\n"\n').reviewed
    assert not qt.parse_catalog(base + '"X-Reviewed-By: \\n"\n').reviewed


def test_an_entry_without_its_key_is_an_error_naming_its_line():
    with pytest.raises(QuestionnaireError, match="line 5: an entry without msgctxt"):
        qt.parse_catalog('msgid ""\nmsgstr ""\n"Language: pl\\n"\n\nmsgid "Warning signs"\nmsgstr "Objawy"\n')
