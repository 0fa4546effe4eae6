"""The patient's journey through the intake pages, on the real database.

Every test drives the app the way a browser would (GET a page, POST its form with the
page's CSRF token, follow the redirect) and checks what the patient would see, and what
the clinic would receive.
"""

from __future__ import annotations

import datetime as dt
import html
import itertools
import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select

from screening import clock, db
from screening.estimate import estimate
from screening.models import Draft, Submission
from screening.questionnaire import load

from .conftest import DEFAULT, Patient, errors_on, make_app

TODAY = dt.date.today()
# 40 in the year the tests run: an age that raises no flag (notes start at 50 and under 20).
DATE_OF_BIRTH = f"{TODAY.year - 40}-03-27"
REFERENCE = re.compile(r"\b[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}\b")

# The default questionnaire's pages, in order, each with a complete "all clear" answer set
# (the values of the embedded `all clear` case in questions.yaml, as a browser posts them).
ANSWERS_ALL_CLEAR: dict[str, str | list[str]] = {
    "saddle_numbness": "no",
    "bladder_bowel_change": "no",
    "sexual_function_change": "no",
    "both_legs_symptoms": "no",
    "leg_weakness_worsening": "no",
    "chest_pain": "no",
    "tummy_pain": "no",
    "major_trauma": "no",
    "fever_or_unwell": "no",
    "weight_loss": "no",
    "night_pain": "no",
    "back_lump_or_shape_change": "no",
    "cancer_history": "no",
    "minor_injury_sudden_pain": "no",
    "osteoporosis_or_steroids": "no",
    "pain_getting_worse": "no",
    "straining_pain": "no",
    "iv_drug_use": "no",
    "inflammatory_back_pain": "no",
    "pain_duration": "weeks_6_to_12",
    "pain_areas": ["lower_back", "buttocks"],
    "pain_now": "5",
    "full_name": "Sam Taylor",
    "date_of_birth": DATE_OF_BIRTH,
    "phone": "07700 900982",
    "email": "sam.taylor@example.com",
    "sex": "female",
    "first_acupuncture": "no",
    "pregnant": "no",
    "bleeding_disorder": "no",
    "anticoagulant": "no",
    "antiplatelet": "no",
    "implanted_device": "no",
    "epilepsy": "no",
    "fainting_history": "no",
    "diabetes": "no",
    "poor_sensation_or_healing": "no",
    "immune_weak": "no",
    "lymphoedema_or_nodes_removed": "no",
    "metal_allergy": "no",
    "skin_problem_treatment_area": "no",
    "heart_valve": "no",
    "back_surgery_or_implant": "no",
    "medicines": "Ibuprofen when needed",
    "previous_bad_reaction": "no",
    "needle_fear": "ok",
    "alcohol_or_drugs_today": "no",
    "eaten_recently": "yes",
    "driving_after": "no",
    "understands_and_agrees": "yes",
    "consent_to_store": "y",
}


def by_page(answers: dict[str, str | list[str]]) -> dict[str, dict[str, str | list[str]]]:
    """Answers grouped by the page (section) that asks them, in the pages' order."""
    defn = load(DEFAULT)
    pages: dict[str, dict[str, str | list[str]]] = {s.id: {} for s in defn.sections}
    for qid, value in answers.items():
        pages[defn.questions[qid].section_id][qid] = value
    return pages


ALL_CLEAR = by_page(ANSWERS_ALL_CLEAR)
SECTIONS = list(ALL_CLEAR)

# The small test questionnaire (tests/data/small.yaml), all clear.
SMALL_CLEAR: dict[str, dict[str, str | list[str]]] = {
    "first": {"numb": "no", "ill": "no", "had_cancer": "no"},
    "second": {
        "name": "Alex Smith",
        "born": DATE_OF_BIRTH,
        "sex": "female",
        "pregnant": "no",
        "pain": "3",
        "phone": "07700 900982",
        "agree": "y",
    },
}

EMERGENCY = "Go to A&E now, or call 999."
SAME_DAY = "Call your GP surgery and ask for an urgent appointment today."
DO_NOT_WAIT = "Do not wait for your appointment"
BEFORE_SESSION = "What happens at your session"  # a heading of information.before_session
AFTERCARE = "After your acupuncture"  # a heading of information.aftercare


# --- helpers --------------------------------------------------------------------------


def text_of(page) -> str:
    """The visible text of a page (or HTML string): tags removed, whitespace collapsed."""
    source = page if isinstance(page, str) else page.text
    source = re.sub(r"<(script|style)\b.*?</\1>", " ", source, flags=re.S)
    source = re.sub(r"</?(a|strong|em|span)\b[^>]*>", "", source)  # inline tags add no space
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", source)).split())


def title_of(page) -> str:
    """The page's <title>."""
    match = re.search(r"<title>(.*?)</title>", page.text, re.S)
    assert match, "page has no title"
    return " ".join(html.unescape(match.group(1)).split())


def urgent_advice_on(page) -> str | None:
    """The text of the urgent advice panel, or None when the page has none."""
    match = re.search(r'class="urgent-advice">(.*?)</(?:p|div)>', page.text, re.S)
    return text_of(match.group(1)) if match else None


def checked(page, name: str) -> list[str]:
    """The values of the radios or checkboxes called `name` that are ticked."""
    values = []
    for tag in re.findall(r"<input\b[^>]*>", page.text):
        if f'name="{name}"' in tag and re.search(r"\schecked\b", tag):
            values.append(re.search(r'value="([^"]*)"', tag).group(1))
    return values


def value_of(page, name: str) -> str | None:
    """The value a text-like input called `name` is filled with."""
    for tag in re.findall(r"<input\b[^>]*>", page.text):
        if f'name="{name}"' in tag:
            match = re.search(r'value="([^"]*)"', tag)
            return html.unescape(match.group(1)) if match else None
    return None


def field_error(page, qid: str) -> str | None:
    """The error message shown beside question `qid`, if any."""
    match = re.search(rf'<p class="field-error" id="{qid}-error">(.*?)</p>', page.text, re.S)
    return text_of(match.group(1)).removeprefix("Error:").strip() if match else None


def summary_rows(page) -> dict[str, str]:
    """The check page's answers: label -> answer as shown."""
    rows = re.findall(r"<dt>(.*?)</dt>\s*<dd>(.*?)</dd>", page.text, re.S)
    return {text_of(label): text_of(value) for label, value in rows}


def location(response) -> str:
    """Where a redirect goes (path and query)."""
    assert response.status_code in (302, 303), (response.status_code, response.text[:500])
    return response.headers["Location"]


def submissions(app) -> list[Submission]:
    """Every submission in the database."""
    with app.app_context(), db.get_db().sessions() as s:
        return list(s.scalars(select(Submission)).all())


def drafts(app) -> list[Draft]:
    """Every draft in the database."""
    with app.app_context(), db.get_db().sessions() as s:
        return list(s.scalars(select(Draft)).all())


def saved_answers(app) -> dict:
    """The answers of the one draft in the database ({} when there is none)."""
    found = drafts(app)
    assert len(found) <= 1, "more than one draft for one patient"
    return found[0].answers if found else {}


def fill_in(patient: Patient, pages: dict[str, dict[str, str]] = ALL_CLEAR, **changes: dict[str, str]) -> None:
    """Answer every page in order, with `changes` per page, checking each leads to the next."""
    ids = list(pages)
    for i, section_id in enumerate(ids):
        answers = pages[section_id] | changes.get(section_id, {})
        response = patient.answer(section_id, answers)
        expected = f"/intake/{ids[i + 1]}" if i + 1 < len(ids) else "/intake/check"
        assert after_stop_page(location(response)) == expected, f"after {section_id}"


