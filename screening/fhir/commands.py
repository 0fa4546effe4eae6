"""`flask --app screening fhir ...`: export, import and validate FHIR resources."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import click
import yaml
from flask.cli import AppGroup

from .. import rules
from ..questionnaire import Definition, QuestionnaireError, coerce_answers, load
from ..versions import current_definition
from . import records
from .importer import ImportProblems, import_questionnaire
from .questionnaire import export_questionnaire
from .response import ResponseError, answers_from_response, find_response, questionnaire_response, response_version
from .validate import validate

fhir_group = AppGroup("fhir", help="Questionnaires and answers as HL7 FHIR R4 (with the SDC extensions).")


def _write(data: Any, output: str | None) -> None:
    """JSON to a file, or to standard output."""
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"Wrote {output}.", err=True)
    else:
        click.echo(text, nl=False)


def _read_json(file: str) -> Any:
    """A JSON file, or exit 2 saying why not."""
    try:
        return json.loads(Path(file).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        click.echo(f"Error: {file} is not a readable JSON file: {exc}", err=True)
        raise SystemExit(2) from None


def _definition(ident: str | None) -> Definition:
    """The current questionnaire, a questionnaire file, or a stored version."""
    if ident is None:
        return current_definition()
    if ident.endswith((".yaml", ".yml")) or Path(ident).is_file():
        try:
            return load(ident)
        except QuestionnaireError as exc:
            click.echo(exc.report(), err=True)
            raise SystemExit(1) from None
    try:
        return records.definition_by_version(ident)
    except records.NotFound as exc:
        raise click.ClickException(str(exc)) from None


@fhir_group.command("export-questionnaire")
@click.argument("ident", required=False, metavar="[ID]")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to this file (default: standard output).")
def export_questionnaire_command(ident: str | None, output: str | None) -> None:
    """Write a questionnaire as a FHIR R4 Questionnaire.

    ID is a stored version (its hash, or 8 or more characters of it), the current
    questionnaire's id, or a questionnaire file; by default the one patients answer now.
    """
    _write(export_questionnaire(_definition(ident), records.base_url()), output)


@fhir_group.command("export-response")
@click.argument("reference")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to this file (default: standard output).")
def export_response_command(reference: str, output: str | None) -> None:
    """Write a submission as a FHIR Bundle: its QuestionnaireResponse and a DetectedIssue per flag (audited)."""
    try:
        bundle = records.submission_bundle(reference, actor="command line")
    except records.NotFound as exc:
        raise click.ClickException(str(exc)) from None
    _write(bundle, output)


@fhir_group.command("example-responses")
@click.argument("ident", required=False, metavar="[ID]")
@click.option("-o", "--output", type=click.Path(file_okay=False), default=".", show_default=True)
def example_responses_command(ident: str | None, output: str) -> None:
    """Write one QuestionnaireResponse per test case embedded in the questionnaire."""
    defn = _definition(ident)
    folder = Path(output)
    folder.mkdir(parents=True, exist_ok=True)
    for i, case in enumerate(defn.tests, start=1):
        today = dt.date.fromisoformat(case.today) if case.today else None
        answers = coerce_answers(defn, case.answers, today)
        qr = questionnaire_response(defn, answers, today, base_url=records.base_url())
        slug = re.sub(r"[^a-z0-9]+", "-", case.name.lower()).strip("-")[:60]
        (folder / f"{i:03d}-{slug}.json").write_text(json.dumps(qr, indent=2, ensure_ascii=False) + "\n", "utf-8")
    click.echo(f"Wrote {len(defn.tests)} QuestionnaireResponses to {folder}.")


@fhir_group.command("import-response")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--today", help="Evaluate as on this date (YYYY-MM-DD); default today.")
def import_response_command(file: str, today: str | None) -> None:
    """Evaluate a QuestionnaireResponse (or a Bundle holding one) from any SDC renderer.

    Prints what `evaluate` prints, with the same exit codes: 2 for an unknown item,
    an answer our rules refuse, or a response to another questionnaire.
    """
    from ..cli import evaluation_output, parse_today

    on = parse_today(today)
    resource = _read_json(file)
    try:
        qr = find_response(resource)
        defn = current_definition()
        version = response_version(qr, _url(defn))
        if version is not None and version != defn.version:
            defn = records.definition_by_version(version)
        answers = answers_from_response(defn, qr, records.base_url())
        result = rules.evaluate_input(defn, answers, on)
    except (ResponseError, records.NotFound, ValueError) as exc:
        click.echo(f"Error: {file}: {exc}", err=True)
        raise SystemExit(2) from None
    click.echo(json.dumps(evaluation_output(result), indent=2, ensure_ascii=False))


def _url(defn: Definition) -> str:
    """The canonical URL of this clinic's questionnaire."""
    from .codes import questionnaire_url

    return questionnaire_url(records.base_url(), defn.questionnaire.id)


@fhir_group.command("import-questionnaire")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="The questions.yaml to write.")
@click.option("--force", is_flag=True, help="Replace the output file if it exists.")
@click.pass_context
def import_questionnaire_command(ctx: click.Context, file: str, output: str, force: bool) -> None:
    """Turn a FHIR Questionnaire into a questions.yaml, then run check-questions on it.

    Our own exports come back exactly; others as far as the format reaches, with notes.
    A pre-filled answer to a red-flag question is refused.
    """
    from ..cli import check_questions_command

    resource = _read_json(file)
    if Path(output).exists() and not force:
        raise click.ClickException(f"{output} exists: choose another file, or add --force to replace it")
    try:
        imported = import_questionnaire(resource)
    except ImportProblems as exc:
        click.echo(f"{file}: cannot import:", err=True)
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
        raise SystemExit(1) from None
    for note in imported.notes:
        click.echo(f"Note: {note}", err=True)
    text = yaml.safe_dump(imported.data, sort_keys=False, allow_unicode=True, width=100)
    Path(output).write_text(text, encoding="utf-8")
    click.echo(f"Wrote {output}.")
    ctx.invoke(check_questions_command, path=output)


@fhir_group.command("validate")
@click.argument("file", type=click.Path(dir_okay=False))
def validate_command(file: str) -> None:
    """Check a FHIR resource: the R4B structure, then codes and invariants. Exit 1 on a problem."""
    resource = _read_json(file)
    problems = validate(resource)
    if problems:
        click.echo(f"{file}: {len(problems)} problem(s):", err=True)
        for problem in problems:
            click.echo(f"  {problem}", err=True)
        raise SystemExit(1)
    click.echo(f"{file}: valid FHIR R4 {resource['resourceType']}.")


__all__ = ["fhir_group"]
