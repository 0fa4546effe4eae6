"""Several questionnaires: the follow-up and aftercare checks of clinical version 2, built
on the first visit (shared questions written once, first-visit answers in scope), the
registry the app serves them from, the commands, and their submissions on both sides."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from screening import clock, create_app, embedded_cases, rules, versions
from screening.intake import drafts
from screening.questionnaire import QuestionnaireError, load, loads

from .conftest import DEFAULT, Patient, checked, make_app

ROOT = Path(DEFAULT).parent
FOLLOW_UP = ROOT / "questionnaires" / "follow-up.yaml"
AFTERCARE = ROOT / "questionnaires" / "aftercare.yaml"
DAY = dt.date(2026, 11, 24)
RED_FLAGS = [
    "saddle_numbness",
    "bladder_bowel_change",
    "sexual_function_change",
    "both_legs_symptoms",
    "leg_weakness_worsening",
    "chest_pain",
    "tummy_pain",
    "major_trauma",
    "fever_or_unwell",
    "weight_loss",
    "night_pain",
    "back_lump_or_shape_change",
]


@pytest.fixture(scope="module")
def follow_up():
    """The follow-up check as the app loads it."""
    return load(FOLLOW_UP)


@pytest.fixture(scope="module")
def aftercare():
    """The aftercare check as the app loads it."""
    return load(AFTERCARE)


def outcome(defn, answers, earlier=None):
    """(outcome, flag ids, advice) of answers, with earlier answers by scope."""
    result = rules.assess(defn, answers, DAY, earlier)
    return result.outcome, sorted({f.id for f in result.flags}), result.advice


# --- The contract of CLINICAL.md version 2 ------------------------------------------------


def test_the_ids_are_the_contract(follow_up, aftercare):
    """Questionnaire ids as CLINICAL.md names them; the default is the first-visit screening."""
    assert load(DEFAULT).questionnaire.id == "acupuncture-low-back-pain"
    assert follow_up.questionnaire.id == "follow-up"
    assert aftercare.questionnaire.id == "aftercare"


def test_every_embedded_case_passes_and_every_serious_flag_is_covered(follow_up, aftercare):
    """Each questionnaire's own cases pass, cover every urgent flag with its advice, and the
    sign-off matches its safety-critical text."""
    for defn in (follow_up, aftercare):
        results, unexercised = embedded_cases.run_cases(defn)
        assert all(r.passed for r in results), [r for r in results if not r.passed]
        assert unexercised == []
        assert embedded_cases.case_problems(defn) == []


@pytest.mark.parametrize("defn_name", ["follow_up", "aftercare"])
def test_every_flag_and_rule_is_fired_by_one_case_and_not_by_another(defn_name, request):
    """Every rule both ways, in the file's own cases: some case fires it, some case does not."""
    defn = request.getfixturevalue(defn_name)
    results, _ = embedded_cases.run_cases(defn)
    for owner, index, _flag in defn.question_flags():
        fired = [r for r in results if (owner, index) in r.fired]
        asked = [r for r in results if owner in defn.tests[r.index].answers and (owner, index) not in r.fired]
        assert fired, f"{owner}.flags[{index}] is never fired"
        assert asked, f"{owner}.flags[{index}] is never answered without firing"
    for rule in defn.rules:
        assert any(rule.id in r.flags for r in results), rule.id
        assert any(rule.id not in r.flags and r.passed for r in results), rule.id