def after_stop_page(where: str) -> str:
    """Where a page leads, past the urgent stop page (whose "continue" link goes there)."""
    if where.startswith("/intake/urgent?"):
        return parse_qs(urlsplit(where).query)["next"][0]
    return where


def submit_and_show(patient: Patient):
    """Press Send on the check page and follow to the outcome page."""
    response = patient.submit()
    assert location(response) == "/intake/done"
    done = patient.get("/intake/done")
    assert done.status_code == 200
    return done


def expired_token(app, patient: Patient, seconds_ago: int = 7200) -> str:
    """A correctly signed CSRF token for this browser's session, but issued long ago."""
    with patient.client.session_transaction() as sess:
        raw = sess["csrf_token"]

    class PastSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - seconds_ago

    serializer = URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token", signer=PastSigner)
    return serializer.dumps(raw)


@pytest.fixture
def csrf_app(tmp_path):
    """The default questionnaire with CSRF protection explicitly on."""
    app = make_app(tmp_path, WTF_CSRF_ENABLED=True)
    yield app
    app.extensions["screening.db"].engine.dispose()


# --- 1. the whole journey, once per outcome ----------------------------------------------


def test_all_clear_is_suitable_with_what_to_expect_and_aftercare(app, client):
    """All clear on every page: suitable, reference shown, before-session and aftercare advice."""
    fill_in(client)
    check = client.get("/intake/check")
    assert check.status_code == 200
    assert "Send my answers" in check.text
    assert "Not answered yet" not in check.text

    done = submit_and_show(client)
    page = text_of(done)
    assert "You are ready for your session" in page
    assert BEFORE_SESSION in page
    assert "Before you come" in page
    assert AFTERCARE in page
    assert "Call 999 or go to A&E if" in page  # the aftercare's own "when to get help"
    assert urgent_advice_on(done) is None

    [row] = submissions(app)
    assert row.outcome == "suitable"
    assert row.flags == []
    assert row.urgent_advice is None
    assert REFERENCE.fullmatch(row.reference)
    assert f"Your reference: {row.reference}" in page
    expected = {qid: value for answers in ALL_CLEAR.values() for qid, value in answers.items()}
    expected |= {"pain_now": 5, "consent_to_store": "yes"}
    assert row.answers == expected


def test_saddle_numbness_is_urgent_with_emergency_advice(app, client):
    """An emergency red flag: the done page says call 999 now and not to wait for the appointment."""
    fill_in(client, warning_signs={"saddle_numbness": "yes"})
    done = submit_and_show(client)
    page = text_of(done)

    assert urgent_advice_on(done) == EMERGENCY
    assert "Please get medical help now" in page
    assert DO_NOT_WAIT in page
    assert "Numbness between the legs" in page  # what in their answers caused it
    assert BEFORE_SESSION not in page  # no "what to expect at needling" for someone sent to A&E

    [row] = submissions(app)
    assert row.outcome == "urgent"
    assert row.urgent_advice == "emergency"
    assert [f["id"] for f in row.flags] == ["saddle_numbness"]
    assert row.flags[0]["level"] == "urgent"
    assert f"Your reference: {row.reference}" in page
    assert REFERENCE.fullmatch(row.reference)


def test_metal_allergy_is_not_suitable(app, client):
    """A contraindication: told not to come for needling today, and that the clinic will call."""
    fill_in(client, skin_and_healing={"metal_allergy": "yes"})
    done = submit_and_show(client)
    page = text_of(done)

    assert "Please do not come for acupuncture today" in page
    assert "Someone from the clinic will contact you" in page
    assert urgent_advice_on(done) is None

    [row] = submissions(app)
    assert row.outcome == "not_suitable"
    assert [(f["id"], f["level"]) for f in row.flags] == [("metal_allergy", "contraindication")]
    assert row.answers["metal_allergy"] == "yes"
    assert f"Your reference: {row.reference}" in page
    assert REFERENCE.fullmatch(row.reference)


def test_anticoagulant_is_review(app, client):
    """A precaution: come as planned, the physio talks it through first; info and aftercare shown."""
    fill_in(client, your_health={"anticoagulant": "yes"})
    done = submit_and_show(client)
    page = text_of(done)

    assert "Your physio will talk with you first" in page
    assert "Please come to your appointment as planned" in page
    assert BEFORE_SESSION in page
    assert AFTERCARE in page
    assert urgent_advice_on(done) is None

    [row] = submissions(app)
    assert row.outcome == "review"
    assert [(f["id"], f["level"]) for f in row.flags] == [("anticoagulant", "precaution")]
    assert f"Your reference: {row.reference}" in page
    assert REFERENCE.fullmatch(row.reference)


def test_submitted_draft_keeps_no_copy_of_the_answers(app, client):
    """After sending, the answers live only in the submission, and the draft points at it."""
    fill_in(client)
    submit_and_show(client)
    [row] = submissions(app)
    [draft] = drafts(app)
    assert draft.submission_id == row.id
    assert draft.answers == {}


# --- 2. progress and titles --------------------------------------------------------------


def test_second_page_shows_step_2_of_13(client):
    """The progress line and the page title both say which step this is."""
    client.answer("warning_signs", ALL_CLEAR["warning_signs"])
    page = client.get("/intake/more_warning_signs")
    assert page.status_code == 200
    assert "Step 2 of 13" in text_of(page)
    assert "Step 2 of 13" in title_of(page)
    assert title_of(page).startswith("More warning signs")
    assert not title_of(page).startswith("Error:")


def test_last_page_is_step_13_of_13(client):
    """The last page says it is the last step."""
    page = client.get("/intake/your_session")
    assert "Step 13 of 13" in title_of(page)


def test_error_page_title_starts_with_error(client):
    """A page sent back with problems says so first in its title (read out by screen readers)."""
    page = client.answer("warning_signs", {})
    assert page.status_code == 400
    assert title_of(page).startswith("Error: Warning signs")
    assert "Step 1 of 13" in title_of(page)


# --- 3. validation -----------------------------------------------------------------------


def test_missing_answers_are_listed_and_shown_beside_each_question(app, client):
    """Nothing answered: a 400 with an error summary linking to every question, and each error again beside it."""
    page = client.answer("warning_signs", {})
    assert page.status_code == 400
    assert "There is a problem" in page.text
    qids = list(ALL_CLEAR["warning_signs"])
    assert errors_on(page) == qids
    for qid in qids:
        assert f'href="#{qid}"' in page.text
        assert f'id="{qid}"' in page.text  # the link lands on the first option
        assert field_error(page, qid), f"no error beside {qid}"
    assert field_error(page, "saddle_numbness") == "Select yes or no: Numbness between the legs"
    assert page.text.count("Select yes or no: Numbness between the legs") == 2
    assert drafts(app) == []


def test_partly_answered_page_keeps_answers_and_flags_only_the_missing(app, client):
    """Only the unanswered questions are in error; the answers given are still ticked."""
    answers = dict(ALL_CLEAR["more_warning_signs"])
    del answers["chest_pain"]
    page = client.answer("more_warning_signs", answers)
    assert page.status_code == 400
    assert errors_on(page) == ["chest_pain"]
    assert checked(page, "leg_weakness_worsening") == ["no"]
    assert checked(page, "chest_pain") == []
    assert drafts(app) == []


def test_optional_question_may_be_left_blank(app, client):
    """Email and medicines are optional: leaving them out is not an error."""
    about = dict(ALL_CLEAR["about_you"], email="")
    assert location(client.answer("about_you", about)) == "/intake/your_health"
    assert "email" not in saved_answers(app)


