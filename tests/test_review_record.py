"""The record of one submission: what a clinician sees, prints and records about it.

Submissions are made the way a patient makes them (the small test questionnaire,
page by page), and clinicians use the pages through the test client; the checks are
on what the page shows and on what the database and the audit log hold afterwards.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from pathlib import Path

import pytest
from sqlalchemy import select, update

from screening import create_app, db
from screening.models import AuditEvent, QuestionnaireVersion, Review, Submission, User
from screening.rules import years_between

from .conftest import ADMIN, CLINICIAN, SMALL, Clinician, Patient, add_user, database_url, make_app

TODAY = dt.date.today()
BORN = f"{TODAY.year - 40}-03-27"
AGE = years_between(dt.date.fromisoformat(BORN), TODAY)
REFERENCE = re.compile(r"\b[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}\b")

# The small questionnaire's two pages, all clear, as a browser posts them.
FIRST = {"numb": "no", "ill": "no", "had_cancer": "no"}
SECOND = {
    "name": "Alex Smith",
    "born": BORN,
    "sex": "female",
    "pregnant": "no",
    "pain": "3",
    "phone": "07700 900982",
    "email": "alex@example.com",
    "agree": "y",
}
# Answers that raise a flag of every level: two urgent, then one of each other level.
EVERY_LEVEL_FIRST = {"numb": "yes", "ill": "cold", "had_cancer": "yes", "cancer_checked": "no"}
EVERY_LEVEL_SECOND = {"pregnant": "yes", "areas": ["back", "legs"]}


# --- helpers --------------------------------------------------------------------------


def submit(app, first: dict | None = None, second: dict | None = None) -> str:
    """Complete the small questionnaire as a new patient; the submission's reference."""
    patient = Patient(app.test_client())
    assert patient.answer("first", FIRST | (first or {})).status_code == 302
    assert patient.answer("second", SECOND | (second or {})).status_code == 302
    assert patient.submit().status_code in (302, 303)
    found = REFERENCE.search(patient.get("/intake/done").text)
    assert found, "no reference on the outcome page"
    return found.group(0)


def signed_in(app, email: str) -> Clinician:
    """A browser signed in as `email`."""
    browser = Clinician(app.test_client())
    assert browser.sign_in(email).status_code == 302
    return browser


def record_url(reference: str) -> str:
    """The record page of a submission."""
    return f"/review/submissions/{reference}"


def post_review(browser: Clinician, reference: str, data: dict):
    """Post the review form from the record page."""
    return browser.post(record_url(reference) + "/review", data, token=browser.token(record_url(reference)))


