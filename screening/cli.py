"""The `flask --app screening ...` commands."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections import Counter
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, FlaskGroup, ScriptInfo, run_command, with_appcontext
from flask.helpers import get_debug_flag
from sqlalchemy import select
from werkzeug.serving import is_running_from_reloader

from . import audit, clock, db, embedded_cases, migrate, rules, seed, versions
from .estimate import estimate
from .fhir import commands as fhir_commands
from .i18n import commands as i18n_commands
from .models import User
from .outbox.commands import outbox_group
from .questionnaire import LEVELS, Definition, Problem, QuestionnaireError, load, safety
from .review import accounts
from .versions import current_definition
from .visits import commands as visits_commands

# Commands that check a questionnaire file themselves, and so must run on a broken one.
WITHOUT_QUESTIONNAIRE = {"check-questions", "sign-off"}


class Commands(AppGroup):
    """The app's commands. Each one runs on a checked questionnaire, as the served app
    does, except those in WITHOUT_QUESTIONNAIRE."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command, once the questionnaire it needs is loaded."""
        command = super().get_command(ctx, cmd_name)
        if command is not None and cmd_name not in WITHOUT_QUESTIONNAIRE:
            versions.load_current(ctx.ensure_object(ScriptInfo).load_app())
        return command


def finding_a_command() -> bool:
    """Whether `flask` is building the app to find one of the app's commands by name.

    It builds the app before it knows which command will run (the name may be one of
    the app's); other commands (`run`, `shell`, `routes`) build it once they run.
    """
    ctx = click.get_current_context(silent=True)
    return ctx is not None and isinstance(ctx.command, FlaskGroup)


def init_app(app: Flask) -> None:
    """Register the commands; under `flask run`, print the first-run setup link."""
    app.cli = Commands(app.name)
    app.cli.add_command(init_db_command)
    app.cli.add_command(check_questions_command)
    app.cli.add_command(sign_off_command)
    app.cli.add_command(evaluate_command)
    app.cli.add_command(create_user_command)
    app.cli.add_command(migrate.db_group)
    app.cli.add_command(seed.seed_command)
    app.cli.add_command(fhir_commands.fhir_group)
    app.cli.add_command(visits_commands.visits_group)
    app.cli.add_command(outbox_group)
    url = development_server_url()
    if url:
        announce_setup(app, url)


def development_server_url() -> str | None:
    """Where `flask run` will serve, when it is building the app (in the process that serves)."""
    ctx = click.get_current_context(silent=True)
    if ctx is None or ctx.command is not run_command:
        return None
    reload = ctx.params.get("reload")
    if (get_debug_flag() if reload is None else reload) and not is_running_from_reloader():
        return None  # the reloader's watcher: the process it starts serves, and says so
    host, port = ctx.params["host"], ctx.params["port"]
    scheme = "https" if ctx.params.get("cert") else "http"
    return f"{scheme}://{f'[{host}]' if ':' in host else host}:{port}"


def announce_setup(app: Flask, base_url: str) -> None:
    """On a first run with no accounts, print the one-time link that creates the first admin."""
    if app.testing:
        return
    try:
        with app.app_context():
            users = accounts.count_users()
    except Exception:  # no database yet (not migrated): `db upgrade` comes first
        return
    if users == 0:
        token = accounts.setup_token(app.instance_path)
        print(
            "\nNo accounts exist yet. Create the first admin account at:\n"
            f"    {base_url}/setup?token={token}\n(or run: flask --app screening create-user --role admin)\n",
            flush=True,
        )


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
    """Validate the questionnaires (or one file), run their test cases and print a summary of each."""
    config = current_app.config
    folder = config["QUESTIONNAIRES_PATH"]
    paths = [Path(path)] if path else versions.questionnaire_files(config["QUESTIONS_PATH"], folder)
    loaded: dict[Path, Definition] = {}
    ids: dict[str, str] = {}
    failed = [p for i, p in enumerate(paths) if not check_one(p, loaded, ids, first=i == 0)]
    if len(paths) > 1:
        valid = len(paths) - len(failed)
        click.echo(f"\n{len(paths)} questionnaires checked: {valid} valid, {len(failed)} with problems.")
    if failed:
        raise SystemExit(1)


def check_one(path: Path, loaded: dict[Path, Definition], ids: dict[str, str], first: bool = False) -> bool:
    """Check one questionnaire file and print its summary and problems; whether it is valid."""
    if not first:
        click.echo("")
    try:
        defn = load(path, loaded)
    except QuestionnaireError as exc:
        click.echo(exc.report(), err=True)
        return False
    loaded.setdefault(path.resolve(), defn)
    results, _ = embedded_cases.run_cases(defn)
    problems = embedded_cases.case_problems(defn) + i18n_commands.check_catalogs(defn)
    qid = defn.questionnaire.id
    if qid in ids:
        where = ("questionnaire", "id")
        message = f"questionnaire id '{qid}' is also the id of {ids[qid]}: each needs its own"
        problems.append(Problem(where, message, defn.line_of(where)))
    ids.setdefault(qid, str(path))
    click.echo(summary(defn, str(path)))
    if problems:
        click.echo(QuestionnaireError(str(path), problems).report(), err=True)
    passed = sum(r.passed for r in results)
    click.echo(f"Test cases: {passed} of {len(results)} passed.")
    click.echo(estimate(defn).describe() + ".")
    return not problems


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
            file.read_text(encoding="utf-8"), str(file), by.strip(), clock.today().isoformat(), base=file.parent
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


def parse_today(today: str | None) -> dt.date | None:
    """The `--today` option as a date (None: today), or a usage error naming it."""
    if not today:
        return None
    try:
        return dt.date.fromisoformat(today)
    except ValueError:
        raise click.UsageError(f"--today {today!r} is not a date written YYYY-MM-DD") from None


@click.command("evaluate")
@with_appcontext
@click.argument("answers_file", type=click.File("r"))
@click.option("--today", help="Evaluate as on this date (YYYY-MM-DD); default today.")
@click.option(
    "--questionnaire",
    "questionnaire_id",
    help="The questionnaire's id (default: the first-visit one). For one that builds on the first"
    " visit, answers to first-visit questions in the file are the patient's first-visit answers.",
)
def evaluate_command(answers_file, today: str | None, questionnaire_id: str | None) -> None:
    """Evaluate a JSON file of answers and print the outcome and flags as JSON."""
    on = parse_today(today)
    try:
        defn = versions.definition(questionnaire_id) if questionnaire_id else current_definition()
    except LookupError as exc:
        raise click.UsageError(f"--questionnaire: {exc}") from None
    try:
        answers = json.load(answers_file)
    except json.JSONDecodeError as exc:
        click.echo(f"Error: {answers_file.name} is not valid JSON: {exc}", err=True)
        raise SystemExit(2) from None
    try:
        result = rules.evaluate_input(defn, answers, on)
    except ValueError as exc:
        click.echo(f"Error: {answers_file.name}: {exc}", err=True)
        raise SystemExit(2) from None
    click.echo(json.dumps(evaluation_output(result), indent=2, ensure_ascii=False))


def evaluation_output(result: rules.Evaluation) -> dict:
    """What `evaluate` prints (and `fhir import-response`): the outcome, flags, dropped answers."""
    flags = [
        {"id": f.id, "level": f.level, "reason": f.reason, "source": f.source}
        | ({"advice": f.advice} if f.advice else {})
        for f in result.flags
    ]
    output: dict = {"outcome": result.outcome, "flags": flags}
    if result.dropped:
        output["dropped"] = result.dropped
    return output


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