@pytest.mark.parametrize(
    ("qid", "value", "message"),
    [
        ("date_of_birth", "31/02/2020", "Date of birth must be a real date: February 2020 has 29 days"),
        ("date_of_birth", "2020-02-31", "Date of birth must be a real date"),
        # In the future however long the run (a date worked out at import would be "today" after midnight).
        ("date_of_birth", f"{TODAY.year + 2}-01-01", "Date of birth must be today or in the past"),
        ("date_of_birth", "1899-12-31", "Date of birth must be the same as or after 1 January 1900"),
        ("sex", "alien", "Select one of the options"),
        ("first_acupuncture", "maybe", "Select yes or no"),
        ("full_name", "A" * 201, "Use 200 characters or fewer (you used 201)"),
        ("phone", "call me", "Enter a phone number"),
        ("email", "not-an-email", "Enter an email address like name@example.com"),
    ],
)
def test_invalid_answer_is_refused_and_nothing_saved(app, client, qid, value, message):
    """A value the question cannot take is refused with a message; nothing on the page is saved."""
    client.answer("warning_signs", ALL_CLEAR["warning_signs"])
    before = saved_answers(app)

    section_id = load(DEFAULT).questions[qid].section_id
    page = client.answer(section_id, ALL_CLEAR[section_id] | {qid: value})
    assert page.status_code == 400
    assert errors_on(page) == [qid]
    assert message in field_error(page, qid)
    assert title_of(page).startswith("Error:")
    assert saved_answers(app) == before
    assert "full_name" not in saved_answers(app)


def test_day_month_year_date_is_accepted(app, client):
    """A date typed as day/month/year (no date picker) is understood."""
    page = client.answer("about_you", ALL_CLEAR["about_you"] | {"date_of_birth": "27/3/1980"})
    assert location(page) == "/intake/your_health"
    assert saved_answers(app)["date_of_birth"] == "1980-03-27"


def test_out_of_range_scale_value_is_refused(app, client):
    """A forged pain score of 11 on a 0-10 scale is refused."""
    page = client.answer("where_it_hurts", ALL_CLEAR["where_it_hurts"] | {"pain_now": "11"})
    assert page.status_code == 400
    assert errors_on(page) == ["pain_now"]
    assert drafts(app) == []


@pytest.mark.parametrize(
    ("value", "message"),
    [("lots", "Enter a whole number"), ("7.5", "Enter a whole number"), ("25", "between 0 and 24")],
)
def test_number_question_refuses_non_numbers(small_app, small, value, message):
    """A number question refuses words, fractions and numbers out of range, and saves nothing."""
    small.answer("first", SMALL_CLEAR["first"])
    before = saved_answers(small_app)
    page = small.answer("second", SMALL_CLEAR["second"] | {"hours": value})
    assert page.status_code == 400
    assert errors_on(page) == ["hours"]
    assert message in field_error(page, "hours")
    assert value_of(page, "hours") == value  # what they typed is there to correct
    assert saved_answers(small_app) == before


def test_forged_multi_choice_value_is_refused(small_app, small):
    """A checkbox value that is not one of the options is refused, and nothing is saved."""
    small.answer("first", SMALL_CLEAR["first"])
    before = saved_answers(small_app)
    page = small.answer("second", SMALL_CLEAR["second"] | {"areas": ["back", "arms"]})
    assert page.status_code == 400
    assert errors_on(page) == ["areas"]
    assert "Select from the options given" in field_error(page, "areas")
    assert saved_answers(small_app) == before


def test_unticked_consent_box_is_asked_for(app, client):
    """Leaving the consent box unticked is an error beside the box, not a silent 'no'."""
    answers = dict(ALL_CLEAR["your_session"])
    del answers["consent_to_store"]
    page = client.answer("your_session", answers)
    assert page.status_code == 400
    assert errors_on(page) == ["consent_to_store"]
    assert field_error(page, "consent_to_store") == "Tick the box to agree that the clinic can store your answers"
    assert checked(page, "understands_and_agrees") == ["yes"]
    assert drafts(app) == []


def test_number_question_accepts_a_number(small_app, small):
    """A whole number is stored as a number."""
    small.answer("first", SMALL_CLEAR["first"])
    assert location(small.answer("second", SMALL_CLEAR["second"] | {"hours": "7"})) == "/intake/check"
    assert saved_answers(small_app)["hours"] == 7


# --- 4. back and change ------------------------------------------------------------------


def test_back_to_an_earlier_page_shows_the_saved_answers(client):
    """Going back to page 1 after page 2 shows every answer still ticked."""
    client.answer("more_warning_signs", ALL_CLEAR["more_warning_signs"] | {"chest_pain": "yes"})
    client.answer("your_back_pain", ALL_CLEAR["your_back_pain"])
    client.answer("cancer_and_injury", ALL_CLEAR["cancer_and_injury"])
    client.answer("how_your_pain_behaves", ALL_CLEAR["how_your_pain_behaves"])
    client.answer("where_it_hurts", ALL_CLEAR["where_it_hurts"])

    page3 = client.get("/intake/cancer_and_injury")
    assert 'class="back-link" href="/intake/your_back_pain"' in page3.text

    page2 = client.get("/intake/more_warning_signs")
    assert checked(page2, "chest_pain") == ["yes"]
    for qid in ALL_CLEAR["more_warning_signs"]:
        if qid != "chest_pain":
            assert checked(page2, qid) == ["no"], qid
    back_pain = client.get("/intake/how_your_pain_behaves")
    assert checked(back_pain, "pain_duration") == ["weeks_6_to_12"]
    where = client.get("/intake/where_it_hurts")
    assert checked(where, "pain_now") == ["5"]


def test_text_answers_are_filled_in_again(client):
    """Text, date, phone and consent answers come back on their pages too."""
    fill_in(client)
    about = client.get("/intake/about_you")
    assert value_of(about, "full_name") == "Sam Taylor"
    year, month, day = DATE_OF_BIRTH.split("-")
    boxes = [value_of(about, f"date_of_birth-{part}") for part in ("day", "month", "year")]
    assert boxes == [str(int(day)), str(int(month)), year]
    assert value_of(about, "phone") == "07700 900982"
    health = client.get("/intake/heart_and_medicines")
    assert "Ibuprofen when needed</textarea>" in health.text
    session = client.get("/intake/your_session")
    assert checked(session, "consent_to_store") == ["y"]


def test_check_page_lists_answers_with_change_links(client):
    """Each answer is listed as the patient would say it, with a Change link to its page."""
    fill_in(client)
    check = client.get("/intake/check")
    rows = summary_rows(check)
    assert rows["Numbness between the legs"] == "No"
    assert rows["How long you have had the pain"] == "6 to 12 weeks"
    assert rows["Pain right now"] == "5 out of 10"
    assert rows["Name"] == "Sam Taylor"
    assert rows["Date of birth"] == f"27 March {TODAY.year - 40}"
    assert rows["Agree to store answers"] == "Yes, I agree"
    for section_id in SECTIONS:
        assert f'href="/intake/{section_id}?change=1#' in check.text
    assert 'href="/intake/warning_signs?change=1#saddle_numbness"' in check.text
    assert 'href="/intake/about_you?change=1#full_name"' in check.text  # a walk-in's own name
    assert "From your booking" not in check.text
    assert 'class="back-link" href="/intake/your_session"' in check.text


