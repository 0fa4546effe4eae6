"""The patient's pages in the patient's language, end to end over HTTP: the pages and the
questionnaire in Polish (its catalogs marked reviewed, as a clinic's translator would),
the language stored with the submission, and the clinician's record, the CSV and the
FHIR export carrying it."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from screening import db, i18n
from screening.fhir.records import submission_bundle
from screening.models import Submission
from screening.questionnaire import load

from .conftest import DEFAULT, Clinician, Patient, add_user, make_app
from .http_patient import all_clear_answers
from .test_i18n import catalogs, current_definition_text, probe_app, pseudo_hebrew

HTML_LANG = re.compile(r'<html lang="([^"]+)" dir="([^"]+)">')


def polish_app(tmp_path):
    """An app whose Polish catalogs are reviewed (so offered to patients)."""
    return make_app(tmp_path, TRANSLATIONS_PATH=str(catalogs(tmp_path)))


def send_in_polish(app) -> tuple[Patient, str, list]:
    """A patient who chose Polish answers every page all clear and sends; (the patient,
    their reference, every page they saw)."""
    defn = load(DEFAULT)
    patient = Patient(app.test_client())
    seen = [patient.get("/?lang=pl")]
    for section_id, answers in all_clear_answers(defn).items():
        seen.append(patient.get(f"/intake/{section_id}"))
        assert patient.answer(section_id, answers).status_code == 302, section_id
    seen.append(patient.get("/intake/check"))
    assert patient.submit().status_code in (302, 303)
    done = patient.get("/intake/done")
    seen.append(done)
    reference = done.text.split("Twój numer referencyjny: <strong>")[1].split("<")[0]
    return patient, reference, seen


def test_a_patient_answers_in_polish_and_every_page_says_so(tmp_path):
    app = polish_app(tmp_path)
    _, reference, seen = send_in_polish(app)
    for page in seen:
        assert page.status_code == 200
        assert HTML_LANG.search(page.text).groups() == ("pl", "ltr"), page.request.path
        assert 'lang="en" hreflang="en">English</a>' in page.text  # the switch, back to English
    start, first = seen[0], seen[1]
    assert "Zacznij" in start.text and "Start now" not in start.text
    assert "Krok 1 z" in first.text and "Dalej" in first.text
    # The questionnaire's own words are the Polish catalog's.
    assert "Twoja prywatność" in start.text
    with app.app_context():
        stored = db.session().query(Submission).filter_by(reference=reference).one()
        assert stored.language == "pl"
        assert stored.outcome == "suitable"


def test_the_next_patient_on_a_shared_device_does_not_inherit_the_language(tmp_path):
    """Sending forgets the browser (drafts.forget_browser), the patient's language with it:
    the start page that follows begins the next patient's form in the clinic's language,
    and so do the pages after it."""
    app = polish_app(tmp_path)
    patient, _, _ = send_in_polish(app)
    with patient.client.session_transaction() as session:
        assert session[i18n.CHOICE] == "pl"
    # The next patient taps the start page: the browser is forgotten before it is drawn.
    start = patient.get("/")
    assert HTML_LANG.search(start.text).groups() == ("en-GB", "ltr")
    assert "Start now" in start.text
    with patient.client.session_transaction() as session:
        assert i18n.CHOICE not in session
    for path in ("/", "/intake/warning_signs"):
        page = patient.get(path)
        assert HTML_LANG.search(page.text).groups() == ("en-GB", "ltr"), path
    # Choosing again on the start page of a forgotten browser keeps the new choice.
    patient2, _, _ = send_in_polish(polish_app(tmp_path / "again"))
    patient2.get("/?lang=pl")
    with patient2.client.session_transaction() as session:
        assert session[i18n.CHOICE] == "pl"
    assert HTML_LANG.search(patient2.get("/intake/warning_signs").text).groups() == ("pl", "ltr")


def test_the_words_the_app_writes_itself_and_month_names_are_polish_on_a_polish_page(tmp_path):
    """Yes and no, the body map's areas (picture, list and caption), a date's month names
    in its error and on the check page, and a month typed by its Polish name."""
    app = polish_app(tmp_path)
    answers = all_clear_answers(load(DEFAULT))
    patient = Patient(app.test_client())
    patient.get("/?lang=pl")
    warning = patient.get("/intake/warning_signs").text
    assert set(CHOICE_LABEL.findall(warning)) == {"Tak", "Nie"}
    sections = list(answers)
    for section_id in sections[: sections.index("where_it_hurts")]:
        assert patient.answer(section_id, answers[section_id]).status_code == 302, section_id
    body_map = patient.get("/intake/where_it_hurts").text
    assert "<title>Dolna część pleców</title>" in body_map and "<title>Szyja</title>" in body_map
    assert "Tył lewego podudzia (łydka)" in body_map  # the back view's calves
    assert {"Szyja", "Dolna część pleców", "Prawe kolano"} <= set(CHOICE_LABEL.findall(body_map))
    assert 'data-group-label="Mapa ciała: wybierz miejsca, które bolą"' in body_map
    assert "Lower back" not in body_map and "Neck" not in body_map
    where = answers["where_it_hurts"] | {"pain_areas": ["neck", "lower_back"]}
    assert patient.answer("where_it_hurts", where).status_code == 302
    about = dict(answers["about_you"])
    about.pop("date_of_birth")
    wrong = patient.answer("about_you", about | BOXES("30", "2", "1980"))
    assert wrong.status_code == 400  # the page again, with the error
    assert "luty 1980 ma 29 dni" in wrong.text and "February" not in wrong.text
    assert patient.answer("about_you", about | BOXES("27", "marca", "1970")).status_code == 302
    for section_id in sections[sections.index("about_you") + 1 :]:
        assert patient.answer(section_id, answers[section_id]).status_code == 302, section_id
    check = patient.get("/intake/check").text
    assert "27 marca 1970" in check and "March" not in check
    assert "Szyja, Dolna część pleców" in check
    assert re.search(r">\s*Nie\s*<", check) and not re.search(r">\s*No\s*<", check)
    assert "Marked: Neck" not in check


def BOXES(day: str, month: str, year: str) -> dict[str, str]:
    """The three boxes of the date of birth."""
    return {"date_of_birth-day": day, "date_of_birth-month": month, "date_of_birth-year": year}


CHOICE_LABEL = re.compile(r'<label class="choice-label" for="[^"]+">([^<]*)</label>')


def test_a_page_in_english_is_unchanged_when_polish_is_offered(tmp_path):
    app = polish_app(tmp_path)
    page = app.test_client().get("/")
    assert HTML_LANG.search(page.text).groups() == ("en-GB", "ltr")
    assert "Start now" in page.text
    assert '<a href="/?lang=pl" lang="pl" hreflang="pl">polski</a>' in page.text


def test_the_record_shows_the_patients_words_beside_the_clinics_and_exports_carry_the_language(tmp_path):
    app = polish_app(tmp_path)
    _, reference, _ = send_in_polish(app)
    add_user(app, "clinician@example.org")
    clinician = Clinician(app.test_client())
    assert clinician.sign_in("clinician@example.org").status_code == 302
    record = clinician.get(f"/review/submissions/{reference}", headers={"Accept-Language": "pl"})
    assert record.status_code == 200
    assert HTML_LANG.search(record.text).groups() == ("en-GB", "ltr")  # the clinic's language
    assert "Answered in" in record.text and '<span lang="pl">polski</span> (pl)' in record.text
    defn = load(DEFAULT)
    with app.test_request_context("/"):
        from screening import i18n
        from screening.versions import current_definition

        polish = i18n.in_language(current_definition(), "pl")
    assert polish is not None
    q = next(q for q in defn.questions.values() if polish.questions[q.id].text != q.text and q.type == "yes_no")
    # The English question, and under it the Polish one, marked as Polish.
    english_text = q.text.replace("'", "&#39;")
    assert english_text in record.text
    polish_text = polish.questions[q.id].text.replace("'", "&#39;").replace('"', "&#34;")
    assert f'<span class="patient-words" lang="pl" dir="ltr">{polish_text}</span>' in record.text
    # The answer both ways ("No" and "Nie").
    assert re.search(
        r'<span class="answer-text">No</span> <span class="patient-words" lang="pl" dir="ltr">Nie</span>', record.text
    )

    export = clinician.get("/review/export.csv")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert [row["language"] for row in rows] == ["pl"]
    assert next(csv.reader(io.StringIO(export.text)))[:7] == [
        "reference",
        "submitted_at",
        "outcome",
        "review_state",
        "review_outcome",
        "flags",
        "language",
    ]

    with app.test_request_context("/"):
        bundle = submission_bundle(reference, actor="test")
    response = bundle["entry"][0]["resource"]
    assert response["resourceType"] == "QuestionnaireResponse"
    assert response["language"] == "pl"


def test_an_english_submission_shows_no_second_language(tmp_path):
    app = polish_app(tmp_path)
    defn = load(DEFAULT)
    patient = Patient(app.test_client())
    for section_id, answers in all_clear_answers(defn).items():
        assert patient.answer(section_id, answers).status_code == 302
    assert patient.submit().status_code in (302, 303)
    reference = patient.get("/intake/done").text.split("Your reference: <strong>")[1].split("<")[0]
    add_user(app, "clinician@example.org")
    clinician = Clinician(app.test_client())
    assert clinician.sign_in("clinician@example.org").status_code == 302
    record = clinician.get(f"/review/submissions/{reference}")
    assert "patient-words" not in record.text and "Answered in" not in record.text
    with app.test_request_context("/"):
        assert submission_bundle(reference, actor="test")["entry"][0]["resource"]["language"] == "en"


def test_a_right_to_left_page_has_dir_rtl_and_its_switch(tmp_path):
    folder = catalogs(tmp_path, reviewed=False)
    pseudo_hebrew(folder, current_definition_text())
    app = probe_app(tmp_path, TRANSLATIONS_PATH=str(folder))
    page = app.test_client().get("/", headers={"Accept-Language": "he"})
    assert HTML_LANG.search(page.text).groups() == ("he", "rtl")
    assert 'hreflang="en"' in page.text
    css = (Path(app.static_folder) / "screening.css").read_text(encoding="utf-8")
    # Logical properties only: a right-to-left page mirrors with no rule of its own.
    assert not re.search(r"(margin|padding|border)-(left|right)\b|[^-]\bleft:|text-align: (left|right)", css)


def test_a_check_is_offered_only_in_the_languages_its_own_catalog_is_reviewed_in(tmp_path):
    """Polish reviewed for the first-visit screening but not for the follow-up check: a
    patient choosing Polish reads the screening in Polish, and the follow-up check (its
    page words and its questions alike) in the clinic's language, never a mixture."""
    folder = catalogs(tmp_path)
    followup = folder / "questionnaires" / "follow-up" / "pl.po"
    followup.write_text(followup.read_text(encoding="utf-8").replace("X-Reviewed: yes", "X-Reviewed: no"))
    app = make_app(tmp_path, TRANSLATIONS_PATH=str(folder))
    patient = Patient(app.test_client())
    assert HTML_LANG.search(patient.get("/?lang=pl").text).groups() == ("pl", "ltr")
    assert patient.client.get("/questionnaires/follow-up").status_code == 302
    start = patient.get("/")
    assert HTML_LANG.search(start.text).groups() == ("en-GB", "ltr")
    assert "Zacznij" not in start.text
    # Reviewed, the same check reads in Polish.
    patient2 = Patient(polish_app(tmp_path / "reviewed").test_client())
    patient2.get("/?lang=pl")
    assert patient2.client.get("/questionnaires/follow-up").status_code == 302
    assert HTML_LANG.search(patient2.get("/").text).groups() == ("pl", "ltr")
