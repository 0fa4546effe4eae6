"""Every registered question type, walked through form, coerce, display, CSV cell and sample."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pytest
import yaml
from flask import render_template_string
from werkzeug.datastructures import MultiDict

from screening.forms import FIELD_TYPES, form_class, form_data, posted_answer
from screening.questionnaire import QTYPES, AnswerError, csv_cell, display, from_data, sample

from .conftest import SMALL, make_app

TODAY = dt.date(2026, 11, 24)
WIDGETS = ("radios", "scale", "checkboxes", "body_map", "consent", "textarea", "input")


def every_type_data() -> dict:
    """The small questionnaire with one more page: one optional question of every registered type."""
    data = yaml.safe_load(Path(SMALL).read_text())
    questions = []
    for name, qtype in QTYPES.items():
        question = {"id": f"q_{name}", "text": f"A {name} question", "type": name, "required": False}
        if qtype.has_options:
            question["options"] = [{"value": "one", "label": "One"}, {"value": "two", "label": "Two"}]
        questions.append(question)
    data["sections"].append({"id": "every_type", "title": "Every type", "questions": questions})
    return data


DEFN = from_data(every_type_data(), source="every type")
SECTION = DEFN.section("every_type")
QUESTIONS = {q.type: q for q in SECTION.questions}


def as_posted(question, answer) -> list[str]:
    """The form data a browser sends for this answer."""
    if question.widget == "consent":
        return ["y"]
    return [str(v) for v in answer] if isinstance(answer, list) else [str(answer)]


@pytest.fixture(scope="module")
def every_type_app(tmp_path_factory):
    """An app (CSRF off) to build and render the forms in."""
    app = make_app(tmp_path_factory.mktemp("qtypes"), WTF_CSRF_ENABLED=False)
    yield app
    app.extensions["screening.db"].engine.dispose()


def test_the_registry_names_its_types_and_every_one_has_a_widget_and_a_field():
    """The registry is the one list: forms and templates cover every entry."""
    assert set(QTYPES) == set(FIELD_TYPES)
    for name, qtype in QTYPES.items():
        assert qtype.name == name
        assert qtype.widget in WIDGETS, name


@pytest.mark.parametrize("name", list(QTYPES))
def test_samples_are_valid_answers_in_their_stored_form(name):
    """sample() gives answers coerce() accepts and leaves unchanged; blanks are unanswered."""
    question = QUESTIONS[name]
    rng = random.Random(name)
    for _ in range(50):
        answer = sample(question, rng, TODAY)
        assert question.coerce(answer, TODAY) == answer
    for blank in (None, "", []):
        assert question.coerce(blank, TODAY) is None


@pytest.mark.parametrize("name", list(QTYPES))
def test_a_nonsense_answer_is_refused_with_words_for_the_patient(name):
    """Every type refuses an answer of the wrong shape with a message, never a crash."""
    question = QUESTIONS[name]
    with pytest.raises(AnswerError) as caught:
        question.coerce({"not": "an answer"}, TODAY)
    assert str(caught.value)


@pytest.mark.parametrize("name", list(QTYPES))
def test_display_and_csv_cell_read_every_sampled_answer(name):
    """Display gives words (labels, not codes, for choices); CSV gives the stored codes."""
    question = QUESTIONS[name]
    rng = random.Random(name)
    for _ in range(20):
        answer = sample(question, rng, TODAY)
        shown, cell = display(question, answer), csv_cell(question, answer)
        assert isinstance(shown, str) and shown
        assert isinstance(cell, str) and cell
        labels = dict(question.choices)
        for value in answer if isinstance(answer, list) else [answer]:
            if str(value) in labels:
                assert labels[str(value)] in shown
            assert str(value) in cell
    assert display(question, None) == ""
    assert csv_cell(question, None) == ""


@pytest.mark.parametrize("name", list(QTYPES))
def test_a_sampled_answer_goes_round_the_form_and_back(every_type_app, name):
    """Stored answer -> the form's field -> posted data -> the same answer; the widget draws the field."""
    question = QUESTIONS[name]
    answer = sample(question, random.Random(name), TODAY)
    with every_type_app.test_request_context():
        form = form_class(DEFN, SECTION)(data=form_data(SECTION, {question.id: answer}))
        page = render_template_string(
            '{% from "_macros.html" import question %}{{ question(q, field, None) }}',
            q=question,
            field=form[question.id],
        )
    # A date is three boxes, posted as <id>-day, <id>-month and <id>-year (the memorable date).
    assert f'name="{question.id}"' in page or f'name="{question.id}-day"' in page
    assert f'id="question-{question.id}"' in page
    for value in as_posted(question, answer) if question.widget != "consent" else []:
        if question.values:  # a closed question: the stored answer is ticked
            assert f'value="{value}" checked' in page
    with every_type_app.test_request_context(
        method="POST", data=MultiDict([(question.id, v) for v in as_posted(question, answer)])
    ):
        posted = form_class(DEFN, SECTION)()
        assert question.coerce(posted_answer(question, posted), TODAY) == answer