def test_change_from_check_page_returns_there_with_the_new_answer(app, client):
    """Changing one answer goes back to the check page, which shows it; the others are unchanged."""
    fill_in(client)
    before = summary_rows(client.get("/intake/check"))

    page = client.get("/intake/how_your_pain_behaves?change=1")
    assert page.status_code == 200
    assert "Save and go back to your answers" in page.text
    assert 'class="back-link" href="/intake/check"' in page.text
    assert checked(page, "pain_duration") == ["weeks_6_to_12"]

    response = client.post(
        "/intake/how_your_pain_behaves?change=1",
        ALL_CLEAR["how_your_pain_behaves"] | {"pain_duration": "over_12_weeks"},
        token=client.token("/intake/how_your_pain_behaves?change=1"),
    )
    assert location(response) == "/intake/check"

    after = summary_rows(client.get("/intake/check"))
    assert after["How long you have had the pain"] == "More than 12 weeks"
    assert {k: v for k, v in after.items() if k != "How long you have had the pain"} == {
        k: v for k, v in before.items() if k != "How long you have had the pain"
    }
    assert saved_answers(app)["pain_duration"] == "over_12_weeks"


def test_follow_up_question_on_the_same_page_must_be_answered(app, client):
    """A 'yes' that shows a follow-up on the same page asks for it before saving the change."""
    fill_in(client)
    url = "/intake/cancer_and_injury?change=1"
    page = client.post(url, ALL_CLEAR["cancer_and_injury"] | {"cancer_history": "yes"}, token=client.token(url))
    assert page.status_code == 400
    assert errors_on(page) == ["cancer_back_pain_checked"]
    assert checked(page, "cancer_history") == ["yes"]
    assert saved_answers(app)["cancer_history"] == "no"

    answers = ALL_CLEAR["cancer_and_injury"] | {"cancer_history": "yes", "cancer_back_pain_checked": "yes"}
    assert location(client.post(url, answers, token=client.token(url))) == "/intake/check"
    assert summary_rows(client.get("/intake/check"))["Doctor checked pain since cancer"] == "Yes"


# --- 5. hidden answers are dropped -------------------------------------------------------


def test_hidden_answers_are_not_stored_small(small_app, small):
    """Answers to questions that were not shown (a man's pregnancy, a follow-up to 'no') are dropped."""
    fill_in(
        small,
        SMALL_CLEAR,
        first={"had_cancer": "no", "cancer_checked": "no"},
        second={"sex": "male", "pregnant": "yes"},
    )
    check = small.get("/intake/check")
    assert "Are you pregnant?" not in text_of(check)
    assert "Has a doctor checked it?" not in text_of(check)
    done = submit_and_show(small)
    assert "You are ready" in text_of(done)

    [row] = submissions(small_app)
    assert row.answers["sex"] == "male"
    assert row.answers["had_cancer"] == "no"
    assert "pregnant" not in row.answers
    assert "cancer_checked" not in row.answers
    assert row.flags == []  # no pregnancy precaution for an answer that was never asked
    assert row.outcome == "suitable"


def test_changing_sex_to_male_drops_the_pregnancy_answer(app, client):
    """Female with 'pregnant: yes', then changed to male on the check page: the pregnancy answer goes."""
    fill_in(client, your_health={"pregnant": "yes"})
    assert summary_rows(client.get("/intake/check"))["Pregnant or trying"] == "Yes"

    response = client.post(
        "/intake/about_you?change=1",
        ALL_CLEAR["about_you"] | {"sex": "male"},
        token=client.token("/intake/about_you?change=1"),
    )
    assert location(response) == "/intake/check"
    rows = summary_rows(client.get("/intake/check"))
    assert rows["Sex"] == "Male"
    assert "Pregnant or trying" not in rows
    assert "pregnant" not in saved_answers(app)

    submit_and_show(client)
    [row] = submissions(app)
    assert "pregnant" not in row.answers
    assert row.outcome == "suitable"
    assert row.flags == []


def test_pregnancy_is_asked_again_when_sex_changes_back(client):
    """Changed to male, then back to female: the pregnancy question must be answered again."""
    fill_in(client, your_health={"pregnant": "yes"})
    for sex in ("male", "female"):
        response = client.post(
            "/intake/about_you?change=1",
            ALL_CLEAR["about_you"] | {"sex": sex},
            token=client.token("/intake/about_you?change=1"),
        )
    assert location(response) == "/intake/your_health?change=1"
    check = client.get("/intake/check")
    assert summary_rows(check)["Pregnant or trying"] == "Not answered yet"
    assert "Send my answers" not in check.text


# --- 6. an expired CSRF token costs nothing ----------------------------------------------


def test_expired_token_on_a_page_keeps_the_answers(csrf_app):
    """A page sent after the token expired is shown again with the answers filled in; the retry saves."""
    patient = Patient(csrf_app.test_client())
    patient.answer("warning_signs", ALL_CLEAR["warning_signs"])
    patient.get("/intake/how_your_pain_behaves")
    answers = ALL_CLEAR["how_your_pain_behaves"] | {"pain_duration": "over_12_weeks", "pain_getting_worse": "no"}

    page = patient.post("/intake/how_your_pain_behaves", answers, token=expired_token(csrf_app, patient))
    assert page.status_code == 400
    assert "Something went wrong with that request" not in page.text  # not the bare error page
    assert "Your answers are still here" in text_of(page)
    assert title_of(page).startswith("Error: Pain patterns")
    assert checked(page, "pain_duration") == ["over_12_weeks"]
    assert checked(page, "pain_getting_worse") == ["no"]
    assert checked(page, "straining_pain") == ["no"]
    assert "pain_duration" not in saved_answers(csrf_app)
    assert "saddle_numbness" in saved_answers(csrf_app)  # the earlier page is safe

    fresh = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    retry = patient.post("/intake/how_your_pain_behaves", answers, token=fresh)
    assert location(retry) == "/intake/where_it_hurts"
    assert saved_answers(csrf_app)["pain_duration"] == "over_12_weeks"
    assert saved_answers(csrf_app)["pain_getting_worse"] == "no"


def test_forged_token_is_refused_and_nothing_saved(csrf_app):
    """A post without a genuine token (another site's form) saves nothing."""
    patient = Patient(csrf_app.test_client())
    patient.get("/intake/warning_signs")
    page = patient.post("/intake/warning_signs", ALL_CLEAR["warning_signs"], token="not-a-token")
    assert page.status_code == 400
    assert drafts(csrf_app) == []


def test_expired_token_on_send_keeps_the_answers(csrf_app):
    """Send with an expired token goes back to the check page with a message; the retry sends once."""
    patient = Patient(csrf_app.test_client())
    fill_in(patient)
    before = summary_rows(patient.get("/intake/check"))

    response = patient.post("/intake/submit", token=expired_token(csrf_app, patient))
    assert location(response) == "/intake/check"
    assert submissions(csrf_app) == []

    check = patient.get("/intake/check")
    assert check.status_code == 200
    assert "your answers were not sent yet" in text_of(check)
    assert summary_rows(check) == before
    assert len(before) >= sum(len(a) for a in ALL_CLEAR.values())

    done = submit_and_show(patient)
    [row] = submissions(csrf_app)
    assert row.outcome == "suitable"
    assert f"Your reference: {row.reference}" in text_of(done)


# --- 7. submitting twice -----------------------------------------------------------------


def test_double_submit_makes_one_submission(app, client):
    """Pressing Send twice records one submission, and both land on the same reference."""
    fill_in(client)
    token = client.token("/intake/check")
    first = client.post("/intake/submit", token=token)
    second = client.post("/intake/submit", token=token)
    assert location(first) == location(second) == "/intake/done"
    [row] = submissions(app)
    done = client.get("/intake/done")
    assert f"Your reference: {row.reference}" in text_of(done)


def test_back_then_send_again_shows_the_same_outcome(app, client):
    """Back to the check page after sending, then Send again: still one submission, same done page."""
    fill_in(client, your_health={"anticoagulant": "yes"})
    token = client.token("/intake/check")
    done = submit_and_show(client)
    [row] = submissions(app)

    assert location(client.get("/intake/check")) == "/intake/done"
    again = client.post("/intake/submit", token=token)
    assert location(again) == "/intake/done"
    assert client.get("/intake/done").text == done.text
    assert [s.reference for s in submissions(app)] == [row.reference]


