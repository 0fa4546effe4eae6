"""The bare stack: Flask + Jinja + one INSERT per POST, nothing else.

The yardstick for the patient-throughput benchmark. It serves the same URLs as the
patient's pages of the real app (start, one page per section of questions.yaml, check,
submit, done), each rendering a form with the same questions and choices from a Jinja
template, a CSRF token kept in Flask's signed session cookie, and one row stored per
POST, in the same database with the same durability (SQLite: WAL, synchronous=FULL,
BEGIN IMMEDIATE; or PostgreSQL). No validation, rules, drafts, rate limits or
security headers: what the app does beyond this is what the ratio measures.

    BASELINE_DATABASE_URL=sqlite:////tmp/b.db gunicorn -c python:benchmarks.baseline_conf
"""

from __future__ import annotations

import contextlib
import hmac
import importlib.util
import json
import os
import secrets
import sqlite3
import sys
import threading
from pathlib import Path
from typing import Any

import yaml
from flask import Flask, abort, redirect, render_template, request, session

ROOT = Path(__file__).resolve().parent.parent
TABLE = "baseline_answers"


def _body_map_regions() -> tuple:
    """The body map's regions, from screening/questionnaire/bodymap.py alone (pure data).

    Importing it as screening.bodymap would import the whole app package first, and
    the baseline would carry the app's start-up time and memory.
    """
    spec = importlib.util.spec_from_file_location(
        "baseline_bodymap", ROOT / "screening" / "questionnaire" / "bodymap.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module.REGIONS


REGIONS = _body_map_regions()


def field(q: dict[str, Any]) -> dict[str, Any]:
    """What the template needs to draw one question, from its raw YAML."""
    kind = q["type"]
    choices: list[tuple[str, str]] = []
    if kind == "yes_no":
        choices = [("yes", "Yes"), ("no", "No")]
    elif kind == "single_choice" or kind == "multi_choice":
        choices = [(o["value"], o["label"]) for o in q.get("options", [])]
    elif kind == "scale":
        choices = [(str(n), str(n)) for n in range(q.get("min", 0), q.get("max", 10) + 1)]
    elif kind == "body_map":
        choices = [(r.code, r.label) for r in REGIONS]
    elif kind == "consent":
        choices = [("y", q.get("short") or "I agree")]
    multi = kind in ("multi_choice", "body_map", "consent")
    inputs = {"date": "date", "email": "email", "phone": "tel"}
    return {
        "id": q["id"],
        "text": q["text"],
        "hint": q.get("hint"),
        "choices": choices,
        "input": "checkbox" if multi else "radio" if choices else inputs.get(kind, "text"),
    }


def sections(path: Path) -> list[dict[str, Any]]:
    """The questionnaire's pages as plain data (read straight from the YAML, no validation)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        {"id": s["id"], "title": s["title"], "intro": s.get("intro"), "fields": [field(q) for q in s["questions"]]}
        for s in data["sections"]
    ]


class Store:
    """One connection per worker process and thread, opened on first use (after gunicorn forks)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._local = threading.local()
        self.pid = 0

    @property
    def conn(self) -> Any:
        """This thread's connection (gunicorn's threaded workers serve several at once)."""
        return getattr(self._local, "conn", None)

    @conn.setter
    def conn(self, value: Any) -> None:
        self._local.conn = value

    def connect(self) -> Any:
        """This process's and thread's connection, with the same settings as the app's."""
        if self.conn is None or self.pid != os.getpid():
            self.pid = os.getpid()
            if self.url.startswith("sqlite"):
                self.conn = sqlite3.connect(self.url.removeprefix("sqlite:///"), timeout=30, isolation_level=None)
                self.conn.execute("PRAGMA journal_mode=WAL")
                self.conn.execute("PRAGMA synchronous=FULL")
            else:
                import psycopg

                self.conn = psycopg.connect(self.url.replace("+psycopg", ""), autocommit=True)
        return self.conn

    def create(self) -> None:
        """The one table (kept apart from the app's tables)."""
        conn = self.connect()
        if self.url.startswith("sqlite"):
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {TABLE} (id INTEGER PRIMARY KEY, patient TEXT NOT NULL, "
                "page TEXT NOT NULL, data TEXT NOT NULL, created_at TEXT DEFAULT CURRENT_TIMESTAMP)"
            )
        else:
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {TABLE} (id BIGSERIAL PRIMARY KEY, patient TEXT NOT NULL, "
                "page TEXT NOT NULL, data JSONB NOT NULL, created_at TIMESTAMPTZ DEFAULT now())"
            )

    def insert(self, patient: str, page: str, data: dict[str, Any]) -> None:
        """One row, in its own write transaction; reconnects once if the connection broke."""
        try:
            self._insert(patient, page, json.dumps(data))
        except (sqlite3.OperationalError, OSError, *self._driver_errors()):
            # A restarted database server leaves a dead connection (the app's pool pings
            # and reconnects; without this one failure would fail every later request).
            self.close()
            self._insert(patient, page, json.dumps(data))

    def _driver_errors(self) -> tuple[type[Exception], ...]:
        """PostgreSQL's connection errors, when that driver is in use."""
        if self.url.startswith("sqlite"):
            return ()
        import psycopg

        return (psycopg.OperationalError,)

    def close(self) -> None:
        """Drop this process's connection."""
        if self.conn is not None:
            with contextlib.suppress(Exception):  # it is being thrown away
                self.conn.close()
        self.conn = None

    def _insert(self, patient: str, page: str, body: str) -> None:
        """The INSERT itself."""
        conn = self.connect()
        if self.url.startswith("sqlite"):
            # BEGIN IMMEDIATE, as the app does: writers queue instead of failing.
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(f"INSERT INTO {TABLE} (patient, page, data) VALUES (?, ?, ?)", (patient, page, body))
            conn.execute("COMMIT")
        else:
            with conn.transaction():
                conn.execute(f"INSERT INTO {TABLE} (patient, page, data) VALUES (%s, %s, %s)", (patient, page, body))


def create_app() -> Flask:
    """The bare app on BASELINE_DATABASE_URL (default: SQLite in the instance folder)."""
    app = Flask(__name__, static_folder=str(ROOT / "screening" / "static"), template_folder="templates")
    app.secret_key = os.environ.get("BASELINE_SECRET_KEY", "baseline")
    url = os.environ.get("BASELINE_DATABASE_URL") or f"sqlite:///{ROOT / 'instance' / 'baseline.db'}"
    store = Store(url)
    store.create()
    store.conn = None  # each worker opens its own after the fork
    pages = sections(Path(os.environ.get("SCREENING_QUESTIONS_PATH") or ROOT / "questions.yaml"))
    order = [p["id"] for p in pages]
    by_id = {p["id"]: p for p in pages}

    def token() -> str:
        """The session's CSRF token (and the patient's id), made on first use."""
        if "csrf" not in session:
            session["csrf"] = secrets.token_urlsafe(32)
            session["patient"] = secrets.token_urlsafe(16)
        return session["csrf"]

    def checked() -> None:
        """Refuse a POST without the session's token."""
        sent = request.form.get("csrf_token", "")
        if not hmac.compare_digest(sent, session.get("csrf", "")):
            abort(400)

    def page(title: str, **context: Any) -> str:
        """Render the one template."""
        defaults = {
            "intro": None,
            "fields": None,
            "reference": None,
            "lines": [],
            "token": "",
            "action": "",
            "start": None,
        }
        return render_template("baseline.html", title=title, **(defaults | context))

    @app.get("/")
    def start() -> str:
        """The start page."""
        return page("Before your session", start=f"/intake/{order[0]}", lines=["What this is, and how long it takes."])

    @app.route("/intake/<section_id>", methods=["GET", "POST"])
    def section(section_id: str) -> Any:
        """One page of questions; a POST stores its answers as one row."""
        sec = by_id.get(section_id) or abort(404)
        if request.method == "GET":
            return page(sec["title"], intro=sec["intro"], fields=sec["fields"], token=token(), button="Continue")
        checked()
        data = {key: request.form.getlist(key) for key in request.form if key != "csrf_token"}
        store.insert(session["patient"], section_id, data)
        later = order[order.index(section_id) + 1 :]
        return redirect(f"/intake/{later[0]}" if later else "/intake/check", 302)

    @app.get("/intake/check")
    def check() -> str:
        """Check your answers (a list of the pages) and Send."""
        lines = [by_id[sid]["title"] for sid in order]
        return page("Check your answers", fields=[], lines=lines, token=token(), button="Send", action="/intake/submit")

    @app.post("/intake/submit")
    def submit() -> Any:
        """Store the submission row, then show the outcome."""
        checked()
        reference = secrets.token_hex(6).upper()
        store.insert(session["patient"], "submit", {"reference": reference})
        session["reference"] = reference
        return redirect("/intake/done", 303)

    @app.get("/intake/done")
    def done() -> str:
        """The outcome page with the reference."""
        return page("Thank you", reference=session.get("reference"), lines=["You are ready for your session."])

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        """Up."""
        return {"status": "ok"}

    return app