def text_of(page) -> str:
    """The visible text of a page or HTML fragment, whitespace collapsed."""
    source = page if isinstance(page, str) else page.text
    source = re.sub(r"<(script|style)\b.*?</\1>", " ", source, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", source)).split())


def part(page, heading_id: str) -> str:
    """The HTML from the heading with this id to the next heading of its level."""
    match = re.search(rf'<h2 id="{heading_id}">(.*?)(?=<h2 |</main>)', page.text, re.S)
    assert match, f"no section {heading_id}"
    return match.group(1)


def answer_block(page, qid: str) -> str:
    """The HTML of one answer row (its opening tag included)."""
    match = re.search(rf'(<div class="[^"]*" id="answer-{qid}">.*?</div>)', page.text, re.S)
    assert match, f"no answer row for {qid}"
    return match.group(1)


def audit_rows(app, action: str | None = None) -> list[AuditEvent]:
    """Audit rows, oldest first, optionally of one action."""
    query = select(AuditEvent).order_by(AuditEvent.id)
    if action:
        query = query.where(AuditEvent.action == action)
    with app.app_context(), db.get_db().sessions() as s:
        return list(s.scalars(query).all())


def stored(app, reference: str) -> Submission:
    """The submission as the database holds it now."""
    with app.app_context(), db.get_db().sessions() as s:
        return s.scalars(select(Submission).where(Submission.reference == reference)).one()


def reviews_of(app, reference: str) -> list[Review]:
    """The stored reviews of a submission, oldest first."""
    with app.app_context(), db.get_db().sessions() as s:
        query = select(Review).join(Submission).where(Submission.reference == reference).order_by(Review.id)
        return list(s.scalars(query).all())


def user_id(app, email: str) -> int:
    """The id of an account."""
    with app.app_context(), db.get_db().sessions() as s:
        return s.scalars(select(User.id).where(User.email == email)).one()


@pytest.fixture
def clinician_browser(site) -> Clinician:
    """A signed-in clinician (not an admin)."""
    return signed_in(site, CLINICIAN)


# --- what the record shows -----------------------------------------------------------


def test_record_shows_every_flag_highest_level_first_with_reason_and_cited_sources(site, clinician_browser):
    """Every flag, urgent first, with its reason, its source and the S-numbers spelled out."""
    reference = submit(site, EVERY_LEVEL_FIRST, EVERY_LEVEL_SECOND)
    page = clinician_browser.get(record_url(reference))
    assert page.status_code == 200
    flags = text_of(part(page, "flags-title"))
    order = ["Numbness.", "Cancer not checked.", "Minor illness.", "Pregnancy.", "Back and legs."]
    positions = [flags.find(reason) for reason in order]
    assert -1 not in positions, flags
    assert positions == sorted(positions)
    for level in ("Urgent", "Contraindication", "Precaution", "Note"):
        assert level in flags
    assert "Source: S1, S2" in flags
    assert "S1 Test source one" in flags and "S2 Test source two" in flags
    assert "Flags (5)" in text_of(page)


def test_urgent_outcome_is_said_in_words_with_the_advice_the_patient_got(site, clinician_browser):
    """An urgent record says so in words, not colour, with what the patient was told."""
    reference = submit(site, {"numb": "yes"})
    text = text_of(clinician_browser.get(record_url(reference)))
    assert "URGENT: the patient was told to get medical help now. Do not needle." in text
    assert "The patient was told: Go to A&E or call 999 now." in text


def test_all_clear_outcome_says_suitable_and_no_flags(site, clinician_browser):
    """An all-clear record says suitable and that nothing was flagged."""
    reference = submit(site)
    text = text_of(clinician_browser.get(record_url(reference)))
    assert "Suitable for needling." in text
    assert "URGENT" not in text
    assert "No flags" in text


def test_record_shows_patient_details_submitted_time_and_version(site, clinician_browser):
    """Who the patient is and how to reach them, when they sent it, and on which questionnaire."""
    reference = submit(site)
    page = clinician_browser.get(record_url(reference))
    facts = dict(re.findall(r"<div><dt>(.*?)</dt><dd>(.*?)</dd></div>", page.text, re.S))
    facts = {text_of(k): text_of(v) for k, v in facts.items()}
    assert facts["Name"] == "Alex Smith"
    assert facts["Date of birth"] == f"27 March {TODAY.year - 40} (aged {AGE} when submitted)"
    assert facts["Phone"] == "07700 900982"
    assert facts["Email"] == "alex@example.com"
    assert facts["Questionnaire"] == f"small-test, version {stored(site, reference).version[:8]}"
    assert re.fullmatch(r"\d{1,2} \w{3} \d{4}, \d{2}:\d{2} (GMT|BST)", facts["Submitted"])  # the clinic's zone
    assert facts["Review"] == "Not reviewed yet"


def test_answers_are_grouped_by_section_in_the_patients_wording(site, clinician_browser):
    """Answers under their page titles, each question as asked and each answer as the patient would say it."""
    reference = submit(site, second={"areas": ["back"], "notes": "Worse after gardening\nand in the cold"})
    page = clinician_browser.get(record_url(reference))
    answers = part(page, "answers-title")
    text = text_of(answers)
    assert text.index("First page") < text.index("Are you numb? No") < text.index("Second page")
    for shown in (
        "Do you feel ill? No",
        "Your name Alex Smith",
        f"Date of birth 27 March {TODAY.year - 40}",
        "Pain now 3 out of 10",
        "Where does it hurt? Back",
        "I agree to the clinic storing my answers. Yes, I agree",
        "Hours of sleep Not answered",
        f"Age (from “Date of birth”) {AGE}",
    ):
        assert shown in text, shown
    assert "Worse after gardening\nand in the cold" in answers


def test_questions_the_patient_was_not_asked_are_left_out(site, clinician_browser):
    """A question hidden by show_if (pregnancy for a man) is not in the record."""
    reference = submit(site, second={"sex": "male", "pregnant": ""})
    text = text_of(clinician_browser.get(record_url(reference)))
    assert "Sex Male" in text
    assert "Are you pregnant?" not in text
    assert "Has a doctor checked it?" not in text


def test_flagged_answers_are_marked_and_listed_near_the_top(site, clinician_browser):
    """Flagged answers stand out in place and are listed, urgent first, before all the answers."""
    reference = submit(site, EVERY_LEVEL_FIRST, EVERY_LEVEL_SECOND)
    page = clinician_browser.get(record_url(reference))
    numb = answer_block(page, "numb")
    assert "answer--flagged" in numb and "Flagged: Urgent" in text_of(numb)
    assert "answer--flagged" not in answer_block(page, "sex")
    summary = part(page, "flagged-title")
    links = re.findall(r'href="#answer-(\w+)"', summary)
    # Urgent answers first, then the rest in level order.
    assert links[:3] == ["numb", "had_cancer", "cancer_checked"]
    assert set(links) == {"numb", "ill", "had_cancer", "cancer_checked", "pregnant", "areas"}
    assert page.text.index('id="flagged-title"') < page.text.index('id="answers-title"')


def test_reference_is_accepted_in_any_case_without_dashes(site, clinician_browser):
    """A reference read over the phone (lower case, no dashes) finds the record."""
    reference = submit(site)
    page = clinician_browser.get(record_url(reference.lower().replace("-", "")))
    assert page.status_code == 200
    assert reference in page.text


def test_unknown_reference_is_not_found(site, clinician_browser):
    """A reference that does not exist is a 404, and nothing is audited as viewed."""
    assert clinician_browser.get(record_url("2345-6789-ABCD")).status_code == 404
    assert clinician_browser.get(record_url("nonsense")).status_code == 404
    assert audit_rows(site, "view_submission") == []


def test_record_needs_sign_in_and_is_not_cached(site):
    """Someone not signed in is sent to sign in; the page is never cached."""
    reference = submit(site)
    anonymous = Patient(site.test_client())
    response = anonymous.get(record_url(reference))
    assert response.status_code == 302 and "/review/login" in response.headers["Location"]
    assert audit_rows(site, "view_submission") == []
    page = signed_in(site, CLINICIAN).get(record_url(reference))
    assert page.headers["Cache-Control"] == "no-store"


def test_old_submission_still_shows_the_questions_it_was_asked(tmp_path):
    """After questions.yaml changes, an old record shows the old wording and a new one the new."""
    url = database_url(tmp_path)
    before = make_app(tmp_path, QUESTIONS_PATH=SMALL, DATABASE_URL=url)
    add_user(before, CLINICIAN)
    old = submit(before, {"numb": "yes"})
    changed = tmp_path / "changed.yaml"
    changed.write_text(Path(SMALL).read_text().replace("Are you numb?", "Have you noticed any numbness?"))
    settings = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "DATABASE_URL": url,
        "QUESTIONS_PATH": str(changed),
        "RATELIMIT_STORAGE_URI": "memory://",  # as make_app does: no extra connections to close
    }
    # Built directly: make_app would empty a PostgreSQL database first.
    after = create_app(settings, instance_path=str(tmp_path / "after"))
    try:
        new = submit(after)
        browser = signed_in(after, CLINICIAN)
        old_text = text_of(browser.get(record_url(old)))
        assert "Are you numb? Yes" in old_text
        assert "Have you noticed any numbness?" not in old_text
        assert "Numbness." in old_text
        new_text = text_of(browser.get(record_url(new)))
        assert "Have you noticed any numbness? No" in new_text
        assert "Are you numb?" not in new_text
    finally:
        after.extensions["screening.db"].engine.dispose()