def test_page_posted_after_sending_goes_to_the_outcome(app, client):
    """A page posted after sending (an old tab) shows the outcome and starts no new draft."""
    fill_in(client)
    token = client.token("/intake/warning_signs")
    submit_and_show(client)
    [draft] = drafts(app)

    response = client.post("/intake/warning_signs", ALL_CLEAR["warning_signs"], token=token)
    assert location(response) == "/intake/done"
    assert location(client.get("/intake/your_back_pain")) == "/intake/done"
    assert [d.token for d in drafts(app)] == [draft.token]
    assert drafts(app)[0].answers == {}
    assert len(submissions(app)) == 1


def test_send_with_unanswered_questions_goes_to_them(app, client):
    """Send before every page is done goes to the first missing question instead of recording."""
    client.answer("warning_signs", ALL_CLEAR["warning_signs"])
    response = client.post("/intake/submit", token=client.token("/intake/warning_signs"))
    assert location(response) == "/intake/more_warning_signs?change=1"
    assert submissions(app) == []
    assert "Please answer the questions that are still missing" in text_of(client.get("/intake/more_warning_signs"))


# --- 8. urgent advice at once ------------------------------------------------------------


def test_urgent_answer_on_page_1_warns_on_page_2(client):
    """An emergency answer on page 1 leads to the stop page, then the advice stays on page 2."""
    first = client.get("/intake/warning_signs")
    assert urgent_advice_on(first) is None
    response = client.answer("warning_signs", ALL_CLEAR["warning_signs"] | {"saddle_numbness": "yes"})
    assert location(response) == "/intake/urgent?next=/intake/more_warning_signs"
    stop = client.get(location(response))
    assert urgent_advice_on(stop) == EMERGENCY
    assert 'href="/intake/more_warning_signs">Continue with the form</a>' in stop.text

    page = client.get("/intake/more_warning_signs")
    assert urgent_advice_on(page) == EMERGENCY
    assert "Do not wait for your appointment, and do not finish this form first" in text_of(page)
    assert urgent_advice_on(client.get("/intake/check")) == EMERGENCY


def test_same_day_answer_warns_with_same_day_advice(client):
    """A same-day red flag shows the GP/111 advice, not the 999 advice."""
    client.answer("warning_signs", ALL_CLEAR["warning_signs"])
    response = client.answer("your_back_pain", ALL_CLEAR["your_back_pain"] | {"weight_loss": "yes"})
    assert location(response).startswith("/intake/urgent?")
    page = client.get("/intake/about_you")
    assert urgent_advice_on(page).startswith(SAME_DAY)


def test_no_warning_without_red_flags(client):
    """Answering no everywhere shows no urgent panel."""
    client.answer("warning_signs", ALL_CLEAR["warning_signs"])
    page = client.get("/intake/your_back_pain")
    assert urgent_advice_on(page) is None
    assert "urgent-panel" not in page.text


# --- 9. the other pages ------------------------------------------------------------------


def test_start_page(client):
    """The start page says what this is, how long it takes, the privacy notice, and starts."""
    page = client.get("/")
    assert page.status_code == 200
    text = text_of(page)
    assert "Before your acupuncture session" in text
    minutes = estimate(load(DEFAULT)).minutes
    assert minutes >= 5  # 52 questions cannot honestly take less
    assert f"It takes about {minutes} minutes" in text
    assert "Your privacy" in text
    assert "Only the clinic's physiotherapists can see your answers" in text
    assert 'href="/intake/warning_signs"' in page.text


def test_before_your_session_page_with_faq(client):
    """The before-your-session page shows the information and the common questions."""
    page = client.get("/info/before-your-session")
    assert page.status_code == 200
    text = text_of(page)
    assert BEFORE_SESSION in text
    assert "Common questions" in text
    assert "Is it painful?" in text
    assert "Can I say no, or stop?" in text


def test_aftercare_page(client):
    """The aftercare page shows what is normal and when to get help."""
    page = client.get("/info/aftercare")
    assert page.status_code == 200
    text = text_of(page)
    assert AFTERCARE in text
    assert "Call 999 or go to A&E if" in text


def test_done_without_a_submission_goes_to_start(client):
    """The outcome page with nothing sent in this browser goes back to the start."""
    assert location(client.get("/intake/done")) == "/"
    client.answer("warning_signs", ALL_CLEAR["warning_signs"])
    assert location(client.get("/intake/done")) == "/"


def test_outcome_is_for_this_browser_only(app, client):
    """Another browser cannot see someone else's outcome page."""
    fill_in(client)
    submit_and_show(client)
    other = Patient(app.test_client())
    assert location(other.get("/intake/done")) == "/"


def test_check_without_answers_goes_to_start(client):
    """The check page with no answers yet goes to the start page with a message."""
    assert location(client.get("/intake/check")) == "/"
    assert "Please answer the questions first" in text_of(client.get("/"))


def test_unknown_page_is_404_in_the_apps_look(client):
    """A mistyped page is a 404 with the app's header, footer and a way back."""
    page = client.get("/intake/nosuchpage")
    assert page.status_code == 404
    text = text_of(page)
    assert "Page not found" in text
    assert 'class="site-header"' in page.text
    assert "Go to the start page" in text
    assert "Traceback" not in page.text


@pytest.mark.parametrize("url", ["/", "/intake/warning_signs", "/intake/check", "/intake/done"])
def test_intake_pages_are_not_cached(client, url):
    """Patients' pages (answers, outcomes) tell browsers and proxies not to store them."""
    client.answer("warning_signs", ALL_CLEAR["warning_signs"])
    response = client.get(url)
    assert response.headers["Cache-Control"] == "no-store"


def test_error_and_done_responses_are_not_cached(client):
    """A page sent back with errors, and the outcome page, are not stored either."""
    assert client.answer("warning_signs", {}).headers["Cache-Control"] == "no-store"
    fill_in(client)
    assert submit_and_show(client).headers["Cache-Control"] == "no-store"


# --- 10. start again ---------------------------------------------------------------------


def test_start_again_deletes_the_answers(app, client):
    """'Delete my answers and start again' removes the draft; the pages are blank again."""
    client.answer("warning_signs", ALL_CLEAR["warning_signs"] | {"chest_pain": "yes"})
    client.answer("your_back_pain", ALL_CLEAR["your_back_pain"])
    start = client.get("/")
    assert start.status_code == 200
    assert "Continue where you left off" in start.text
    assert "Delete my answers and start again" in start.text
    assert len(drafts(app)) == 1
    # Asked once: the start page links to a page that asks, and only its button deletes.
    confirm = client.get("/intake/delete")
    assert "Are you sure you want to delete your answers?" in title_of(confirm)
    assert "Yes, delete my answers" in confirm.text
    assert len(drafts(app)) == 1

    response = client.post("/intake/restart", token=client.token("/intake/delete"))
    assert location(response) == "/"
    assert drafts(app) == []
    start = client.get("/")
    assert "Your earlier answers have been deleted" in text_of(start)
    assert "Continue where you left off" not in start.text
    page1 = client.get("/intake/warning_signs")
    assert checked(page1, "chest_pain") == []
    assert urgent_advice_on(page1) is None
    assert location(client.get("/intake/check")) == "/"


def test_start_again_without_a_valid_token_deletes_nothing(app, client):
    """A forged 'start again' post (no genuine token) does not delete the patient's answers."""
    client.answer("warning_signs", ALL_CLEAR["warning_signs"])
    response = client.post("/intake/restart", token="forged")
    assert location(response) == "/"
    assert len(drafts(app)) == 1
    assert saved_answers(app)["saddle_numbness"] == "no"


