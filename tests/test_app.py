"""The app skeleton: configuration, the secret key and the SQLite settings."""

from __future__ import annotations

import os
import stat

import pytest
from sqlalchemy import text

from screening import create_app, db

from .conftest import DEFAULT, make_app


def test_a_random_secret_key_is_made_once_per_instance(tmp_path):
    """With no key configured, one is created in instance/ (owner-only) and reused."""
    config = {"QUESTIONS_PATH": DEFAULT, "DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}"}
    first = create_app(config, instance_path=str(tmp_path / "one"))
    again = create_app(config, instance_path=str(tmp_path / "one"))
    other = create_app(config, instance_path=str(tmp_path / "two"))
    key_file = tmp_path / "one" / "secret_key"
    assert first.secret_key == again.secret_key == key_file.read_text().strip()
    assert first.secret_key != other.secret_key
    assert len(first.secret_key) >= 64
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_environment_variables_override_defaults(tmp_path, monkeypatch):
    """SCREENING_* variables set configuration, typed where they look like JSON."""
    monkeypatch.setenv("SCREENING_DRAFT_LIFETIME_HOURS", "48")
    monkeypatch.setenv("SCREENING_SECRET_KEY", "from-env")
    app = create_app({"QUESTIONS_PATH": DEFAULT}, instance_path=str(tmp_path))
    assert app.config["DRAFT_LIFETIME_HOURS"] == 48
    assert app.secret_key == "from-env"
    # The draft's cookie lives as long as the draft, and the days to say it has gone.
    assert app.permanent_session_lifetime.total_seconds() == 48 * 3600 + 7 * 86400


def test_instance_config_file_overrides_defaults(tmp_path):
    """instance/config.py is read when present."""
    (tmp_path / "config.py").write_text("DRAFT_LIFETIME_HOURS = 6\nSECRET_KEY = 'file'\n")
    app = create_app({"QUESTIONS_PATH": DEFAULT}, instance_path=str(tmp_path))
    assert app.config["DRAFT_LIFETIME_HOURS"] == 6


def test_sqlite_is_the_default_in_the_instance_folder(tmp_path):
    """No database configured: SQLite at instance/screening.db."""
    app = create_app({"QUESTIONS_PATH": DEFAULT, "SECRET_KEY": "x"}, instance_path=str(tmp_path))
    assert db_url(app) == f"sqlite:///{tmp_path / 'screening.db'}"


def test_settings_that_follow_from_others(tmp_path):
    """Production makes cookies Secure; rate-limit counters live in the app's own database."""
    config = {"QUESTIONS_PATH": DEFAULT, "SECRET_KEY": STRONG_KEY, "PRODUCTION": True}
    app = create_app(config, instance_path=str(tmp_path))
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["RATELIMIT_STORAGE_URI"] == "sql+" + db_url(app)
    plain = create_app(config | {"PRODUCTION": False}, instance_path=str(tmp_path))
    assert plain.config["SESSION_COOKIE_SECURE"] is False


STRONG_KEY = "9f2c7a1e5b8d4f60a3c2e1b7d9f8a6c4d2e0b1f3"  # what production requires (test_security)


def db_url(app) -> str:
    """The database URL an app uses."""
    return app.extensions["screening.db"].url


@pytest.mark.skipif(bool(os.environ.get("TEST_DATABASE_URL")), reason="SQLite settings; this run uses PostgreSQL")
def test_sqlite_runs_in_wal_with_full_sync_and_foreign_keys(app):
    """Every connection is tuned for safe concurrent writes."""
    with app.app_context(), db.get_db().engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30_000


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="PostgreSQL settings; this run uses SQLite")
def test_postgresql_compiles_no_query_just_in_time(app):
    """JIT is off on every connection, the write ones too, and stays off after a commit:
    compiling a misestimated short query took 20 ms on Today at a million rows."""
    with app.app_context():
        with db.get_db().engine.connect() as conn:
            assert conn.execute(text("SHOW jit")).scalar() == "off"
        with db.get_db().transaction() as session:
            assert session.execute(text("SHOW jit")).scalar() == "off"
        assert db.session().execute(text("SHOW jit")).scalar() == "off"


@pytest.mark.skipif(bool(os.environ.get("TEST_DATABASE_URL")), reason="SQLite settings; this run uses PostgreSQL")
def test_write_transactions_take_the_write_lock_at_once(app):
    """A write transaction holds SQLite's lock from BEGIN, so a second writer waits."""
    import sqlite3

    path = db_url(app).removeprefix("sqlite:///")
    with app.app_context(), db.get_db().transaction() as session:
        session.execute(text("SELECT 1"))  # no write yet: only BEGIN IMMEDIATE has run
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        other.close()
    # A read session does not take the lock.
    with app.app_context():
        db.session().execute(text("SELECT 1"))
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        other.close()


@pytest.mark.parametrize(
    ("hooks", "says"),
    [
        ({"name": "pager"}, "must be a list of webhooks"),
        (
            [{"url": "https://pager.example/hook", "secret": "whsec_x", "events": ["submission.urgent"]}],
            'webhook 1: give it a "name"',
        ),
        ([{"name": "pager", "secret": "whsec_x", "events": ["submission.urgent"]}], "'pager': give it a \"url\""),
        (
            [{"name": "pager", "url": "https://pager.example/hook", "events": ["submission.urgent"]}],
            'give it a "secret"',
        ),
        ([{"name": "pager", "url": "https://pager.example/hook", "secret": "whsec_x"}], '"events" must list'),
        (
            [
                {
                    "name": "pager",
                    "url": "https://pager.example/hook",
                    "secret": "whsec_x",
                    "events": ["submission.urgnet"],
                }
            ],
            "no event is called 'submission.urgnet'; the events are submission.urgent, ",
        ),
        (
            [{"name": "pager", "url": "https://a.example/", "secret": "whsec_x", "events": ["submission.urgent"]}] * 2,
            "two webhooks have this name",
        ),
    ],
)
def test_a_malformed_webhook_setting_stops_the_start_and_says_which(tmp_path, hooks, says):
    """Found only when its event first fired, a bad webhook would fail that event's
    transaction (an urgent submission) or never fire (a misspelt event)."""
    from screening.config import BadConfiguration

    with pytest.raises(BadConfiguration) as refused:
        make_app(tmp_path, ALERT_WEBHOOKS=hooks)
    assert says in str(refused.value)
