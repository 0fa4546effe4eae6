"""Configuration: defaults here; `instance/config.py` and SCREENING_* variables override.

Environment variables are read with Flask's prefixed-env loader, so
`SCREENING_DATABASE_URL=postgresql+psycopg://...` sets `DATABASE_URL` and
`SCREENING_DRAFT_LIFETIME_HOURS=48` sets a number.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class Defaults:
    """Settings every deployment starts from."""

    # None: read or create instance/secret_key (never a fixed key outside tests).
    SECRET_KEY: str | None = None
    # None: SQLite at instance/screening.db.
    DATABASE_URL: str | None = None
    QUESTIONS_PATH = str(ROOT / "questions.yaml")
    # How long a patient's unfinished answers are kept after their last change.
    DRAFT_LIFETIME_HOURS = 24
    # The question whose answer is the patient's name in the clinicians' queue.
    PATIENT_NAME_QUESTION = "full_name"
    # Clinicians' sessions end after this long idle, and after this long in all.
    IDLE_TIMEOUT_MINUTES = 30
    ABSOLUTE_TIMEOUT_HOURS = 12
    # Submissions older than this are deleted by `flask purge` (None: keep until purged by hand).
    RETENTION_DAYS: int | None = None
    # Sign-in attempts: per account and per address (Flask-Limiter syntax).
    LOGIN_LIMIT_ACCOUNT = "5 per 15 minutes"
    LOGIN_LIMIT_ADDRESS = "30 per 15 minutes"
    INTAKE_LIMIT = "120 per minute"
    # Seconds the queue's counts per outcome may be reused (the rows are always live).
    QUEUE_COUNTS_CACHE_SECONDS = 5
    # Where rate-limit counters live. None: the app's own database (shared by every
    # worker); "memory://" counts per process; "redis://host:6379" also works.
    RATELIMIT_STORAGE_URI: str | None = None
    # Seconds a writer waits for SQLite's lock before giving up.
    SQLITE_BUSY_TIMEOUT = 30
    # CSRF tokens expire after an hour; an expired one never costs the patient answers.
    WTF_CSRF_TIME_LIMIT = 3600
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_NAME = "screening_session"
    MAX_CONTENT_LENGTH = 256 * 1024  # the longest questionnaire page is a few kB
    # Production: Secure cookies (HTTPS only). Set SCREENING_PRODUCTION=true behind HTTPS.
    PRODUCTION = False
    # Behind a reverse proxy: how many proxies' X-Forwarded-* headers to trust (0: none).
    PROXY_FIX_HOPS = 0


def secret_key_from_instance(instance_path: str) -> str:
    """The key in instance/secret_key, created (random, owner-only) on first run.

    Created with O_EXCL so that several workers starting at once agree on one key.
    """
    path = Path(instance_path) / "secret_key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # another process may be writing it right now
            key = path.read_text().strip()
            if key:
                return key
            time.sleep(0.02)
        raise RuntimeError(f"{path} is empty: delete it to make a new key") from None
    key = secrets.token_hex(32)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key