# --- an urgent answer reaches the clinic even if the patient stops there -----------------


def test_an_urgent_answer_can_be_sent_at_once_unfinished(app, client):
    """Saddle numbness on page 1: the next page offers to send now; the name and phone are
    asked first (never an anonymous record), and the clinic gets it."""
    client.answer("warning_signs", ALL_CLEAR["warning_signs"] | {"saddle_numbness": "yes"})
    page = client.get("/intake/your_back_pain")
    assert "Send my answers to the clinic now" in page.text
    response = client.post("/intake/submit", token=client.token("/intake/your_back_pain"))
    assert location(response) == "/intake/urgent/details"
    assert submissions(app) == []
    details = client.get("/intake/urgent/details")
    assert re.findall(r'<input class="input[^"]*" id="(\w+)"', details.text) == ["full_name", "phone"]
    response = client.post("/intake/urgent/details", {"full_name": "Ann Example", "phone": "07700 900123"})
    assert location(response) == "/intake/done"
    [row] = submissions(app)
    assert (row.outcome, row.complete) == ("urgent", False)
    assert row.answers["saddle_numbness"] == "yes"
    assert row.patient_name == "Ann Example"
    assert row.answers["phone"] == "07700 900123"
    done = client.get("/intake/done")
    assert "You do not need to answer the other questions" in text_of(done)


def test_an_urgent_answer_on_a_page_with_an_error_is_kept_and_can_be_sent(app, client):
    """Yes to saddle numbness but a question skipped: the stop page shows, and sending works."""
    answers = ALL_CLEAR["warning_signs"] | {"saddle_numbness": "yes"}
    answers.pop("both_legs_symptoms")
    page = client.answer("warning_signs", answers)
    assert location(page) == "/intake/urgent?next=/intake/warning_signs"
    assert saved_answers(app)["saddle_numbness"] == "yes"
    client.get(location(page))  # the stop page, then "Continue with the form"
    again = client.answer("warning_signs", answers)  # back to the page: the stop page was seen
    assert again.status_code == 400
    assert "Send my answers to the clinic now" in again.text
    response = client.post("/intake/submit", token=client.token("/intake/warning_signs"))
    assert location(response) == "/intake/urgent/details"
    response = client.post("/intake/urgent/details", {"full_name": "Ann Example", "phone": "07700 900123"})
    assert location(response) == "/intake/done"
    [row] = submissions(app)
    assert row.outcome == "urgent" and not row.complete


def test_an_unfinished_form_without_urgent_answers_cannot_be_sent(app, client):
    """Sending early is only for urgent answers: otherwise the missing page is shown."""
    client.answer("warning_signs", ALL_CLEAR["warning_signs"])
    response = client.post("/intake/submit", token=client.token("/intake/more_warning_signs"))
    assert "/intake/more_warning_signs" in location(response)
    assert submissions(app) == []


# --- a shared device, and a questionnaire that changed mid-form ---------------------------


def test_the_next_patient_on_a_shared_device_starts_afresh(app, client):
    """After one patient sends, the start page begins a new form: no outcome is shown to the next."""
    fill_in(client)
    client.submit()
    assert "Start a new form" in text_of(client.get("/intake/done"))
    start = client.get("/")
    assert start.status_code == 200 and "Start now" in start.text
    assert location(client.get("/intake/done")) == "/"  # the last patient's outcome is gone
    page = client.get("/intake/warning_signs")
    assert checked(page, "saddle_numbness") == []
    fill_in(client)
    client.submit()
    assert len(submissions(app)) == 2


def test_answers_the_questionnaire_no_longer_accepts_are_dropped_not_stuck(app, client):
    """An answer to a removed question, or one no longer valid, is dropped and asked again."""
    fill_in(client)
    with app.app_context(), db.get_db().transaction() as s:
        draft = s.scalars(select(Draft)).one()
        draft.answers = draft.answers | {"removed_question": "yes", "pain_now": 42}
    check = client.get("/intake/check")
    assert check.status_code == 200
    assert "Not answered yet" in text_of(check)
    response = client.post("/intake/submit", token=client.token("/intake/warning_signs"))
    assert "/intake/where_it_hurts" in location(response)  # the invalid answer is asked again
    client.answer("where_it_hurts", ALL_CLEAR["where_it_hurts"])
    assert location(client.submit()) == "/intake/done"
    [row] = submissions(app)
    assert "removed_question" not in row.answers and row.answers["pain_now"] == 5


def test_continue_where_you_left_off_goes_to_the_first_unfinished_page(client):
    """A returning patient carries on at the first page with questions still to answer."""
    client.answer("warning_signs", ALL_CLEAR["warning_signs"])
    start = client.get("/")
    assert 'href="/intake/resume">Continue' in start.text
    assert location(client.get("/intake/resume")) == "/intake/more_warning_signs"


def test_one_assessment_per_request(tmp_path, monkeypatch):
    """Every patient page works out what the answers mean once (rules.assess), not again per helper.

    The exception is a page sent with errors and no urgent answer: it assesses the posted
    answers (is anything urgent?) and then draws the page from the answers as saved.
    """
    from screening import rules

    app = make_app(tmp_path, WTF_CSRF_ENABLED=False)
    defn = app.extensions["screening.questionnaire"]
    calls = []
    real = rules.assess
    monkeypatch.setattr(rules, "assess", lambda *args, **kw: calls.append(1) or real(*args, **kw))
    browser = app.test_client()

    def count(method, url, data=None, status=None):
        calls.clear()
        response = browser.open(url, method=method, data=data)
        if status is not None:
            assert response.status_code == status, (url, response.status_code)
        return len(calls)

    pages = ALL_CLEAR
    first = defn.sections[0]
    assert count("GET", "/", status=200) == 0  # nothing answered yet
    assert count("GET", f"/intake/{first.id}", status=200) == 1
    assert count("POST", f"/intake/{first.id}", data={}, status=400) == 2
    for section_id, answers in pages.items():
        assert count("GET", f"/intake/{section_id}", status=200) == 1
        assert count("POST", f"/intake/{section_id}", data=answers, status=302) == 1
    assert count("GET", "/", status=200) == 0  # "continue" is a choice, worked out when made
    assert count("GET", "/intake/resume", status=302) == 1
    assert count("GET", "/intake/check", status=200) == 1
    assert count("GET", f"/intake/{first.id}?change=1", status=200) == 1
    assert count("POST", f"/intake/{first.id}?change=1", data=pages[first.id], status=302) == 1
    assert count("POST", "/intake/submit", status=303) == 1
    assert count("GET", "/intake/done", status=200) == 0  # the stored outcome, not worked out again
    with app.app_context():
        submission = db.session().scalars(select(Submission)).one()
        # The questions shown are stored with it, for the clinician's record.
        assert submission.shown == list(real(defn, submission.answers).shown)
        assert set(submission.answers) <= set(submission.shown)


def test_an_urgent_answer_on_a_page_with_errors_is_assessed_once(tmp_path, monkeypatch):
    """The posted urgent answer is kept, and the page drawn, from one assessment."""
    from screening import rules

    app = make_app(tmp_path, WTF_CSRF_ENABLED=False)
    calls = []
    real = rules.assess
    monkeypatch.setattr(rules, "assess", lambda *args, **kw: calls.append(1) or real(*args, **kw))
    browser = app.test_client()
    response = browser.post("/intake/warning_signs", data={"saddle_numbness": "yes"})
    assert response.status_code == 302  # to the stop page
    assert len(calls) == 1


# --- telling the patient why -------------------------------------------------------------


def why_section(page) -> str:
    """The text of the outcome page's "Why" list ("" when there is none)."""
    match = re.search(r"<h2>Why</h2>(.*?)</ul>", page.text, re.S)
    return text_of(match.group(1)) if match else ""


