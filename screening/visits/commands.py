"""`flask --app screening visits add ...` and `visits import FILE.csv`: visits from the command line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
from flask.cli import AppGroup, with_appcontext

from .. import audit, clinic, clock, db
from . import csvimport, links, records
from .app import NewVisit, add_visit, issue_link, link_url, signing_keys

visits_group = AppGroup("visits", help="Patients' visits and their personal links.")


@visits_group.command("add")
@click.option("--given", "given_name", required=True, help="The patient's given (first) name.")
@click.option("--family", "family_name", required=True, help="The patient's family name (surname).")
@click.option("--dob", "birth_date", required=True, help="Date of birth, YYYY-MM-DD.")
@click.option("--at", "starts_at", required=True, help="Date and time in the clinic's time zone: YYYY-MM-DD HH:MM.")
@click.option("--clinician", default="", help="Who sees the patient.")
@click.option("--treatment", default="", help="The treatment (default acupuncture).")
@click.option("--kind", default="", help="first or later (default: first unless the patient has an earlier visit).")
@click.option("--ref", "clinic_ref", default="", help="The clinic's own reference for the patient.")
@click.option("--external-id", default="", help="The booking's id in a practice-management system.")
@click.option("--phone", default="")
@click.option("--email", default="")
@click.option("--lang", "language", default="", help="Preferred language, for example en or cy.")
@with_appcontext
def add_command(**fields: str) -> None:
    """Add a visit (and the patient, if new) and print its personal link."""
    result = add_visit(fields, how="command", actor="command line")
    if not isinstance(result, NewVisit):
        for name, message in result.items():
            click.echo(f"Error: --{_option(name)}: {records.LABELS.get(name, name)} {message}", err=True)
        raise SystemExit(1)
    visit = result.visit
    when = clinic.local(visit.starts_at).strftime("%Y-%m-%d %H:%M %Z")
    click.echo(f"Visit {visit.id} ({visit.kind} session) on {when}{'' if result.created else ' (updated)'}.")
    if result.url and result.expires_at:
        until = clinic.local(result.expires_at).strftime("%Y-%m-%d %H:%M")
        click.echo(f"Link (send it to the patient; it works until {until}):")
        click.echo(result.url)


def _option(field: str) -> str:
    """The option a field is typed with."""
    names = {"given_name": "given", "family_name": "family", "birth_date": "dob", "starts_at": "at"}
    names |= {"clinic_ref": "ref", "language": "lang"}
    return names.get(field, field.replace("_", "-"))


@visits_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--links/--no-links", "with_links", default=True, help="Print a personal link for each new visit.")
@with_appcontext
def import_command(path: Path, with_links: bool) -> None:
    """Add every visit in a CSV file, or none if any row is wrong (each problem is named)."""
    text = csvimport.decode(path.read_bytes())
    if text is None:
        click.echo(f"Error: {path.name}: not UTF-8 text. Save it from your spreadsheet as CSV UTF-8.", err=True)
        raise SystemExit(1)
    with db.get_db().transaction() as s:
        checked = csvimport.check_text(text, clinic.zone(), clinic.today(), s)
        if checked.problems:
            s.rollback()
        else:
            added = csvimport.add_all(s, checked)
            made = []
            for each in added:
                if with_links and each.created:
                    expires = links.default_expiry(each.visit.starts_at, clinic.zone(), _now())
                    issued = links.issue(s, each.visit, signing_keys(), _now(), expires)
                    made.append((each.visit.id, link_url(issued.token)))
            audit.record(
                s, "visits_imported", actor="command line", detail={"rows": len(added), "file": path.name[:100]}
            )
    if checked.problems:
        click.echo(f"Error: {path.name} was not imported: nothing was added. Fix these and try again:", err=True)
        for problem in checked.problems:
            click.echo(f"  {problem}", err=True)
        raise SystemExit(1)
    click.echo(f"Imported {len(added)} visits from {path.name}.")
    for visit_id, url in made:
        click.echo(f"{visit_id}\t{url}")


def _now() -> dt.datetime:
    """The one clock."""
    return clock.now()


@visits_group.command("link")
@click.argument("visit_id", type=int)
@with_appcontext
def link_command(visit_id: int) -> None:
    """Issue a new personal link for a visit (the old one stops working)."""
    result = issue_link(visit_id, how="command", actor="command line")
    if result is None:
        click.echo(f"Error: there is no visit {visit_id}.", err=True)
        raise SystemExit(1)
    click.echo(result[0])
