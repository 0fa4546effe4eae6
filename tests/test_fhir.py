"""FHIR: the Questionnaire export, responses both ways, the FHIRPath, validation, the downloads."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path

import pytest
from fhirpathpy import evaluate as fhirpath
from fhirpathpy.engine.invocations.constants import systemtime
from fhirpathpy.models import models
from sqlalchemy import select

from screening import rules
from screening.fhir import codes, export_questionnaire, questionnaire_response
from screening.fhir.importer import import_questionnaire
from screening.fhir.questionnaire import flag_items
from screening.fhir.validate import validate
from screening.models import AuditEvent
from screening.questionnaire import QTYPES, coerce_answers, from_data

from .conftest import DEFAULT, SMALL, checked

DEFN = checked(DEFAULT)
CASES = list(enumerate(DEFN.tests))


def case_day(case) -> dt.date:
    """The day a case is evaluated on."""
    return dt.date.fromisoformat(case.today) if case.today else dt.date.today()


@pytest.fixture(scope="module")
def exported() -> dict:
    """The default questionnaire as a FHIR Questionnaire."""
    return export_questionnaire(DEFN)


def all_items(items: list) -> list:
    """Every item, nested ones too."""
    found = []
    for item in items:
        found.append(item)
        found += all_items(item.get("item") or [])
    return found


def write(tmp_path: Path, name: str, data: dict) -> str:
    """JSON in a file; its path."""
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return str(path)


# --- The Questionnaire -------------------------------------------------------------


def test_every_question_type_has_a_fhir_item_type():
    """The mapping table covers the type registry (importing it fails otherwise)."""
    assert set(codes.ITEM_TYPES) == set(QTYPES)


def test_the_questionnaire_has_every_question_page_and_flag(exported):
    """Every question is a linkId; every page a group shown as a page; one hidden item per flag."""
    items = all_items(exported["item"])
    link_ids = [item["linkId"] for item in items]
    assert set(DEFN.questions) <= set(link_ids)
    assert len(link_ids) == len(set(link_ids))
    for section in DEFN.sections:
        group = next(item for item in exported["item"] if item["linkId"] == section.id)
        assert group["type"] == "group"
        assert codes.item_control("page") in group["extension"]
    flags = [item for item in items if item["linkId"].startswith("flag.")]
    assert len(flags) == sum(1 for _ in DEFN.question_flags()) + len(DEFN.rules)
    for item in flags:
        assert len(codes.extension_values(item, codes.EXT_FLAG)) == 1
        assert {"url": codes.EXT_HIDDEN, "valueBoolean": True} in item["extension"]
    assert exported["version"] == DEFN.version
    assert exported["url"].endswith("/Questionnaire/acupuncture-low-back-pain")


def test_show_if_is_enable_when_where_it_can_be_and_an_expression_where_it_cannot(exported):
    """{cancer_history: yes} is plain enableWhen; {sex: {not: male}} needs FHIRPath."""
    items = {item["linkId"]: item for item in all_items(exported["item"])}
    checked_item = items["cancer_back_pain_checked"]
    assert checked_item["enableWhen"] == [{"question": "cancer_history", "operator": "=", "answerBoolean": True}]
    pregnant = items["pregnant"]
    assert "enableWhen" not in pregnant
    (expression,) = codes.extension_values(pregnant, codes.EXT_ENABLE_WHEN_EXPRESSION)
    assert "linkId='sex'" in expression["valueExpression"]["expression"]
    assert codes.extension_values(items["age"], codes.EXT_CALCULATED)


def test_the_red_flag_carries_its_level_advice_reason_and_sources(exported):
    """flag.saddle_numbness.0: urgent, emergency, its reason and S-ids."""
    item = next(i for i in all_items(exported["item"]) if i["linkId"] == "flag.saddle_numbness.0")
    (flag,) = codes.extension_values(item, codes.EXT_FLAG)
    parts = {(e["url"], json.dumps(e.get("valueCoding", e.get("valueString")))) for e in flag["extension"]}
    assert ("level", json.dumps(codes.coding(codes.CS_FLAG_LEVEL, "urgent"))) in parts
    assert ("advice", json.dumps(codes.coding(codes.CS_ADVICE, "emergency"))) in parts
    assert ("source", '"S2"') in parts and ("source", '"S4"') in parts


# --- The FHIRPath, evaluated in Python ---------------------------------------------


def expressions(questionnaire: dict) -> dict[str, str]:
    """linkId -> calculatedExpression."""
    found = {}
    for item in all_items(questionnaire["item"]):
        for ext in codes.extension_values(item, codes.EXT_CALCULATED):
            found[item["linkId"]] = ext["valueExpression"]["expression"]
    return found


@pytest.mark.parametrize(("index", "case"), CASES, ids=[c.name for _, c in CASES])
def test_the_generated_fhirpath_gives_the_same_flags_as_assess(index, case, exported, monkeypatch):
    """Each flag item's expression, run by fhirpathpy on the case's answers (stale answers to
    hidden questions left in, as a careless renderer might), fires exactly the flags
    `rules.assess` raises, so another SDC renderer computes the same flags."""
    today = case_day(case)
    monkeypatch.setattr(systemtime, "now", lambda: dt.datetime.combine(today, dt.time(12)))
    answers = coerce_answers(DEFN, case.answers, today)
    qr = questionnaire_response(DEFN, answers, today, computed=False)
    result = rules.assess(DEFN, answers, today)
    for qid in result.dropped:  # keep what a renderer should have dropped
        stale = questionnaire_response(DEFN, {qid: answers[qid]}, today, computed=False)
        qr["item"] += stale["item"]
    calculated = expressions(exported)
    fired = set()
    for link_id, owner, flag in flag_items(DEFN):
        value = fhirpath(qr, calculated[link_id], {"resource": qr}, models["r4"])
        assert value in ([True], [False]), (link_id, value)
        if value == [True]:
            fired.add(owner or flag.id)
    assert fired == {f.id for f in result.flags}
    assert fired == set(case.flags if case.flags is not None else fired)
    if "age" in result.derived:
        assert fhirpath(qr, calculated["age"], {"resource": qr}, models["r4"]) == [result.derived["age"]]


# --- Responses: out and back in -----------------------------------------------------


def test_every_case_round_trips_through_a_questionnaire_response(runner, tmp_path):
    """Exported as a QuestionnaireResponse and imported back, every case gives its outcome,
    flags and urgent advice, exactly as `evaluate` prints them."""
    for index, case in CASES:
        today = case_day(case)
        answers = coerce_answers(DEFN, case.answers, today)
        qr = questionnaire_response(DEFN, answers, today)
        file = write(tmp_path, f"qr{index}.json", qr)
        result = runner.invoke(args=["fhir", "import-response", file, "--today", today.isoformat()])
        assert result.exit_code == 0, (case.name, result.output)
        output = json.loads(result.stdout)
        assert output["outcome"] == case.outcome, case.name
        if case.flags is not None:
            assert sorted({f["id"] for f in output["flags"]}) == sorted(set(case.flags)), case.name
        advice = next((f.get("advice") for f in output["flags"] if f["level"] == "urgent"), None)
        if case.advice is not None:
            assert advice == case.advice, case.name
        answers_file = write(tmp_path, f"answers{index}.json", case.answers)
        evaluated = runner.invoke(args=["evaluate", answers_file, "--today", today.isoformat()])
        assert json.loads(evaluated.stdout)["flags"] == output["flags"], case.name


def qr_of(changes: dict) -> dict:
    """A QuestionnaireResponse of the all-clear case, with raw answer entries changed."""
    case = next(c for c in DEFN.tests if c.outcome == "suitable" and len(c.answers) > 40)
    qr = questionnaire_response(DEFN, coerce_answers(DEFN, case.answers, case_day(case)), case_day(case))
    for item in all_items(qr["item"]):
        if item["linkId"] in changes:
            item["answer"] = changes[item["linkId"]]
    return qr


def test_an_out_of_range_answer_is_refused_naming_the_question(runner, tmp_path):
    """A renderer may export 11 on a 0-10 scale: exit 2, naming pain_now."""
    file = write(tmp_path, "qr.json", qr_of({"pain_now": [{"valueInteger": 11}]}))
    result = runner.invoke(args=["fhir", "import-response", file])
    assert result.exit_code == 2
    assert "pain_now" in result.output


def test_an_unknown_item_or_another_questionnaire_is_refused(runner, tmp_path):
    """An unknown linkId with an answer, a wrong code system and another questionnaire: exit 2."""
    qr = qr_of({})
    qr["item"][0]["item"].append({"linkId": "favourite_colour", "answer": [{"valueString": "blue"}]})
    result = runner.invoke(args=["fhir", "import-response", write(tmp_path, "a.json", qr)])
    assert result.exit_code == 2 and "favourite_colour" in result.output
    wrong_system = {"valueCoding": {"system": "http://snomed.info/sct", "code": "no"}}
    result = runner.invoke(
        args=["fhir", "import-response", write(tmp_path, "b.json", qr_of({"tummy_pain": [wrong_system]}))]
    )
    assert result.exit_code == 2 and "tummy_pain" in result.output
    other = qr_of({}) | {"questionnaire": "https://elsewhere.example/Questionnaire/intake|1"}
    result = runner.invoke(args=["fhir", "import-response", write(tmp_path, "c.json", other)])
    assert result.exit_code == 2 and "another questionnaire" in result.output


# --- Validation ----------------------------------------------------------------------


def test_validate_passes_on_every_export(runner, tmp_path, exported):
    """The Questionnaire, an example response and a Bundle all pass the command."""
    assert validate(exported) == []
    assert runner.invoke(args=["fhir", "export-questionnaire", "-o", str(tmp_path / "q.json")]).exit_code == 0
    result = runner.invoke(args=["fhir", "validate", str(tmp_path / "q.json")])
    assert result.exit_code == 0, result.output
    small = export_questionnaire(checked(SMALL))
    assert validate(small) == []
    result = runner.invoke(args=["fhir", "example-responses", "-o", str(tmp_path / "examples")])
    assert result.exit_code == 0, result.output
    files = sorted((tmp_path / "examples").glob("*.json"))
    assert len(files) == len(DEFN.tests)
    for file in files:
        assert validate(json.loads(file.read_text())) == [], file.name


def test_validate_rejects_a_hand_broken_questionnaire_naming_the_path(runner, tmp_path, exported):
    """A wrong item type (our check) and a non-boolean `required` (the R4B models): exit 1, paths named."""
    broken = copy.deepcopy(exported)
    broken["item"][0]["item"][1]["type"] = "yes-no"
    broken["item"][1]["item"][0]["required"] = "maybe"
    # The first question shown only after another answer (past cancer's follow-up).
    section, item = next(
        (i, j)
        for i, group in enumerate(broken["item"])
        for j, question in enumerate(group.get("item", []))
        if question.get("enableWhen")
    )
    broken["item"][section]["item"][item]["enableWhen"][0]["question"] = "nothing_earlier"
    result = runner.invoke(args=["fhir", "validate", write(tmp_path, "broken.json", broken)])
    assert result.exit_code == 1
    assert "Questionnaire.item[0].item[1].type 'yes-no' is not an R4 item type" in result.output
    assert "Questionnaire.item[1].item[0].required" in result.output
    assert f"Questionnaire.item[{section}].item[{item}].enableWhen[0].question 'nothing_earlier'" in result.output


def test_validate_rejects_fhirpath_that_does_not_parse(exported):
    """An expression fhirpathpy cannot compile is named by its path."""
    broken = copy.deepcopy(exported)
    flag = next(i for i in broken["item"] if i["linkId"] == "flag.saddle_numbness.0")
    index = next(k for k, e in enumerate(flag["extension"]) if e["url"] == codes.EXT_CALCULATED)
    flag["extension"][index]["valueExpression"]["expression"] = "%resource.item.where(linkId = "
    position = broken["item"].index(flag)
    assert any(p.startswith(f"Questionnaire.item[{position}].extension[{index}]") for p in validate(broken))


# --- Importing a Questionnaire -------------------------------------------------------


def test_our_own_export_imports_back_to_the_same_questionnaire(runner, tmp_path, exported):
    """Lossless: the same version hash, and check-questions passes on the file written."""
    assert from_data(import_questionnaire(exported).data).version == DEFN.version
    output = tmp_path / "questions.yaml"
    file = write(tmp_path, "q.json", exported)
    result = runner.invoke(args=["fhir", "import-questionnaire", file, "-o", str(output)])
    assert result.exit_code == 0, result.output
    assert f"(version {DEFN.version[:12]})" in result.output
    assert f"Test cases: {len(DEFN.tests)} of {len(DEFN.tests)} passed." in result.output
    again = runner.invoke(args=["fhir", "import-questionnaire", str(tmp_path / "q.json"), "-o", str(output)])
    assert again.exit_code != 0 and "--force" in again.output


def test_a_pre_filled_answer_to_a_red_flag_question_is_refused(runner, tmp_path, exported):
    """`initial` on saddle_numbness: the import stops and names it."""
    changed = copy.deepcopy(exported)
    changed["item"][0]["item"][1]["initial"] = [{"valueBoolean": False}]
    output = tmp_path / "q.yaml"
    result = runner.invoke(args=["fhir", "import-questionnaire", write(tmp_path, "q.json", changed), "-o", str(output)])
    assert result.exit_code == 1
    assert "Questionnaire.item[0].item[1] (saddle_numbness)" in result.output and "red-flag" in result.output
    assert not output.exists()


THEIRS = {
    "resourceType": "Questionnaire",
    "id": "gp-intake",
    "title": "GP intake",
    "status": "active",
    "item": [
        {
            "linkId": "about",
            "type": "group",
            "text": "About you",
            "item": [
                {"linkId": "smoker", "type": "boolean", "text": "Do you smoke?", "required": True},
                {
                    "linkId": "per_day",
                    "type": "integer",
                    "text": "How many a day?",
                    "enableWhen": [{"question": "smoker", "operator": "=", "answerBoolean": True}],
                },
                {
                    "linkId": "mood",
                    "type": "choice",
                    "text": "How is your mood?",
                    "answerOption": [
                        {"valueCoding": {"code": "good", "display": "Good"}},
                        {"valueCoding": {"code": "low", "display": "Low"}},
                    ],
                },
            ],
        }
    ],
}


def test_another_systems_questionnaire_imports_as_far_as_it_can(runner, tmp_path):
    """Groups become pages, items questions, enableWhen show_if; then check-questions passes."""
    output = tmp_path / "gp.yaml"
    result = runner.invoke(args=["fhir", "import-questionnaire", write(tmp_path, "gp.json", THEIRS), "-o", str(output)])
    assert result.exit_code == 0, result.output
    text = output.read_text()
    assert "show_if:\n      smoker: 'yes'" in text
    assert "valid questionnaire 'gp-intake'" in result.output


def test_an_unsupported_item_is_reported_by_its_path(runner, tmp_path):
    """An attachment question: 'Questionnaire.item[0].item[1].type 'attachment' is not supported'."""
    theirs = copy.deepcopy(THEIRS)
    theirs["item"][0]["item"][1]["type"] = "attachment"
    file = write(tmp_path, "gp.json", theirs)
    result = runner.invoke(args=["fhir", "import-questionnaire", file, "-o", str(tmp_path / "x.yaml")])
    assert result.exit_code == 1
    assert "Questionnaire.item[0].item[1].type 'attachment' is not supported" in result.output


# --- The clinicians' downloads -------------------------------------------------------


def audit_rows(app, action: str) -> list[AuditEvent]:
    """Audit rows of one action, oldest first."""
    from screening import db

    with app.app_context():
        return list(db.session().scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_a_submission_downloads_as_a_bundle_audited(app, clinician, submission_factory):
    """Signed in: the QuestionnaireResponse and one DetectedIssue per flag, and an audit row."""
    reference = submission_factory({"saddle_numbness": "yes", "needle_fear": "very"})
    response = clinician.get(f"/review/submissions/{reference}/fhir")
    assert response.status_code == 200
    assert response.mimetype == "application/fhir+json"
    bundle = response.get_json()
    assert validate(bundle) == []
    kinds = [entry["resource"]["resourceType"] for entry in bundle["entry"]]
    assert kinds == ["QuestionnaireResponse", "DetectedIssue", "DetectedIssue"]
    issues = [entry["resource"] for entry in bundle["entry"][1:]]
    assert [i["severity"] for i in issues] == ["high", "moderate"]
    assert issues[0]["mitigation"][0]["action"]["coding"][0]["code"] == "emergency"
    qr = bundle["entry"][0]["resource"]
    assert qr["identifier"]["value"] == reference
    flagged = {i["linkId"] for i in all_items(qr["item"]) if i.get("answer") == [{"valueBoolean": True}]}
    assert {"flag.saddle_numbness.0", "flag.needle_fear.1"} <= flagged
    assert [row.reference for row in audit_rows(app, "fhir_export")] == [reference]


def test_the_downloads_need_a_signed_in_clinician(app, client, submission_factory):
    """Signed out: sent to sign in, and nothing is audited."""
    reference = submission_factory()
    for url in (f"/review/submissions/{reference}/fhir", f"/review/fhir/Questionnaire/{DEFN.version}"):
        response = client.get(url)
        assert response.status_code == 302 and "/review/login" in response.headers["Location"]
    assert audit_rows(app, "fhir_export") == []


def test_a_questionnaire_version_downloads_audited(app, clinician):
    """The current version by hash; an unknown one is a 404."""
    response = clinician.get(f"/review/fhir/Questionnaire/{DEFN.version}")
    assert response.status_code == 200
    assert response.get_json()["version"] == DEFN.version
    assert clinician.get("/review/fhir/Questionnaire/0123456789abcdef").status_code == 404
    assert [row.detail["version"] for row in audit_rows(app, "fhir_questionnaire")] == [DEFN.version]


def test_export_response_on_the_command_line_is_audited(app, runner, submission_factory, tmp_path):
    """`fhir export-response REFERENCE -o FILE` writes the Bundle and audits it as the command line."""
    reference = submission_factory({"fever_or_unwell": "fever"})
    result = runner.invoke(args=["fhir", "export-response", reference, "-o", str(tmp_path / "b.json")])
    assert result.exit_code == 0, result.output
    bundle = json.loads((tmp_path / "b.json").read_text())
    assert bundle["type"] == "collection" and len(bundle["entry"]) == 2
    (row,) = audit_rows(app, "fhir_export")
    assert row.reference == reference and row.actor == "command line"
    imported = runner.invoke(args=["fhir", "import-response", str(tmp_path / "b.json")])
    assert imported.exit_code == 0, imported.output
    assert json.loads(imported.stdout)["outcome"] == "urgent"
