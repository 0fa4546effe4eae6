"""The `translations` commands (a questionnaire's catalog template, a new catalog for a
language, every catalog brought up to today's English) and the catalogs' report in
`check-questions` (docs/languages.md)."""

from __future__ import annotations

import io
from pathlib import Path

import click
from babel.messages.pofile import read_po
from flask import current_app
from flask.cli import with_appcontext

from .. import versions
from ..questionnaire import Definition, Problem, QuestionnaireError
from ..questionnaire import translations as qt
from ..versions import current_definition
from . import DEFAULTS, phones
from .catalogs import compile_pages, header_only


@click.group("translations")
def translations_group() -> None:
    """Catalogs of the questionnaire's and the pages' texts."""


def _questionnaire(questionnaire_id: str | None) -> tuple[Definition, str, Path]:
    """A questionnaire (the default one when no id is given), its file's name, and the
    folder of its catalogs."""
    try:
        defn = versions.definition(questionnaire_id) if questionnaire_id else current_definition()
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None
    source = Path(defn.source or current_app.config["QUESTIONS_PATH"]).name
    folder = Path(current_app.config["TRANSLATIONS_PATH"]) / "questionnaires" / defn.questionnaire.id
    return defn, source, folder


QUESTIONNAIRE_OPTION = click.option(
    "--questionnaire", "questionnaire_id", default=None, help="A questionnaire's id (default: the default one)."
)


@translations_group.command("update")
@click.option(
    "--questionnaire", "questionnaire_id", default=None, help="Only this questionnaire's catalogs (default: every one)."
)
@with_appcontext
def update_command(questionnaire_id: str | None) -> None:
    """Write each questionnaire's template and bring every catalog up to today's English
    (a changed text keeps its old translation marked fuzzy, never shown until checked)."""
    for qid in [questionnaire_id] if questionnaire_id else versions.questionnaire_ids():
        defn, source, folder = _questionnaire(qid)
        if qid != versions.default_id() and not folder.is_dir():
            continue  # not translated at all: nothing to write
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "questionnaire.pot").write_text(qt.template(defn, source), encoding="utf-8")
        for path in sorted(folder.glob("*.po")):
            path.write_text(qt.update(defn, path.read_text(encoding="utf-8"), source), encoding="utf-8")
            click.echo(f"updated {path}")
    pages = Path(current_app.config["TRANSLATIONS_PATH"]) / "pages"
    pot = pages / "messages.pot"
    if pot.exists() and not questionnaire_id:
        for path in sorted(pages.glob("*/LC_MESSAGES/messages.po")):
            path.write_text(update_pages(path.read_text(encoding="utf-8"), pot.read_text(encoding="utf-8")))
            click.echo(f"updated {path}")


@translations_group.command("init")
@click.argument("language")
@QUESTIONNAIRE_OPTION
@with_appcontext
def init_command(language: str, questionnaire_id: str | None) -> None:
    """Start a catalog of a questionnaire for LANGUAGE (a BCP 47 tag such as pl), unreviewed."""
    defn, source, folder = _questionnaire(questionnaire_id)
    path = folder / f"{language}.po"
    if path.exists():
        raise click.ClickException(f"{path} exists already: use `translations update`")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "questionnaire.pot").write_text(qt.template(defn, source), encoding="utf-8")
    path.write_text(qt.new_catalog(defn, language, source), encoding="utf-8")
    click.echo(f"created {path}: translate it, then have a qualified translator review it")


def update_pages(po_text: str, pot_text: str) -> str:
    """A pages catalog merged with a new template, its header (and review status) kept
    (pybabel update would drop the X-Reviewed fields)."""
    from babel.messages.pofile import write_po

    catalog = read_po(io.StringIO(po_text))
    catalog.update(read_po(io.StringIO(pot_text)), update_header_comment=False)
    out = io.BytesIO()
    write_po(out, catalog, omit_header=True, include_previous=True, width=88)
    header = header_only(po_text)
    return header.rstrip("\n") + "\n\n" + out.getvalue().decode("utf-8").strip("\n") + "\n"


def check_catalogs(defn: Definition) -> list[Problem]:
    """Report each catalog of `defn` (printed), and return what must be refused: a catalog
    that cannot be read, or a translation that changes a phone or emergency number.

    A stale translation is reported, naming the question, and not refused: patients read
    that text in the clinic's language until it is translated again.
    """
    directory = Path(current_app.config.get("TRANSLATIONS_PATH", DEFAULTS["TRANSLATIONS_PATH"]))
    problems: list[Problem] = []
    for path in sorted((directory / "questionnaires" / defn.questionnaire.id).glob("*.po")):
        try:
            catalog = qt.read_catalog(path)
        except QuestionnaireError as exc:
            problems += [Problem(p.path, f"{path.name}: {p.message}") for p in exc.problems]
            continue
        counts = qt.counts(defn, catalog, phones())
        status = f"reviewed by {catalog.reviewed_by}" if catalog.reviewed else "NOT reviewed: never offered to patients"
        click.echo(
            f"Translation {catalog.language}: {counts.translated} translated, {counts.stale} out of date,"
            f" {counts.missing} missing, {counts.refused} refused; {status}."
        )
        for line in qt.stale_report(defn, catalog):
            click.echo(f"  {line}", err=True)
        problems += qt.number_problems(defn, catalog, phones())
    for path in sorted((directory / "pages").glob("*/LC_MESSAGES/messages.po")):
        try:
            pages = compile_pages(path, path.parent.parent.name.replace("_", "-"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            problems.append(Problem((), f"{path}: cannot be read: {exc}"))
            continue
        problems += [Problem((), f"{refused}: a patient could call the wrong number") for refused in pages.refused]
    return problems