def test_not_suitable_says_why_and_what_to_do_next_never_the_clinicians_reason(client):
    """Each contraindication's patient reason is under "Why" with its next step; no source or clinical reason."""
    fill_in(client, skin_and_healing={"metal_allergy": "yes"}, your_health={"anticoagulant": "yes"})
    done = submit_and_show(client)
    why = why_section(done)
    assert "You are allergic to metal, and the needles are metal." in why
    assert "The clinic will call you to talk about other needles or treatments." in why
    # the precaution's reason too, with the default next step for its level
    assert "You take medicine to thin your blood" in why
    assert why.index("allergic to metal") < why.index("thin your blood")  # the stronger reason first
    assert "not usually advised" not in done.text and "S14" not in done.text
    assert "Anticoagulant" not in done.text


def test_not_wanting_acupuncture_is_respected(client):
    """'No, I do not want acupuncture' is told as a choice, not a risk."""
    fill_in(client, your_session={"understands_and_agrees": "no"})
    why = why_section(submit_and_show(client))
    assert "You told us you do not want acupuncture. That is fine." in why
    assert "Your physio will talk about other treatments at your appointment." in why


def test_not_sure_i_understand_leads_to_a_talk(client):
    """'I am not sure I understand' is a talk with the physio first."""
    fill_in(client, your_session={"understands_and_agrees": "questions"})
    done = submit_and_show(client)
    assert "Your physio will talk with you first" in text_of(done)
    assert "Your physio will answer your questions before anything happens." in why_section(done)


def test_an_all_clear_outcome_has_no_why(client):
    """A suitable outcome lists no reasons."""
    fill_in(client)
    assert why_section(submit_and_show(client)) == ""


DISCLAIMER = (
    "This service gives general information. It does not replace advice or treatment from your own doctor or "
    "other health professional."
)


@pytest.mark.parametrize(
    "url",
    ["/", "/intake/warning_signs", "/intake/check", "/intake/done", "/info/before-your-session", "/info/aftercare"],
)
def test_the_disclaimer_is_on_every_patient_page(client, url):
    """Every patient page carries the clinic article's disclaimer."""
    fill_in(client)
    if url == "/intake/done":
        client.submit()
    assert DISCLAIMER in text_of(client.get(url))


def date_boxes(day: str, month: str, year: str) -> dict[str, str]:
    """The date of birth as the page posts it: three boxes."""
    return {"date_of_birth-day": day, "date_of_birth-month": month, "date_of_birth-year": year}


def about_you_with(boxes: dict[str, str]) -> dict:
    answers = {k: v for k, v in ALL_CLEAR["about_you"].items() if k != "date_of_birth"}
    return answers | boxes


def test_date_of_birth_is_three_boxes(app, client):
    """Date of birth is the memorable date pattern: a day, month and year box in one group,
    filled with the autocomplete hints for a birthday."""
    page = client.get("/intake/about_you")
    for part in ("day", "month", "year"):
        assert re.search(rf'<input[^>]*name="date_of_birth-{part}"[^>]*autocomplete="bday-{part}"', page.text)
    assert re.search(r'<fieldset class="fieldset" role="group" aria-describedby="date_of_birth-hint">', page.text)
    # The day box carries the question's id, so a link to #date_of_birth lands on it.
    assert re.search(r'<input[^>]*id="date_of_birth"[^>]*name="date_of_birth-day"', page.text)
    saved = client.answer("about_you", about_you_with(date_boxes("27", "3", "1980")))
    assert location(saved) == "/intake/your_health"
    assert saved_answers(app)["date_of_birth"] == "1980-03-27"


def test_date_error_marks_only_the_wrong_box_and_keeps_what_was_typed(app, client):
    """A missing month is named in the message, only the month box is marked, the error
    summary links to it, and the day and year come back as typed."""
    client.answer("warning_signs", ALL_CLEAR["warning_signs"])
    page = client.answer("about_you", about_you_with(date_boxes("27", "", "1980")))
    assert page.status_code == 400
    assert field_error(page, "date_of_birth") == "Date of birth must include a month"
    assert '<a href="#date_of_birth-month">Date of birth must include a month</a>' in page.text
    invalid = re.findall(r'<input[^>]*name="date_of_birth-(\w+)"[^>]*aria-invalid="true"', page.text)
    assert invalid == ["month"]
    assert value_of(page, "date_of_birth-day") == "27"
    assert value_of(page, "date_of_birth-year") == "1980"
    assert "date_of_birth" not in saved_answers(app)


def test_date_in_the_future_marks_every_box(client):
    client.answer("warning_signs", ALL_CLEAR["warning_signs"])
    tomorrow = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)  # now, not at import
    page = client.answer(
        "about_you", about_you_with(date_boxes(str(tomorrow.day), str(tomorrow.month), str(tomorrow.year)))
    )
    assert field_error(page, "date_of_birth") == "Date of birth must be today or in the past"
    invalid = re.findall(r'<input[^>]*name="date_of_birth-(\w+)"[^>]*aria-invalid="true"', page.text)
    assert invalid == ["day", "month", "year"]


def test_empty_date_of_birth_gets_its_own_message(client):
    page = client.answer("about_you", about_you_with(date_boxes("", "", "")))
    assert field_error(page, "date_of_birth") == "Enter your date of birth"


# --- the urgent stop page ------------------------------------------------------------------


def test_stop_page_says_what_to_do_with_tap_to_call_links(app, client):
    """The stop page's title and heading say what to do; focus lands on the heading; the
    numbers to call (and the clinic's) are tap-to-call links; it is shown once per advice."""
    response = client.answer("warning_signs", ALL_CLEAR["warning_signs"] | {"saddle_numbness": "yes"})
    stop = client.get(location(response))
    assert title_of(stop).startswith("Go to A&E now, or call 999")
    assert re.search(
        r'<h1 class="stop__heading" id="stop-heading" tabindex="-1" autofocus>Go to A&amp;E now, or call 999</h1>',
        stop.text,
    )
    assert 'href="tel:999"' in stop.text
    with app.app_context():
        from screening import clinic

        phone = clinic.current().phone
    if phone:
        assert f'href="tel:{phone.replace(" ", "")}"' in stop.text
    assert "urgent-panel" not in stop.text  # the page itself is the warning
    # Carried on, the next urgent-free page goes on without the stop page again.
    nxt = client.answer("more_warning_signs", ALL_CLEAR["more_warning_signs"])
    assert not location(nxt).startswith("/intake/urgent")


def test_stop_page_again_for_more_urgent_advice(client):
    """Same-day advice first, then an emergency answer: the stop page comes again."""
    client.answer("warning_signs", ALL_CLEAR["warning_signs"])
    first = client.answer("more_warning_signs", ALL_CLEAR["more_warning_signs"])
    response = client.answer("your_back_pain", ALL_CLEAR["your_back_pain"] | {"weight_loss": "yes"})
    assert location(response).startswith("/intake/urgent?")
    stop = client.get(location(response))
    assert "111" in title_of(stop) or "GP" in title_of(stop)
    assert 'href="tel:111"' in stop.text
    response = client.answer("warning_signs", ALL_CLEAR["warning_signs"] | {"saddle_numbness": "yes"})
    assert location(response).startswith("/intake/urgent?")
    assert first.status_code == 302


def test_stop_page_without_urgent_answers_goes_back_to_the_form(client):
    assert location(client.get("/intake/urgent")) == "/"
    client.answer("warning_signs", ALL_CLEAR["warning_signs"])
    assert location(client.get("/intake/urgent")) == "/intake/more_warning_signs"
    assert location(client.get("/intake/urgent/details")) == "/intake/check"