def test_the_follow_up_asks_the_first_visit_red_flags_with_the_same_values_and_levels(follow_up):
    """The red-flag set: same ids, answers and flags as the first visit, reworded only."""
    first = load(DEFAULT)
    assert follow_up.safety is not None and follow_up.safety.red_flags == RED_FLAGS
    for qid in RED_FLAGS:
        mine, theirs = follow_up.questions[qid], first.questions[qid]
        assert mine.type == theirs.type and mine.values == theirs.values
        assert [f.model_dump() for f in mine.flags] == [f.model_dump() for f in theirs.flags]
        assert mine.condition is None
    assert follow_up.questions["saddle_numbness"].text.startswith("Since your last session")


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({"saddle_numbness": "yes"}, ("urgent", ["saddle_numbness"], "emergency")),
        ({"fever_or_unwell": "fever"}, ("urgent", ["fever_or_unwell"], "same_day")),
        ({"fever_or_unwell": "minor_illness"}, ("not_suitable", ["fever_or_unwell"], None)),
        ({"health_changed": "yes"}, ("review", ["health_changed"], None)),
        ({"health_changed": "no"}, ("suitable", [], None)),
        ({"last_session_reaction": "strong"}, ("review", ["last_session_reaction"], None)),
        ({"last_session_reaction": "none_or_mild"}, ("suitable", [], None)),
        ({"alcohol_or_drugs_today": "yes"}, ("not_suitable", ["alcohol_or_drugs_today"], None)),
        ({"eaten_recently": "no"}, ("review", ["eaten_recently"], None)),
        ({"eaten_recently": "yes"}, ("suitable", [], None)),
        ({"driving_after": "yes"}, ("suitable", ["driving_after"], None)),
        ({"pain_now": 9}, ("suitable", [], None)),
    ],
)
def test_follow_up_levels(follow_up, answers, expected):
    """The follow-up's questions give CLINICAL.md's levels."""
    assert outcome(follow_up, answers, {"first_visit": {"cancer_history": "no"}}) == expected


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({"after_breathless_chest_pain": "yes"}, ("urgent", ["after_breathless_chest_pain"], "emergency")),
        ({"after_breathless_chest_pain": "no"}, ("suitable", [], None)),
        ({"after_saddle_bladder_legs": "yes"}, ("urgent", ["after_saddle_bladder_legs"], "emergency")),
        ({"after_saddle_bladder_legs": "no"}, ("suitable", [], None)),
        ({"after_needle_site_infection": "yes"}, ("urgent", ["after_needle_site_infection"], "same_day")),
        ({"after_needle_site_infection": "no"}, ("suitable", [], None)),
        ({"after_bruise_swelling": "yes"}, ("urgent", ["after_bruise_swelling"], "same_day")),
        ({"after_bruise_swelling": "no"}, ("suitable", [], None)),
        ({"after_still_unwell": "yes"}, ("urgent", ["after_still_unwell"], "same_day")),
        ({"after_still_unwell": "no"}, ("suitable", [], None)),
        ({"after_needle_found": "yes"}, ("review", ["after_needle_found"], None)),
        ({"after_needle_found": "no"}, ("suitable", [], None)),
        ({"after_soreness": "still_sore"}, ("suitable", ["after_soreness"], None)),
        ({"after_soreness": "none"}, ("suitable", [], None)),
        ({"after_tired": "yes"}, ("suitable", ["after_tired"], None)),
        ({"after_tired": "no"}, ("suitable", [], None)),
    ],
)
def test_aftercare_levels(aftercare, answers, expected):
    """The aftercare check's questions give CLINICAL.md's levels."""
    assert outcome(aftercare, answers) == expected


def test_aftercare_soreness_on_a_second_check_is_a_precaution_both_ways(aftercare):
    """Still sore on a second check (the last check's answers in scope) -> precaution; settled -> nothing."""
    last = {"last_check": {"after_soreness": "still_sore"}}
    assert outcome(aftercare, {"after_soreness": "still_sore"}, last)[:2] == (
        "review",
        ["after_soreness", "soreness_not_settling"],
    )
    assert outcome(aftercare, {"after_soreness": "settled"}, last)[:2] == ("suitable", [])
    assert outcome(aftercare, {"after_soreness": "still_sore"})[:2] == ("suitable", ["after_soreness"])


# --- FR1: the first-visit answers in scope ------------------------------------------------