def test_record_still_shows_every_flag_when_its_questionnaire_cannot_be_read(site, clinician_browser):
    """Should the stored questionnaire ever fail to rebuild, the flags and answers are still all shown."""
    reference = submit(site, {"numb": "yes"})
    old = "0" * 64  # an older version whose stored definition no longer rebuilds
    with site.app_context(), db.get_db().transaction() as s:
        s.add(QuestionnaireVersion(version=old, questionnaire_id="small-test", definition={"sections": "unreadable"}))
        s.flush()
        s.execute(update(Submission).values(version=old))
    page = clinician_browser.get(record_url(reference))
    assert page.status_code == 200
    text = text_of(page)
    assert "could not be read back" in text
    assert "Numbness." in text and "Source: S1" in text
    assert "numb yes" in text and "name Alex Smith" in text


# --- the audit of views, and the print view ---------------------------------------------


def test_each_view_writes_exactly_one_audit_row(site, clinician_browser):
    """Each view of a record is one audit row: which record, who, from where."""
    reference = submit(site)
    before = len(audit_rows(site))
    clinician_browser.get(record_url(reference))
    clinician_browser.get(record_url(reference))
    views = audit_rows(site, "view_submission")
    assert len(views) == 2
    assert len(audit_rows(site)) == before + 2
    for row in views:
        assert row.reference == reference
        assert row.actor == CLINICIAN and row.user_id == user_id(site, CLINICIAN)
        assert row.ip == "127.0.0.1"


