"""forms.py: a section's form class, stored answers into fields, posted data back into answers."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from screening.forms import FIELD_TYPES, check_field_types, form_class, form_data, posted_answer, required_message
from screening.questionnaire import QTYPES, AnswerError, from_data

from .test_qtypes import every_type_data

DEFN = from_data(every_type_data(), source="every type")


def section_with(qtype: str):
    """The first section with a question of this type (one of each is on the last page), and that question."""
    for section in DEFN.sections:
        for q in section.questions:
            if q.type == qtype:
                return section, q
    raise LookupError(qtype)


def posted(app, section, data):
    """The section's form filled from posted data."""
    with app.test_request_context(method="POST", data=MultiDict(data)):
        return form_class(DEFN, section)()


@pytest.fixture
def no_csrf_app(tmp_path):
    from .conftest import make_app

    return make_app(tmp_path, WTF_CSRF_ENABLED=False)


def test_a_type_without_a_field_stops_the_import():
    """A registered type with no form field (or a field for no type) is an error at start-up, not a 500."""
    check_field_types(QTYPES, FIELD_TYPES)
    fields = dict(FIELD_TYPES)
    del fields["date"]
    with pytest.raises(RuntimeError, match="no field for \\['date'\\]"):
        check_field_types(QTYPES, fields)
    with pytest.raises(RuntimeError, match="unknown types \\['colour'\\]"):
        check_field_types(QTYPES, {**FIELD_TYPES, "colour": FIELD_TYPES["text"]})


def test_one_form_class_per_section_and_version_with_a_field_per_question(no_csrf_app):
    """The class is built once and names its fields by question id."""
    section = DEFN.sections[0]
    assert form_class(DEFN, section) is form_class(DEFN, section)
    with no_csrf_app.test_request_context():
        form = form_class(DEFN, section)()
        assert [f.name for f in form if f.name != "csrf_token"] == [q.id for q in section.questions]


def test_stored_answers_fill_the_fields_in_the_fields_own_terms():
    """Numbers and scales become text, consent a ticked box; unanswered questions are left out."""
    section, number = section_with("number")
    data = form_data(section, {number.id: 12})
    assert data == {number.id: "12"}
    section, consent = section_with("consent")
    assert form_data(section, {consent.id: "yes"}) == {consent.id: True}
    section, scale = section_with("scale")
    assert form_data(section, {scale.id: 0})[scale.id] == "0"


@pytest.mark.parametrize(("typed", "answer"), [("12", 12), (" 1,200 ", 1200), ("-3", -3), ("", None), ("   ", None)])
def test_a_typed_number(no_csrf_app, typed, answer):
    """Digits (with thousands commas) are a number; nothing typed is unanswered."""
    section, q = section_with("number")
    assert posted_answer(q, posted(no_csrf_app, section, {q.id: typed})) == answer


def test_a_number_in_words_is_refused_with_an_example(no_csrf_app):
    """Anything but digits asks for digits."""
    section, q = section_with("number")
    with pytest.raises(AnswerError, match="using digits"):
        posted_answer(q, posted(no_csrf_app, section, {q.id: "twelve"}))


@pytest.mark.parametrize(
    ("typed", "answer"), [("27/3/1980", "1980-03-27"), ("27 3 1980", "1980-03-27"), ("1980-03-27", "1980-03-27")]
)
def test_a_date_typed_or_picked(no_csrf_app, typed, answer):
    """A date picker's YYYY-MM-DD and a typed day/month/year both become YYYY-MM-DD."""
    section, q = section_with("date")
    assert posted_answer(q, posted(no_csrf_app, section, {q.id: typed})) == answer


def test_a_date_that_does_not_exist_is_refused(no_csrf_app):
    """31 February is not a date."""
    section, q = section_with("date")
    with pytest.raises(AnswerError, match="real date"):
        posted_answer(q, posted(no_csrf_app, section, {q.id: "31/2/1980"}))


def test_ticks_and_choices(no_csrf_app):
    """A ticked consent box is "yes"; ticked options a list; no choice is unanswered."""
    section, consent = section_with("consent")
    assert posted_answer(consent, posted(no_csrf_app, section, {consent.id: "y"})) == "yes"
    assert posted_answer(consent, posted(no_csrf_app, section, {})) is None
    section, multi = section_with("multi_choice")
    values = [v for v, _ in multi.choices][:2]
    form = posted(no_csrf_app, section, [(multi.id, v) for v in values])
    assert posted_answer(multi, form) == values
    section, single = section_with("single_choice")
    assert posted_answer(single, posted(no_csrf_app, section, {})) is None


def test_the_message_for_a_missing_answer_names_the_question():
    """Each type asks in its own words, naming the question by its short label."""
    _, q = section_with("yes_no")
    assert required_message(q) == f"Select yes or no: {q.label}"
    _, q = section_with("consent")
    assert required_message(q) == f"Tick the box to agree: {q.label}"