def test_fr1_past_cancer_at_the_first_visit_and_pain_worse_is_urgent(follow_up):
    """FR1 through assess: cancer_history yes at the first visit + pain worse now -> urgent, same day."""
    worse = {"pain_compared": "worse"}
    assert outcome(follow_up, worse, {"first_visit": {"cancer_history": "yes"}}) == (
        "urgent",
        ["cancer_pain_worse", "pain_compared"],
        "same_day",
    )
    result = rules.assess(follow_up, worse, DAY, {"first_visit": {"cancer_history": "yes", "diabetes": "yes"}})
    assert result.earlier == {"first_visit.cancer_history": "yes"}  # only what the rules name
    # The other way round: no past cancer, or pain not worse.
    assert outcome(follow_up, worse, {"first_visit": {"cancer_history": "no"}})[:2] == ("suitable", ["pain_compared"])
    assert outcome(follow_up, {"pain_compared": "same"}, {"first_visit": {"cancer_history": "yes"}})[:2] == (
        "suitable",
        [],
    )


def test_fr1_without_the_first_visit_answers_is_talked_through(follow_up):
    """No first-visit answers at hand: FR1 cannot be checked, so worse pain is a precaution."""
    assert outcome(follow_up, {"pain_compared": "worse"})[:2] == (
        "review",
        ["cancer_pain_worse_unchecked", "pain_compared"],
    )
    assert outcome(follow_up, {"pain_compared": "better"})[:2] == ("suitable", [])


def test_earlier_answers_can_come_with_the_answers_under_their_names(follow_up):
    """A draft keeps earlier answers under the names the rules use; assess reads them there too."""
    answers = {"pain_compared": "worse", "first_visit.cancer_history": "yes"}
    result = rules.assess(follow_up, answers, DAY)
    assert result.outcome == "urgent" and "first_visit.cancer_history" not in result.answers


def test_evaluate_input_takes_first_visit_answers_from_the_same_object(follow_up):
    """For evaluate: answers to first-visit questions are the first-visit answers."""
    result = rules.evaluate_input(follow_up, {"cancer_history": "yes", "pain_compared": "worse"}, DAY)
    assert result.outcome == "urgent" and result.advice == "same_day"
    explicit = rules.evaluate_input(follow_up, {"first_visit.cancer_history": "yes", "pain_compared": "worse"}, DAY)
    assert explicit.outcome == "urgent"
    with pytest.raises(ValueError, match="cancer_history"):
        rules.evaluate_input(follow_up, {"cancer_history": "maybe", "pain_compared": "worse"}, DAY)
    with pytest.raises(ValueError, match="no_such_question"):
        rules.evaluate_input(follow_up, {"no_such_question": "yes"}, DAY)


# --- Composing: a question and its flags written once ---------------------------------------


def copy_clinic(tmp_path: Path) -> Path:
    """A clinic's own copy of the files: questions.yaml and the questionnaires folder."""
    shutil.copy(DEFAULT, tmp_path / "questions.yaml")
    shutil.copytree(ROOT / "questionnaires", tmp_path / "questionnaires")
    return tmp_path


def test_a_change_to_a_shared_question_changes_every_questionnaire_using_it(tmp_path):
    """The follow-up's version (and its signed text) follows the shared question's flags."""
    clinic = copy_clinic(tmp_path)
    before = load(clinic / "questionnaires" / "follow-up.yaml")
    text = (clinic / "questions.yaml").read_text()
    changed = text.replace("Saddle anaesthesia - suspected cauda equina syndrome.", "Saddle numbness - CES?")
    assert changed != text
    (clinic / "questions.yaml").write_text(changed)
    after = load(clinic / "questionnaires" / "follow-up.yaml")
    assert after.version != before.version
    assert after.questions["saddle_numbness"].flags[0].reason == "Saddle numbness - CES?"
    problems = embedded_cases.case_problems(after)
    assert any(p.path == ("safety", "sign_off", "fingerprint") for p in problems)


