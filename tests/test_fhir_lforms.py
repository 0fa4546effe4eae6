"""The round trip through another renderer: NLM's LHC-Forms shows our exported Questionnaire.

LHC-Forms (the `lforms` npm package, installed by `npm ci` in tests/lforms, as .ci/run
does) is a test oracle only: the patient's pages stay the app's own. A patient fills the
form there, its QuestionnaireResponse is read back with `getFormFHIRData` and imported
with `fhir import-response`; the outcome and advice must be what our own pages give for
the same answers, and the flags LHC-Forms calculated must be the ones our rules raise.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from screening import db
from screening.fhir import codes, export_questionnaire
from screening.models import Submission

from .conftest import DEFAULT, ROOT, checked

DIST = ROOT / "tests" / "lforms" / "node_modules" / "lforms" / "dist" / "lforms"
ORIGIN = "http://lforms.test"
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>LHC-Forms</title>
<link rel="stylesheet" href="/lforms/webcomponent/styles.css"></head>
<body><div id="form"></div>
<script src="/lforms/webcomponent/assets/lib/zone.min.js"></script>
<script src="/lforms/webcomponent/lhc-forms.js"></script>
<script src="/lforms/fhir/R4/lformsFHIR.min.js"></script>
</body></html>"""
TYPES = {".js": "application/javascript", ".css": "text/css", ".html": "text/html"}

DEFN = checked(DEFAULT)
ALL_CLEAR = max((c for c in DEFN.tests if c.outcome == "suitable"), key=lambda c: len(c.answers)).answers

SCENARIOS = {
    # A red flag: the emergency advice.
    "red flag": {"saddle_numbness": "yes"},
    # Nothing to flag.
    "suitable": {},
    # sex: male hides `pregnant` (an enableWhenExpression): its answer must not travel.
    "hidden question": {"sex": "male", "pregnant": None},
}


@pytest.fixture(scope="module")
def lforms_dist() -> Path:
    """The built LHC-Forms files, or a skip saying how to get them."""
    if not (DIST / "webcomponent" / "lhc-forms.js").is_file():
        pytest.skip("LHC-Forms is not installed: run `npm ci` in tests/lforms (.ci/run does)")
    return DIST


def serve(route, dist: Path) -> None:
    """The test page and LHC-Forms' files, from disk: no network, no CDN."""
    path = route.request.url.removeprefix(ORIGIN).split("?")[0]
    if path == "/":
        route.fulfill(body=PAGE, content_type="text/html")
        return
    file = (dist / path.removeprefix("/lforms/")).resolve()
    if path.startswith("/lforms/") and file.is_relative_to(dist.resolve()) and file.is_file():
        route.fulfill(path=str(file), content_type=TYPES.get(file.suffix, "application/octet-stream"))
    else:
        route.fulfill(status=404)


def answers_for(changes: dict) -> dict:
    """The all-clear case's answers with `changes` (None removes an answer)."""
    answers = dict(ALL_CLEAR) | changes
    return {qid: value for qid, value in answers.items() if value is not None}


def fill(page, answers: dict, url: str) -> None:
    """Answer each question in LHC-Forms as a patient would: click, type."""
    for qid in DEFN.questions:
        if qid not in answers:
            continue
        q, value = DEFN.questions[qid], answers[qid]
        if q.type == "yes_no":
            page.click(f'[id="{qid}/1/1|{"true" if value == "yes" else "false"}"]')
        elif q.type in ("single_choice", "multi_choice", "consent", "body_map"):
            system = codes.CS_BODY_MAP if q.type == "body_map" else codes.options_system(url)
            for code in value if isinstance(value, list) else [value]:
                page.click(f'[id="{qid}/1/1|{system}|{code}"]')
        elif q.type == "date":
            year, month, day = str(value).split("-")
            field = page.locator(f'[id="{qid}/1/1"] input')
            field.fill(f"{month}/{day}/{year}")
            field.press("Enter")
        else:
            page.fill(f'[id="{qid}/1/1"]', str(value))


def our_pages(submission_factory, app, answers: dict) -> tuple[str, str | None]:
    """The outcome and urgent advice our own pages give for the same answers."""
    changes = {qid: answers.get(qid) for qid in set(ALL_CLEAR) | set(answers)}
    changes = {qid: ("" if value is None else value) for qid, value in changes.items() if value != ALL_CLEAR.get(qid)}
    reference = submission_factory(changes)
    with app.app_context():
        row = db.session().scalars(select(Submission).where(Submission.reference == reference)).one()
        return row.outcome, row.urgent_advice


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_lhc_forms_round_trip(scenario, browser, lforms_dist, app, runner, submission_factory, tmp_path):
    """Our Questionnaire in LHC-Forms, filled as a patient, read back, imported: the same
    outcome and advice as our own pages; LHC's calculated flags are ours; hidden answers stay out."""
    questionnaire = export_questionnaire(DEFN)
    answers = answers_for(SCENARIOS[scenario])
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.route(f"{ORIGIN}/**", lambda route: serve(route, lforms_dist))
        page.goto(f"{ORIGIN}/")
        page.wait_for_function("typeof LForms !== 'undefined' && typeof LForms.Util?.addFormToPage === 'function'")
        loaded = page.evaluate(
            "q => LForms.Util.addFormToPage(q, 'form', {fhirVersion: 'R4'}).then(() => 'ok', e => JSON.stringify(e))",
            questionnaire,
        )
        assert loaded == "ok", loaded
        fill(page, answers, questionnaire["url"])
        qr = page.evaluate("LForms.Util.getFormFHIRData('QuestionnaireResponse', 'R4', '#form')")
    finally:
        page.close()
    assert errors == []

    file = tmp_path / "lforms-response.json"
    file.write_text(json.dumps(qr))
    result = runner.invoke(args=["fhir", "import-response", str(file)])
    assert result.exit_code == 0, result.output
    imported = json.loads(result.stdout)
    advice = next((f.get("advice") for f in imported["flags"] if f["level"] == "urgent"), None)
    assert (imported["outcome"], advice) == our_pages(submission_factory, app, answers)

    items = {}
    stack = list(qr["item"])
    while stack:
        item = stack.pop()
        items[item["linkId"]] = item
        stack += item.get("item") or []
    raised = {f["id"] for f in imported["flags"]}
    calculated = {
        link_id.split(".")[1]
        for link_id, item in items.items()
        if link_id.startswith("flag.") and item.get("answer") == [{"valueBoolean": True}]
    }
    assert calculated == raised, "LHC-Forms calculated other flags than our rules raised"
    if scenario == "red flag":
        assert imported["outcome"] == "urgent" and advice == "emergency"
    if scenario == "suitable":
        assert imported["outcome"] == "suitable"
    if scenario == "hidden question":
        assert "pregnant" not in items and "sex" in items
