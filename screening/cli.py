"""The `flask --app screening ...` commands."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections import Counter
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from . import audit, db, migrate, rules, seed
from .estimate import estimate
from .models import User
from .questionnaire import LEVELS, Definition, QuestionnaireError, load, safety
from .review import accounts


def init_app(app: Flask) -> None:
    """Register the commands."""
    app.cli.add_command(init_db_command)
    app.cli.add_command(check_questions_command)
    app.cli.add_command(sign_off_command)
    app.cli.add_command(evaluate_command)
    app.cli.add_command(create_user_command)
    app.cli.add_command(migrate.db_group)
    app.cli.add_command(seed.seed_command)


def current_definition() -> Definition:
    """The questionnaire the app runs."""
    return current_app.extensions["screening.questionnaire"]


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Create or upgrade the database schema (the same as `db upgrade`; safe to run again)."""
    migrate.upgrade()
    click.echo("Database ready.")


@click.command("check-questions")
@with_appcontext
@click.argument("path", required=False, type=click.Path(dir_okay=False))
def check_questions_command(path: str | None) -> None:
    """Validate a questionnaire file, run its test cases and print a summary."""
    path = path or current_app.config["QUESTIONS_PATH"]
    try:
        defn = load(path)
    except QuestionnaireError as exc:
        click.echo(exc.report(), err=True)
        raise SystemExit(1) from None
    results, _ = rules.run_cases(defn)
    problems = rules.case_problems(defn)
    click.echo(summary(defn, path))
    if problems:
        click.echo(QuestionnaireError(str(path), problems).report(), err=True)
    passed = sum(r.passed for r in results)
    click.echo(f"Test cases: {passed} of {len(results)} passed.")
    click.echo(estimate(defn).describe() + ".")
    if problems:
        raise SystemExit(1)


@click.command("sign-off")
@with_appcontext
@click.option("--by", required=True, help="Who reviewed the safety-critical text: name and role.")
@click.argument("path", required=False, type=click.Path(dir_okay=False))
def sign_off_command(by: str, path: str | None) -> None:
    """Record a clinician's sign-off of the red-flag questions, urgent flags and urgent advice.

    Run it only after a clinician has read the change: it writes who signed, today's date
    and a fingerprint of that text into the file's `safety.sign_off`.
    """
    path = path or current_app.config["QUESTIONS_PATH"]
    file = Path(path)
    try:
        text, print_ = safety.sign(
            file.read_text(encoding="utf-8"), str(file), by.strip(), dt.datetime.now(dt.UTC).date().isoformat()
        )
    except QuestionnaireError as exc:
        click.echo(exc.report(), err=True)
        raise SystemExit(1) from None
    except (OSError, UnicodeDecodeError) as exc:
        click.echo(f"{path}: cannot read the file: {exc}", err=True)
        raise SystemExit(1) from None
    file.write_text(text, encoding="utf-8")
    click.echo(f"{path}: signed off by {by.strip()} ({print_[:19]}...). Now run check-questions.")


def summary(defn: Definition, path: str) -> str:
    """Sections, questions and flags by level, in a few lines."""
    levels: Counter[str] = Counter(flag.level for _, _, flag in defn.question_flags())
    levels.update(rule.level for rule in defn.rules)
    lines = [
        f"{path}: valid questionnaire '{defn.questionnaire.id}' (version {defn.version[:12]})",
        f"Sections: {len(defn.sections)} ({', '.join(s.id for s in defn.sections)})",
        f"Questions: {len(defn.questions)}; derived values: {len(defn.derived)}; rules: {len(defn.rules)}",
        "Flags by level: " + ", ".join(f"{level} {levels[level]}" for level in LEVELS),
    ]
    return "\n".join(lines)


@click.command("evaluate")
@with_appcontext
@click.argument("answers_file", type=click.File("r"))
@click.option("--today", help="Evaluate as on this date (YYYY-MM-DD); default today.")
def evaluate_command(answers_file, today: str | None) -> None:
    """Evaluate a JSON file of answers and print the outcome and flags as JSON."""
    on = None
    if today:
        try:
            on = dt.date.fromisoformat(today)
        except ValueError:
            raise click.UsageError(f"--today {today!r} is not a date written YYYY-MM-DD") from None
    try:
        answers = json.load(answers_file)
    except json.JSONDecodeError as exc:
        click.echo(f"Error: {answers_file.name} is not valid JSON: {exc}", err=True)
        raise SystemExit(2) from None
    try:
        result = rules.evaluate_input(current_definition(), answers, on)
    except ValueError as exc:
        click.echo(f"Error: {answers_file.name}: {exc}", err=True)
        raise SystemExit(2) from None
    flags = [
        {"id": f.id, "level": f.level, "reason": f.reason, "source": f.source}
        | ({"advice": f.advice} if f.advice else {})
        for f in result.flags
    ]
    output = {"outcome": result.outcome, "flags": flags}
    if result.dropped:
        output["dropped"] = result.dropped
    click.echo(json.dumps(output, indent=2, ensure_ascii=False))


@click.command("create-user")
@click.option("--email", prompt="Email address", help="The address the person signs in with.")
@click.option("--name", prompt="Full name", help="Shown on reviews and in the audit log.")
@click.option("--role", type=click.Choice(["clinician", "admin"]), default="clinician", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts).")
@with_appcontext
def create_user_command(email: str, name: str, role: str, password_stdin: bool) -> None:
    """Create a clinician's or admin's account."""
    email = accounts.normalise_email(email)
    if "@" not in email:
        raise click.BadParameter(f"{email!r} is not an email address", param_hint="--email")
    if db.session().scalars(select(User).where(User.email == email)).first() is not None:
        raise click.ClickException(f"an account for {email} already exists")
    if password_stdin:
        # sys.stdin, not click.get_text_stream (deprecated in Click 8.5, gone in 9); CliRunner replaces it too.
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password (12 characters or more)", hide_input=True, confirmation_prompt=True)
    problem = accounts.password_problem(password, email, name)
    if problem:
        raise click.ClickException(f"password refused: {problem}")
    with db.get_db().transaction() as s:
        user = User(email=email, name=name.strip(), password_hash=accounts.hash_password(password), role=role)
        s.add(user)
        s.flush()
        audit.record(s, "account_created", target=user, actor="command line", detail={"role": role})
    accounts.finish_setup()
    click.echo(f"Created {role} account for {email}.")