FOLLOW_UP_HEAD = """\
questionnaire: {id: dry-needling, title: Dry needling, intro: Hello., privacy: Private.}
first_visit: ../questions.yaml
sections:
  - id: signs
    title: Signs
    questions:
"""


def write_questionnaire(clinic: Path, body: str, name: str = "dry-needling.yaml") -> Path:
    """A further questionnaire in the clinic's folder."""
    path = clinic / "questionnaires" / name
    path.write_text(FOLLOW_UP_HEAD + body)
    return path


def test_a_clinic_may_add_a_questionnaire(tmp_path):
    """A dry-needling check built from shared questions loads, with the first visit's outcomes."""
    clinic = copy_clinic(tmp_path)
    path = write_questionnaire(
        clinic,
        """\
      - use: bleeding_disorder
      - use: chest_pain
tests:
  - {name: chest pain, answers: {chest_pain: "yes"}, outcome: urgent, advice: emergency}
  - {name: bleeding, answers: {bleeding_disorder: "yes"}, outcome: not_suitable}
""",
    )
    defn = load(path)
    assert embedded_cases.case_problems(defn) == []
    assert defn.outcomes.urgent.advice["emergency"].startswith("Go to A&E")
    assert defn.questions["bleeding_disorder"].flags[0].level == "contraindication"


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        ("      - use: no_such_question\n", 7, "'no_such_question' is not a question of the first-visit questionnaire"),
        (
            "      - use: chest_pain\n        flags: []\n",
            8,
            "a used question changes only its wording",
        ),
        (
            '      - use: chest_pain\nrules:\n  - {id: r, when: {first_visit.no_such: "yes"}, level: note,'
            " reason: x, source: S2}\n",
            9,
            "'no_such' is not a question or derived value of the first-visit questionnaire",
        ),
        (
            '      - use: chest_pain\nrules:\n  - {id: r, when: {first_visit.cancer_history: "maybe"}, level: note,'
            " reason: x, source: S2}\n",
            9,
            "'maybe' is not an answer 'cancer_history' can take",
        ),
        (
            '      - use: chest_pain\nrules:\n  - {id: r, when: {earlier.cancer_history: "yes"}, level: note,'
            " reason: x, source: S2}\n",
            9,
            "'earlier' is not a set of earlier answers",
        ),
    ],
)
def test_a_broken_use_or_earlier_name_is_refused_with_its_line(tmp_path, body, line, message):
    """Unknown ids and changed flags are refused when the file is loaded, naming file and line."""
    path = write_questionnaire(copy_clinic(tmp_path), body)
    with pytest.raises(QuestionnaireError) as caught:
        load(path)
    report = caught.value.report()
    assert f"{path}:{line}:" in report, report
    assert message in report


def test_first_visit_names_need_a_first_visit_file():
    """A file that names first_visit.<id> without a first_visit: file is refused."""
    text = (FOLLOW_UP).read_text().replace("first_visit: ../questions.yaml\n", "")
    with pytest.raises(QuestionnaireError) as caught:
        loads(text, source="follow-up.yaml")
    assert "'use' takes a question from the first-visit questionnaire" in caught.value.report()


def test_a_file_that_names_itself_as_its_first_visit_is_refused(tmp_path):
    """A loop of first_visit: files is a problem on its line, not a recursion."""
    path = tmp_path / "loop.yaml"
    path.write_text("first_visit: loop.yaml\n" + FOLLOW_UP_HEAD.split("\n", 1)[0] + "\n")
    with pytest.raises(QuestionnaireError, match="names this file again"):
        load(path)


# --- The registry and the commands ----------------------------------------------------------


def test_the_app_serves_every_questionnaire_default_first(app):
    """questionnaire_ids, definition(id) and the default, all loaded and checked at start."""
    with app.app_context():
        assert versions.questionnaire_ids() == ["acupuncture-low-back-pain", "aftercare", "follow-up"]
        assert versions.default_id() == "acupuncture-low-back-pain"
        assert versions.current_definition() is versions.definition("acupuncture-low-back-pain")
        assert versions.definition("follow-up").questionnaire.title.startswith("Before your next")
        with pytest.raises(LookupError, match="no questionnaire 'nope'"):
            versions.definition("nope")
        follow = versions.definition("follow-up")
        assert versions.definition_for(follow.version) is follow