def test_stop_page_continue_link_stays_on_this_site(client):
    client.answer("warning_signs", ALL_CLEAR["warning_signs"] | {"saddle_numbness": "yes"})
    stop = client.get("/intake/urgent?next=https://evil.example/")
    assert "evil.example" not in stop.text
    stop = client.get("/intake/urgent?next=//evil.example/intake/")
    assert "evil.example" not in stop.text


def test_early_send_asks_for_name_and_phone_with_clear_errors(app, client):
    """The details page asks for the two fields only, checks them, and sends nothing until they are right."""
    client.answer("warning_signs", ALL_CLEAR["warning_signs"] | {"saddle_numbness": "yes"})
    page = client.post("/intake/urgent/details", {"full_name": "", "phone": "call me"})
    assert page.status_code == 400
    assert errors_on(page) == ["full_name", "phone"]
    assert "Enter a phone number" in field_error(page, "phone")
    assert submissions(app) == []
    done = client.post("/intake/urgent/details", {"full_name": "Ann Example", "phone": "07700 900123"})
    assert location(done) == "/intake/done"
    [row] = submissions(app)
    assert (row.patient_name, row.answers["phone"], row.complete) == ("Ann Example", "07700 900123", False)


def test_early_send_with_name_and_phone_already_given_sends_at_once(app, client):
    """A patient who already gave their name and phone is not asked again."""
    client.answer("warning_signs", ALL_CLEAR["warning_signs"])
    client.answer("more_warning_signs", ALL_CLEAR["more_warning_signs"])
    client.answer("your_back_pain", ALL_CLEAR["your_back_pain"])
    client.answer("about_you", ALL_CLEAR["about_you"])
    response = client.answer("warning_signs", ALL_CLEAR["warning_signs"] | {"saddle_numbness": "yes"})
    stop = client.get(location(response))
    assert "/intake/urgent/details" not in stop.text
    sent = client.post("/intake/submit", token=client.token(location(response)))
    assert location(sent) == "/intake/done"
    [row] = submissions(app)
    assert row.patient_name == ALL_CLEAR["about_you"]["full_name"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("no", "You told us you do not want acupuncture. That is fine."),
        ("questions", "Your physio will answer your questions"),
    ],
)
def test_not_wanting_acupuncture_is_respected_and_not_understanding_means_a_talk(app, client, value, expected):
    """ "No, I don't want acupuncture" is respected (said kindly, not as a risk); "not sure I
    understand" leads to a talk with the physio (CLINICAL.md, understands_and_agrees)."""
    section_id = load(DEFAULT).questions["understands_and_agrees"].section_id
    fill_in(client, **{section_id: {"understands_and_agrees": value}})
    done = submit_and_show(client)
    assert expected in text_of(done)
    [row] = submissions(app)
    assert row.outcome == ("not_suitable" if value == "no" else "review")
    assert "urgent" not in [f["level"] for f in row.flags]


# --- a shared device: the next person starts clean -----------------------------------------


def test_a_form_left_unused_is_resumed_only_by_the_patients_choice(app, client):
    """After a while unused, a saved form's pages lead to the start page, which asks
    "Are you <first name>?" and shows none of the answers; continuing is the patient's choice."""
    now = dt.datetime(2026, 11, 29, 10, 0, tzinfo=dt.UTC)
    with clock.frozen(now):
        client.answer("warning_signs", ALL_CLEAR["warning_signs"])
        client.answer("more_warning_signs", ALL_CLEAR["more_warning_signs"])
        client.answer("your_back_pain", ALL_CLEAR["your_back_pain"])
        client.answer("about_you", ALL_CLEAR["about_you"])
        assert client.get("/intake/warning_signs").status_code == 200  # still the same patient
    with clock.frozen(now + dt.timedelta(minutes=16)):
        for path in ("/intake/warning_signs", "/intake/check", "/intake/urgent"):
            assert location(client.get(path)) == "/", path
        start = client.get("/")
        first = ALL_CLEAR["about_you"]["full_name"].split()[0]
        assert f"Are you {first}?" in text_of(start)
        assert f"Continue as {first}" in text_of(start)
        assert ALL_CLEAR["about_you"]["full_name"] not in start.text  # the first name only
        assert "saddle" not in start.text.lower() and "Not answered" not in start.text
        resumed = client.get("/intake/resume")
        assert location(resumed).startswith("/intake/")
        page = client.get("/intake/warning_signs")
        assert checked(page, "saddle_numbness") == ["no"]


def test_after_a_delete_nothing_of_the_last_patient_is_reachable(app, client):
    client.answer("warning_signs", ALL_CLEAR["warning_signs"] | {"chest_pain": "yes"})
    client.post("/intake/restart", token=client.token("/intake/delete"))
    assert checked(client.get("/intake/warning_signs"), "chest_pain") == []
    for path in ("/intake/check", "/intake/done", "/intake/urgent", "/intake/resume", "/intake/delete"):
        assert location(client.get(path)) == "/", path


def test_the_outcome_shows_no_answers_and_only_for_a_limited_time(app, client):
    """The outcome page is for the browser that sent, for OUTCOME_VISIBLE_MINUTES; it shows no answers."""
    now = dt.datetime(2026, 11, 29, 10, 0, tzinfo=dt.UTC)
    with clock.frozen(now):
        fill_in(client)
        client.submit()
        done = client.get("/intake/done")
        assert done.status_code == 200
        for answer in ("Sam Taylor", "07700 900982", "Ibuprofen"):
            assert answer not in done.text
        other = Patient(app.test_client())
        assert location(other.get("/intake/done")) == "/"  # not from another browser
    with clock.frozen(now + dt.timedelta(minutes=29)):
        assert client.get("/intake/done").status_code == 200
    with clock.frozen(now + dt.timedelta(minutes=31)):
        assert location(client.get("/intake/done")) == "/"
        start = client.get("/")
        assert "shown only for a short time after sending" in text_of(start)
        assert location(client.get("/intake/done")) == "/"
        assert checked(client.get("/intake/warning_signs"), "saddle_numbness") == []


def test_print_view_to_keep(app, client):
    """The page to keep: reference, what happens next, what to expect, aftercare and the
    FAQ, with headings in order (one h1, no level skipped); no answers; sender only."""
    defn = load(DEFAULT)
    fill_in(client)
    client.submit()
    done = client.get("/intake/done")
    assert 'href="/intake/done/print"' in done.text
    page = client.get("/intake/done/print")
    assert page.status_code == 200
    [row] = submissions(app)
    assert row.reference in page.text
    text = text_of(page)
    assert "Save as PDF" in text
    assert "After your acupuncture" in text
    for item in defn.information.faq:
        assert html.escape(item.question, quote=False) in page.text
    levels = [
        int(level) for level in re.findall(r"<h([1-6])[ >]", page.text.split('<main id="main"')[1].split("</main>")[0])
    ]
    assert levels.count(1) == 1 and levels[0] == 1
    assert all(b <= a + 1 for a, b in itertools.pairwise(levels)), levels
    for answer in ("Sam Taylor", "07700 900982", "Ibuprofen"):
        assert answer not in page.text
    assert location(Patient(app.test_client()).get("/intake/done/print")) == "/"


def test_an_expired_token_on_the_details_page_keeps_what_was_typed_and_sends_nothing(app, client):
    client.answer("warning_signs", ALL_CLEAR["warning_signs"] | {"saddle_numbness": "yes"})
    page = client.post("/intake/urgent/details", {"full_name": "Ann Example", "phone": "07700 900123"}, token="expired")
    assert page.status_code == 400
    assert "your answers were not sent yet" in text_of(page)
    assert value_of(page, "full_name") == "Ann Example"
    assert value_of(page, "phone") == "07700 900123"
    assert submissions(app) == []
