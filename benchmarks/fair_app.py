"""The fair bare stack: what a careful developer would build without this app.

The yardstick for patient throughput. The minimal stack (baseline_app.py) stores one
row per POST and validates nothing; a clinic comparing this app with "a form written
by hand" would write more than that. This one has, per request, what such a form
needs and nothing of this app's own:

- Flask + Flask-WTF forms with the same field types, choices and counts per page as
  questions.yaml, validated on the server (required answers, choices, ranges, lengths);
- CSRF through Flask-WTF, kept in Flask's signed session cookie;
- a draft row per patient, read on every page and updated on every valid POST, in one
  write transaction (SQLite: WAL, synchronous=FULL, BEGIN IMMEDIATE, as the app);
- a final insert of the whole submission, deleting the draft in the same transaction;
- pages of about the same size (labels, hints, fieldsets, one error per field).

No rules, conditions, rate limits, audit or security headers: what the app does
beyond this is what the ratio measures.

    BASELINE_DATABASE_URL=sqlite:////tmp/b.db gunicorn -c python:benchmarks.fair_conf
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

import yaml
from flask import Flask, abort, redirect, render_template, session
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    Field,
    IntegerField,
    RadioField,
    SelectMultipleField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms import validators as v
from wtforms.widgets import CheckboxInput, ListWidget

from .baseline_app import REGIONS, ROOT, Store

DRAFTS = "fair_drafts"
SUBMISSIONS = "fair_submissions"


class MultiCheckbox(SelectMultipleField):
    """Ticked boxes (multi_choice, body_map)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def make_field(q: dict[str, Any]) -> Field:
    """The WTForms field a question of this type needs, with its server-side checks."""
    kind = q["type"]
    # A question shown only after another answer is optional here: this stack has no
    # conditions (checking them is part of what the app does beyond it).
    required = q.get("required", True) and "show_if" not in q
    need = [v.InputRequired(message="Answer this question")] if required else [v.Optional()]
    label, hint = q["text"], q.get("hint") or ""
    kw: dict[str, Any] = {"label": label, "description": hint}
    if kind == "yes_no":
        return RadioField(choices=[("yes", "Yes"), ("no", "No")], validators=need, **kw)
    if kind == "single_choice":
        return RadioField(choices=[(o["value"], o["label"]) for o in q["options"]], validators=need, **kw)
    if kind == "multi_choice":
        return MultiCheckbox(choices=[(o["value"], o["label"]) for o in q["options"]], validators=need, **kw)
    if kind == "body_map":
        return MultiCheckbox(choices=[(r.code, r.label) for r in REGIONS], validators=need, **kw)
    if kind == "scale":
        low, high = q.get("min", 0), q.get("max", 10)
        return RadioField(choices=[(str(n), str(n)) for n in range(low, high + 1)], validators=need, **kw)
    if kind == "number":
        return IntegerField(validators=[*need, v.NumberRange(q.get("min"), q.get("max"))], **kw)
    if kind == "date":
        return DateField(validators=need, **kw)
    if kind == "email":
        return EmailField(validators=[*need, v.Length(max=254), v.Regexp(r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$")], **kw)
    if kind == "phone":
        return TelField(validators=[*need, v.Length(max=30), v.Regexp(r"^[0-9 +()-]*$")], **kw)
    if kind == "consent":
        return BooleanField(validators=[v.InputRequired()] if required else [], **kw)
    if kind == "textarea":
        return TextAreaField(validators=[*need, v.Length(max=q.get("max_length", 2000))], **kw)
    return StringField(validators=[*need, v.Length(max=q.get("max_length", 200))], **kw)


def form_classes(path: Path) -> tuple[list[dict[str, Any]], dict[str, type[FlaskForm]]]:
    """Each page's title and intro, and a FlaskForm class with one field per question."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    pages = [{"id": s["id"], "title": s["title"], "intro": s.get("intro")} for s in data["sections"]]
    classes = {
        s["id"]: type(f"Page_{s['id']}", (FlaskForm,), {q["id"]: make_field(q) for q in s["questions"]})
        for s in data["sections"]
    }
    return pages, classes


class DraftStore(Store):
    """The minimal stack's connection handling, with a draft table and a submission table."""

    def create(self) -> None:
        """Both tables (kept apart from the app's)."""
        conn = self.connect()
        json_type, serial = ("TEXT", "INTEGER PRIMARY KEY") if self.sqlite else ("JSONB", "BIGSERIAL PRIMARY KEY")
        conn.execute(f"CREATE TABLE IF NOT EXISTS {DRAFTS} (patient TEXT PRIMARY KEY, data {json_type} NOT NULL)")
        columns = f"id {serial}, reference TEXT NOT NULL, data {json_type} NOT NULL"
        conn.execute(f"CREATE TABLE IF NOT EXISTS {SUBMISSIONS} ({columns})")

    @property
    def sqlite(self) -> bool:
        """Whether this is the embedded database."""
        return self.url.startswith("sqlite")

    def _q(self, sql: str) -> str:
        """The driver's parameter style."""
        return sql if self.sqlite else sql.replace("?", "%s")

    def draft(self, patient: str) -> dict[str, Any]:
        """The patient's saved answers (a read, outside any write transaction)."""
        row = self.connect().execute(self._q(f"SELECT data FROM {DRAFTS} WHERE patient = ?"), (patient,)).fetchone()
        if not row:
            return {}
        return json.loads(row[0]) if isinstance(row[0], str) else row[0]

    def _write(self, work) -> Any:
        """One write transaction (BEGIN IMMEDIATE on SQLite)."""
        conn = self.connect()
        if self.sqlite:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = work(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return result
        with conn.transaction():
            return work(conn)

    def save(self, patient: str, answers: dict[str, Any]) -> None:
        """Read the draft, merge this page's answers, write it back, in one transaction."""

        def work(conn: Any) -> None:
            row = conn.execute(self._q(f"SELECT data FROM {DRAFTS} WHERE patient = ?"), (patient,)).fetchone()
            data = (json.loads(row[0]) if isinstance(row[0], str) else row[0]) if row else {}
            data.update(answers)
            conn.execute(
                self._q(
                    f"INSERT INTO {DRAFTS} (patient, data) VALUES (?, ?) "
                    "ON CONFLICT (patient) DO UPDATE SET data = excluded.data"
                ),
                (patient, json.dumps(data)),
            )

        self._write(work)

    def submit(self, patient: str, reference: str) -> bool:
        """Move the draft into a submission row; False when there is no draft."""

        def work(conn: Any) -> bool:
            row = conn.execute(self._q(f"SELECT data FROM {DRAFTS} WHERE patient = ?"), (patient,)).fetchone()
            if not row:
                return False
            body = row[0] if isinstance(row[0], str) else json.dumps(row[0])
            conn.execute(self._q(f"INSERT INTO {SUBMISSIONS} (reference, data) VALUES (?, ?)"), (reference, body))
            conn.execute(self._q(f"DELETE FROM {DRAFTS} WHERE patient = ?"), (patient,))
            return True

        return self._write(work)


def plain(value: Any) -> Any:
    """A form value as JSON can hold it."""
    return value.isoformat() if hasattr(value, "isoformat") else value


def create_app() -> Flask:
    """The fair bare app on BASELINE_DATABASE_URL (default: SQLite in the instance folder)."""
    app = Flask(__name__, static_folder=str(ROOT / "screening" / "static"), template_folder="templates")
    app.secret_key = os.environ.get("BASELINE_SECRET_KEY", "baseline")
    app.config["WTF_CSRF_TIME_LIMIT"] = 3600
    url = os.environ.get("BASELINE_DATABASE_URL") or f"sqlite:///{ROOT / 'instance' / 'baseline.db'}"
    store = DraftStore(url)
    store.create()
    store.close()  # each worker opens its own after the fork
    pages, classes = form_classes(Path(os.environ.get("SCREENING_QUESTIONS_PATH") or ROOT / "questions.yaml"))
    order = [p["id"] for p in pages]
    by_id = {p["id"]: p for p in pages}

    def patient() -> str:
        """This browser's patient id, made on first use."""
        if "patient" not in session:
            session["patient"] = secrets.token_urlsafe(16)
        return session["patient"]

    @app.get("/")
    def start() -> str:
        """The start page."""
        return render_template("fair.html", title="Before your session", start=f"/intake/{order[0]}")

    @app.route("/intake/<section_id>", methods=["GET", "POST"])
    def section(section_id: str) -> Any:
        """One page of questions, filled in from the draft; a valid POST updates the draft."""
        page = by_id.get(section_id) or abort(404)
        draft = store.draft(patient())
        form = classes[section_id](data=draft)
        if form.is_submitted() and form.validate():
            answers = {f.name: plain(f.data) for f in form if f.name != "csrf_token"}
            store.save(patient(), answers)
            later = order[order.index(section_id) + 1 :]
            return redirect(f"/intake/{later[0]}" if later else "/intake/check", 302)
        return render_template("fair.html", title=page["title"], intro=page["intro"], form=form, button="Continue")

    @app.get("/intake/check")
    def check() -> str:
        """Check your answers: every saved answer, and Send."""
        draft = store.draft(patient())
        form = FlaskForm()
        return render_template("fair.html", title="Check your answers", lines=sorted(draft.items()), form=form)

    @app.post("/intake/submit")
    def submit() -> Any:
        """Store the submission, then show the outcome."""
        if not FlaskForm().validate_on_submit():
            abort(400)
        reference = secrets.token_hex(6).upper()
        if not store.submit(patient(), reference):
            return redirect(f"/intake/{order[0]}", 303)
        session["reference"] = reference
        return redirect("/intake/done", 303)

    @app.get("/intake/done")
    def done() -> str:
        """The outcome page with the reference."""
        return render_template("fair.html", title="Thank you", reference=session.get("reference"))

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        """Up."""
        return {"status": "ok"}

    return app