def test_a_single_file_clinic_still_works(tmp_path):
    """QUESTIONS_PATH alone (no questionnaires folder beside it): just the default."""
    shutil.copy(DEFAULT, tmp_path / "questions.yaml")
    app = make_app(tmp_path, QUESTIONS_PATH=str(tmp_path / "questions.yaml"))
    with app.app_context():
        assert versions.questionnaire_ids() == ["acupuncture-low-back-pain"]


def test_the_app_refuses_to_start_on_a_broken_second_questionnaire(tmp_path, capsys):
    """One mistake in any questionnaire: no app, every problem listed with file and line."""
    clinic = copy_clinic(tmp_path)
    bad = write_questionnaire(clinic, "      - use: chest_pain\n        level: note\n")
    config = {"TESTING": True, "SECRET_KEY": "x", "QUESTIONS_PATH": str(clinic / "questions.yaml")}
    config["DATABASE_URL"] = f"sqlite:///{tmp_path / 'x.db'}"
    with pytest.raises(QuestionnaireError) as caught:
        create_app(config, instance_path=str(tmp_path / "instance"), definition=checked(DEFAULT))
    assert f"{bad}:8:" in caught.value.report()
    assert f"{bad}:8:" in capsys.readouterr().err


def test_two_questionnaires_with_one_id_are_refused(tmp_path):
    """Each questionnaire needs its own id."""
    clinic = copy_clinic(tmp_path)
    shutil.copy(FOLLOW_UP, clinic / "questionnaires" / "zz-copy.yaml")
    with pytest.raises(QuestionnaireError, match="questionnaire id 'follow-up' is also the id of"):
        versions.load_all(clinic / "questions.yaml")


def test_check_questions_checks_every_questionnaire(runner):
    """check-questions with no file: a summary per questionnaire and a total."""
    result = runner.invoke(args=["check-questions"])
    assert result.exit_code == 0, result.output
    for qid in ("acupuncture-low-back-pain", "follow-up", "aftercare"):
        assert f"valid questionnaire '{qid}'" in result.output
    assert "3 questionnaires checked: 3 valid, 0 with problems." in result.output


def test_check_questions_names_the_file_and_line_of_a_broken_second_questionnaire(tmp_path):
    """A broken follow-up: the others are still summarised, the broken one named, no traceback."""
    clinic = copy_clinic(tmp_path)
    follow = clinic / "questionnaires" / "follow-up.yaml"
    text = follow.read_text().replace('{first_visit.cancer_history: "yes"}', '{first_visit.cancer: "yes"}')
    follow.write_text(text)
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if "first_visit.cancer:" in ln)
    app = make_app(tmp_path, QUESTIONS_PATH=str(clinic / "questions.yaml"), QUESTIONNAIRES_PATH=str(tmp_path / "none"))
    app.config["QUESTIONNAIRES_PATH"] = None
    result = app.test_cli_runner().invoke(args=["check-questions"])
    assert result.exit_code == 1
    assert f"{follow}:{line}:" in result.output
    assert "'cancer' is not a question or derived value of the first-visit questionnaire" in result.output
    assert "valid questionnaire 'aftercare'" in result.output
    assert "3 questionnaires checked: 2 valid, 1 with problems." in result.output
    assert "Traceback" not in result.output