def test_print_view_is_the_record_alone_and_is_audited_as_printed(site, clinician_browser):
    """?print=1 shows the record without navigation or forms and is audited as a print."""
    reference = submit(site, {"numb": "yes"})
    record = clinician_browser.get(record_url(reference))
    assert f'href="/review/submissions/{reference}?print=1"' in record.text
    before = len(audit_rows(site))
    page = clinician_browser.get(record_url(reference) + "?print=1")
    assert page.status_code == 200
    text = text_of(page)
    assert "Are you numb? Yes" in text and "Numbness." in text and "Source: S1" in text
    assert "Printed by Casey Clinician" in text
    assert "<form" not in page.text and "Sign out" not in text
    assert "review-record.css" in page.text
    printed = audit_rows(site)[before:]
    assert [(row.action, row.reference) for row in printed] == [("print_submission", reference)]


def test_print_stylesheet_hides_navigation_and_forms():
    """Printing the ordinary record page leaves out navigation, links and forms."""
    css = (Path(__file__).resolve().parent.parent / "screening" / "static" / "review-record.css").read_text()
    rules = css[css.index("@media print") :]
    for hidden in (".site-header", ".site-nav", ".record-form", ".record-links"):
        assert hidden in rules.split("display: none")[0]


# --- reviews ---------------------------------------------------------------------------


