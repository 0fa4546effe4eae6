"""The commands: check-questions and evaluate, including their errors."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from .conftest import DEFAULT, ROOT, SMALL


def flask(*args: str, tmp_path: Path, questions: str = DEFAULT) -> subprocess.CompletedProcess:
    """Run `flask --app screening ...` in a real process, as a clinic would."""
    env = os.environ | {
        "SCREENING_QUESTIONS_PATH": questions,
        "SCREENING_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "SCREENING_SECRET_KEY": "cli-test",
    }
    command = [sys.executable, "-m", "flask", "--app", "screening", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def broken_copy(tmp_path: Path) -> Path:
    """The small questionnaire with two mistakes in it."""
    text = Path(SMALL).read_text().replace("level: urgent", "level: severe", 1).replace("type: textarea", "type: essay")
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    return path


def test_check_questions_prints_a_summary(runner):
    """A valid file: sections, questions, flags by level, and the cases passed."""
    result = runner.invoke(args=["check-questions"])
    assert result.exit_code == 0, result.output
    assert "Sections: 13" in result.output
    assert "urgent 17" in result.output
    assert "Test cases: 94 of 94 passed." in result.output


def test_check_questions_on_another_path(runner):
    """PATH checks that file instead of the configured one."""
    result = runner.invoke(args=["check-questions", SMALL])
    assert result.exit_code == 0, result.output
    assert "small-test" in result.output


def test_check_questions_lists_every_error(runner, tmp_path):
    """An invalid file: each problem with file, line and path; exit 1."""
    path = broken_copy(tmp_path)
    result = runner.invoke(args=["check-questions", str(path)])
    assert result.exit_code == 1
    assert f"{path}:" in result.output
    assert "sections[0].questions[0].flags[0].level: 'severe' is not allowed" in result.output
    assert "sections[1].questions[9].type: 'essay' is not allowed" in result.output


def test_check_questions_fails_a_wrong_case(runner, tmp_path):
    """A case whose expectation is wrong fails, saying what fired instead."""
    path = tmp_path / "wrong.yaml"
    path.write_text(
        Path(SMALL).read_text().replace("outcome: not_suitable\n    flags: [ill]", "outcome: review\n    flags: [ill]")
    )
    result = runner.invoke(args=["check-questions", str(path)])
    assert result.exit_code == 1
    line = path.read_text()[: path.read_text().index("outcome: review\n    flags: [ill]")].count("\n") + 1
    assert f"{path}:{line}: tests[" in result.output
    assert "case 'a cold is not suitable' fails: expected review, got not_suitable" in result.output


def test_check_questions_fails_an_untested_red_flag(runner, tmp_path):
    """An urgent or contraindication flag that no case fires is an error."""
    text = Path(SMALL).read_text()
    start = text.index("  - name: numb is urgent")
    end = text.index("  - name: fever is urgent")
    path = tmp_path / "untested.yaml"
    path.write_text(text[:start] + text[end:])
    result = runner.invoke(args=["check-questions", str(path)])
    assert result.exit_code == 1
    assert "numb.flags[0] (urgent) is not fired by any passing test case" in result.output
    assert f"{path}:" in result.output


def test_check_questions_runs_when_the_configured_file_is_broken(tmp_path):
    """A broken default file can still be checked, in a real process."""
    path = broken_copy(tmp_path)
    result = flask("check-questions", tmp_path=tmp_path, questions=str(path))
    assert result.returncode == 1
    assert "'severe' is not allowed" in result.stderr
    assert "cannot start" not in result.stderr  # the command itself ran and reported
    assert "2 problem(s) in the questionnaire" in result.stderr


def test_other_commands_refuse_to_start_on_a_broken_file(tmp_path):
    """The app will not start (here: init-db) with an invalid questionnaire."""
    result = flask("init-db", tmp_path=tmp_path, questions=str(broken_copy(tmp_path)))
    assert result.returncode == 1
    assert "cannot start" in result.stderr
    assert "sections[0].questions[0].flags[0].level" in result.stderr
    assert "Traceback" not in result.stderr


def evaluate(runner, tmp_path, answers, *extra):
    """Run evaluate on answers written to a JSON file."""
    path = tmp_path / "answers.json"
    path.write_text(answers if isinstance(answers, str) else json.dumps(answers))
    return runner.invoke(args=["evaluate", str(path), *extra])


def test_evaluate_prints_outcome_and_flags(runner, tmp_path):
    """Outcome and flags (id, level, reason, source) as JSON."""
    result = evaluate(runner, tmp_path, {"saddle_numbness": "yes", "anticoagulant": "yes"})
    assert result.exit_code == 0, result.output
    output = json.loads(result.output)
    assert output["outcome"] == "urgent"
    assert [(f["id"], f["level"]) for f in output["flags"]] == [
        ("saddle_numbness", "urgent"),
        ("anticoagulant", "precaution"),
    ]
    assert all(f["reason"] and f["source"] for f in output["flags"])


def test_evaluate_with_a_date_of_birth_and_today(runner, tmp_path):
    """Ages are worked out on --today."""
    result = evaluate(runner, tmp_path, {"date_of_birth": "2011-01-01"}, "--today", "2026-11-24")
    assert json.loads(result.output)["outcome"] == "not_suitable"
    result = evaluate(runner, tmp_path, {"date_of_birth": "2011-01-01"}, "--today", "2027-01-01")
    assert json.loads(result.output)["outcome"] == "suitable"


def test_evaluate_all_clear_is_suitable(runner, tmp_path):
    """No answers that flag: suitable with no flags."""
    result = evaluate(runner, tmp_path, {"saddle_numbness": "no", "pain_now": 4, "needle_fear": "ok"})
    assert json.loads(result.output) == {"outcome": "suitable", "flags": []}


@pytest.mark.parametrize(
    ("answers", "words"),
    [
        ({"saddle": "yes"}, "unknown question id 'saddle'"),
        ({"saddle_numbness": "Yes"}, "saddle_numbness: invalid answer 'Yes'"),
        ({"pain_now": 12}, "pain_now: invalid answer 12"),
        ({"date_of_birth": "27/03/1980"}, "date_of_birth: invalid answer '27/03/1980'"),
        ({"epilepsy": "sometimes"}, "epilepsy: invalid answer 'sometimes'"),
        ("{not json", "is not valid JSON"),
        ('["saddle_numbness"]', "JSON object"),
    ],
)
def test_evaluate_refuses_bad_input_with_exit_2(runner, tmp_path, answers, words):
    """Unknown ids, invalid values and broken JSON: exit 2 and a message naming them."""
    result = evaluate(runner, tmp_path, answers)
    assert result.exit_code == 2
    assert words in result.output


def test_evaluate_in_a_real_process(tmp_path):
    """The command works as documented from a shell."""
    path = tmp_path / "answers.json"
    path.write_text(json.dumps({"fever_or_unwell": "fever"}))
    result = flask("evaluate", str(path), tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["flags"][0]["id"] == "fever_or_unwell"
    path.write_text(json.dumps({"fever_or_unwell": "hot"}))
    result = flask("evaluate", str(path), tmp_path=tmp_path)
    assert result.returncode == 2
    assert "fever_or_unwell: invalid answer 'hot'" in result.stderr


def test_run_prints_the_whole_setup_link(tmp_path):
    """`flask run` on a fresh install prints the first-run link with its host and port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = os.environ | {"SCREENING_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "SCREENING_SECRET_KEY": "x"}
    app = f"screening:create_app(instance_path={str(tmp_path / 'instance')!r})"
    migrated = subprocess.run([sys.executable, "-m", "flask", "--app", app, "db", "upgrade"], cwd=ROOT, env=env)
    assert migrated.returncode == 0
    command = [sys.executable, "-m", "flask", "--app", app, "run", "--port", str(port)]
    with subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as p:
        timer = threading.Timer(60, p.kill)  # in case the link never comes
        timer.start()
        try:
            link = next((line.strip() for line in p.stdout if "/setup?token=" in line), None)
        finally:
            timer.cancel()
            p.terminate()
    token = (tmp_path / "instance" / "setup_token").read_text().strip()
    assert link == f"http://127.0.0.1:{port}/setup?token={token}"