def test_evaluate_a_follow_up_with_first_visit_answers_in_the_same_file(runner, tmp_path):
    """FR1 via the command: cancer_history from the first visit, pain worse at the follow-up."""
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"cancer_history": "yes", "pain_compared": "worse"}))
    result = runner.invoke(args=["evaluate", "--questionnaire", "follow-up", str(answers)])
    assert result.exit_code == 0, result.output
    output = json.loads(result.output)
    assert output["outcome"] == "urgent"
    assert output["flags"][0]["id"] == "cancer_pain_worse" and output["flags"][0]["advice"] == "same_day"
    answers.write_text(json.dumps({"cancer_history": "no", "pain_compared": "worse"}))
    output = json.loads(runner.invoke(args=["evaluate", "--questionnaire", "follow-up", str(answers)]).output)
    assert output["outcome"] == "suitable"


def test_evaluate_defaults_to_the_first_visit_and_refuses_an_unknown_questionnaire(runner, tmp_path):
    """No --questionnaire: the first-visit screening; an unknown id is a usage error."""
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"saddle_numbness": "yes"}))
    assert json.loads(runner.invoke(args=["evaluate", str(answers)]).output)["outcome"] == "urgent"
    result = runner.invoke(args=["evaluate", "--questionnaire", "nope", str(answers)])
    assert result.exit_code == 2 and "no questionnaire 'nope'" in result.output


def test_aftercare_evaluates_from_the_command(runner, tmp_path):
    """--questionnaire aftercare."""
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"after_bruise_swelling": "yes"}))
    output = json.loads(runner.invoke(args=["evaluate", "--questionnaire", "aftercare", str(answers)]).output)
    assert output["outcome"] == "urgent" and output["flags"][0]["advice"] == "same_day"


# --- The patient's form and the clinicians' side ---------------------------------------------

NOTHING_NEW = {
    "warning_signs": {q: "no" for q in RED_FLAGS[:4]},
    "more_warning_signs": {
        "leg_weakness_worsening": "no",
        "chest_pain": "no",
        "tummy_pain": "no",
        "major_trauma": "no",
    },
    "your_back_pain": {q: "no" for q in RED_FLAGS[8:]},
    "since_last_session": {
        "health_changed": "no",
        "last_session_reaction": "none_or_mild",
        "pain_compared": "worse",
        "pain_now": "6",
    },
    "today": {"alcohol_or_drugs_today": "no", "eaten_recently": "yes", "driving_after": "no"},
}


def send(patient: Patient) -> str:
    """Answer every page of the follow-up check, send it, and return the reference."""
    for section_id, answers in NOTHING_NEW.items():
        response = patient.answer(section_id, answers)
        assert response.status_code == 302, (section_id, response.text[:2000])
    assert patient.submit().status_code in (302, 303)
    return patient.get("/intake/done").text.split("Your reference: <strong>")[1].split("<")[0]


def test_a_draft_started_for_a_known_patient_runs_fr1_and_reaches_the_clinician(app, clinician):
    """start_draft with first-visit answers: the follow-up's FR1 fires on the web, and the
    submission is in the queue, the record, the CSV export and the FHIR bundle."""
    with app.test_request_context():
        draft = drafts.start_draft(
            "follow-up",
            identity={"given_name": "Maria", "family_name": "Smith", "date_of_birth": "1960-02-03"},
            earlier={"cancer_history": "yes", "cancer_back_pain_checked": "yes", "age": 66},
        )
    patient = Patient(app.test_client())
    with patient.client.session_transaction() as session:  # as drafts.open_draft does
        session[drafts.SESSION_KEY] = draft.token
        session[drafts.ACTIVE_KEY] = clock.now().isoformat()
    start = patient.get("/")
    assert "Before your next acupuncture session" in start.text
    reference = send(patient)
    done = patient.get("/intake/done").text
    assert "Please get medical help now" in done and "urgent appointment today" in done

    with app.app_context():
        from sqlalchemy import select

        from screening import db
        from screening.models import Submission

        row = db.session().scalars(select(Submission).where(Submission.reference == reference)).one()
        assert row.questionnaire_id == "follow-up"
        assert row.outcome == "urgent" and row.urgent_advice == "same_day"
        assert row.earlier == {"first_visit.cancer_history": "yes"}
        assert row.patient_name == "Maria Smith"
        assert "first_visit.cancer_history" not in row.answers

    queue = clinician.get("/review/").text
    assert reference in queue and "Maria Smith" in queue
    record = clinician.get(f"/review/submissions/{reference}")
    assert record.status_code == 200
    assert "Pain since the course began" in record.text and "cancer_history (first visit)" in record.text
    export = clinician.get("/review/export.csv")
    assert export.status_code == 200 and reference in export.text and "pain_compared" in export.text
    bundle = clinician.get(f"/review/submissions/{reference}/fhir")
    assert bundle.status_code == 200
    assert "follow-up" in json.dumps(bundle.get_json())