def test_review_is_saved_with_one_audit_row_and_shown_in_the_history(site, clinician_browser):
    """A review is stored, becomes the latest, is audited once without its note, and shows in the history."""
    reference = submit(site)
    response = post_review(clinician_browser, reference, {"outcome": "contacted", "note": "Rang: knee was fine"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(record_url(reference))
    [review] = reviews_of(site, reference)
    clinician = user_id(site, CLINICIAN)
    assert (review.outcome, review.note, review.user_id) == ("contacted", "Rang: knee was fine", clinician)
    submission = stored(site, reference)
    assert submission.review_state == "reviewed"
    assert submission.reviewed_by_id == clinician
    assert submission.review_outcome == "contacted"
    assert submission.reviewed_at == review.at
    [audited] = audit_rows(site, "review")
    assert audited.reference == reference and audited.detail == {"outcome": "contacted"}
    page = clinician_browser.get(record_url(reference))
    text = text_of(page)
    assert f"Saved your review of {reference}: Contacted patient." in text
    history = text_of(part(page, "history-title"))
    assert "Contacted patient by Casey Clinician" in history and "Rang: knee was fine" in history


def test_a_second_review_adds_to_the_history_newest_first(site, clinician_browser):
    """Reviewing again adds to the history (newest first) and becomes the latest review."""
    reference = submit(site)
    post_review(clinician_browser, reference, {"outcome": "contacted", "note": "Left a message"})
    admin = signed_in(site, ADMIN)
    post_review(admin, reference, {"outcome": "cleared", "note": ""})
    assert [r.outcome for r in reviews_of(site, reference)] == ["contacted", "cleared"]
    submission = stored(site, reference)
    assert submission.review_outcome == "cleared" and submission.reviewed_by_id == user_id(site, ADMIN)
    assert len(audit_rows(site, "review")) == 2
    history = text_of(part(clinician_browser.get(record_url(reference)), "history-title"))
    assert history.index("Cleared for needling by Ada Admin") < history.index("Contacted patient by Casey Clinician")
    assert "Review again" in text_of(clinician_browser.get(record_url(reference)))


def test_review_without_a_csrf_token_is_not_saved(site, clinician_browser):
    """A review posted without a CSRF token is refused and nothing is stored."""
    reference = submit(site)
    response = clinician_browser.post(record_url(reference) + "/review", {"outcome": "cleared"}, token="")
    assert response.status_code == 400
    assert reviews_of(site, reference) == []
    assert stored(site, reference).review_state == "new"
    assert audit_rows(site, "review") == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"note": "Looked fine"}, "Choose what you decided"),
        ({"outcome": "other", "note": "   "}, "Add a note to say what you did"),
        ({"outcome": "cleared", "note": "x" * 1001}, "Keep the note to 1000 characters or fewer"),
        ({"outcome": "approved"}, "Choose one of the outcomes listed"),
    ],
)
def test_invalid_review_shows_the_error_and_saves_nothing(site, clinician_browser, data, message):
    """A review with a missing or wrong outcome or note shows the problem and stores nothing."""
    reference = submit(site)
    page = post_review(clinician_browser, reference, data)
    assert page.status_code == 400
    text = text_of(page)
    assert "There is a problem" in text and message in text
    assert reviews_of(site, reference) == []
    assert stored(site, reference).review_state == "new"
    assert audit_rows(site, "review") == []


def test_a_note_of_exactly_1000_characters_is_kept_whole(site, clinician_browser):
    """A note at the limit is kept whole, its line break counted once as the browser counts it."""
    reference = submit(site)
    note = "Line one\r\n" + "y" * 991  # 1,000 once the browser's CRLF counts as one character
    assert post_review(clinician_browser, reference, {"outcome": "other", "note": note}).status_code == 303
    [review] = reviews_of(site, reference)
    assert review.note == "Line one\n" + "y" * 991


def test_body_map_answers_are_drawn_on_the_record(app, clinician):
    """The marked regions appear as a picture: marked shapes and a caption naming them."""
    from screening.questionnaire import load

    from .conftest import DEFAULT, Patient
    from .http_patient import all_clear_answers

    pages = all_clear_answers(load(DEFAULT))
    pages["where_it_hurts"]["pain_areas"] = ["lower_back", "left_foot", "right_lower_leg"]
    patient = Patient(app.test_client())
    for section_id, answers in pages.items():
        assert patient.answer(section_id, answers).status_code == 302
    patient.submit()
    reference = patient.get("/intake/done").text.split("Your reference: <strong>")[1].split("<")[0]
    page = clinician.get(f"/review/submissions/{reference}").text
    assert page.count("region--marked") == 3
    assert 'data-region="left_foot"' in page
    assert "Marked: Lower back, Right lower leg, Left foot" in page
    assert "Pain marked below the knee in both legs" in page  # the rule's flag