def test_a_questionnaire_opens_by_its_id_and_the_start_page_stays_the_first_visit(app, clinician):
    """/questionnaires/<id> for staff and testing; a fresh browser still gets the first visit."""
    assert "Before your acupuncture session" in Patient(app.test_client()).get("/").text
    patient = Patient(app.test_client())
    response = patient.get("/questionnaires/follow-up")
    assert response.status_code == 302
    assert "Before your next acupuncture session" in patient.get("/").text
    assert patient.get("/questionnaires/no-such").status_code == 404
    reference = send(patient)
    # No first-visit answers: FR1 cannot be checked, so worse pain is talked through first.
    assert "Your physio will talk with you first" in patient.get("/intake/done").text
    assert reference in clinician.get("/review/").text
    assert clinician.get(f"/review/submissions/{reference}").status_code == 200


def test_the_aftercare_check_on_the_web(app):
    """The aftercare check through the form: an urgent answer shows the urgent page."""
    patient = Patient(app.test_client())
    patient.get("/questionnaires/aftercare")
    page = patient.answer(
        "since_your_session",
        {
            "after_breathless_chest_pain": "yes",
            "after_saddle_bladder_legs": "no",
            "after_needle_site_infection": "no",
            "after_bruise_swelling": "no",
            "after_still_unwell": "no",
            "after_needle_found": "no",
        },
    )
    assert page.status_code == 302
    assert "Go to A&amp;E now" in patient.get("/intake/how_you_feel").text


def test_start_draft_refuses_an_unknown_questionnaire(app):
    """An unknown id is a LookupError, and nothing is stored."""
    with app.test_request_context(), pytest.raises(LookupError):
        drafts.start_draft("nope", {}, {})


def test_fhir_exports_any_questionnaire_by_id(runner, tmp_path):
    """`fhir export-questionnaire follow-up`: a valid Questionnaire naming earlier answers as a variable."""
    out = tmp_path / "follow-up.json"
    result = runner.invoke(args=["fhir", "export-questionnaire", "follow-up", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert runner.invoke(args=["fhir", "validate", str(out)]).exit_code == 0
    text = out.read_text()
    assert '"follow-up"' in text and "%first_visit.repeat(item).where(linkId='cancer_history')" in text


def test_start_draft_keeps_only_the_earlier_answers_the_rules_name(app):
    """Earlier answers the questionnaire does not use are not copied into the draft; the
    identity fills in the questions of that id; last_check is kept for a repeated check."""
    with app.test_request_context():
        follow = drafts.start_draft("follow-up", {"full_name": "Ann Lee"}, {"cancer_history": "no", "diabetes": "yes"})
        assert follow.answers == {"first_visit.cancer_history": "no"}
        assert follow.questionnaire_id == "follow-up" and follow.patient_name == "Ann Lee"
        again = drafts.start_draft(
            "aftercare", {}, {}, last_check={"after_soreness": "still_sore", "after_tired": "no"}
        )
        assert again.answers == {"last_check.after_soreness": "still_sore"}
        first = drafts.start_draft("acupuncture-low-back-pain", {"full_name": "Ann Lee", "phone": "07700 900123"}, {})
        assert first.answers["full_name"] == "Ann Lee" and "phone" in first.answers
