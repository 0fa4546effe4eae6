"""Configuration: defaults here; `instance/config.py` and SCREENING_* variables override.

Environment variables are read with Flask's prefixed-env loader, so
`SCREENING_DATABASE_URL=postgresql+psycopg://...` sets `DATABASE_URL` and
`SCREENING_DRAFT_LIFETIME_HOURS=48` sets a number. Every setting the app reads is in
`Defaults`; `finalize` then works out the ones that follow from others.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import time
from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent


class Defaults:
    """Settings every deployment starts from."""

    # None: read or create instance/secret_key (never a fixed key outside tests).
    SECRET_KEY: str | None = None
    # Key rotation: the retired keys, still accepted on what was signed with them (a
    # patient's session and draft, CSRF tokens, known-device cookies) but never used to
    # sign. A list, or a string of keys separated by spaces (SCREENING_SECRET_KEY_FALLBACKS);
    # instance/secret_key_fallbacks, one key a line, adds to it. See docs/security.md.
    SECRET_KEY_FALLBACKS: tuple[str, ...] = ()
    # None: SQLite at instance/screening.db.
    DATABASE_URL: str | None = None
    QUESTIONS_PATH = str(ROOT / "questions.yaml")
    # The clinic's other questionnaires (follow-up, aftercare, ...), one file each; None:
    # the `questionnaires` folder beside QUESTIONS_PATH, when there is one.
    QUESTIONNAIRES_PATH: str | None = None
    # How long a patient's unfinished answers are kept after their last change.
    DRAFT_LIFETIME_HOURS = 24
    # After that the browser keeps the (now empty) draft's token this many days more, so a
    # patient who comes back is told the answers were deleted, not shown an empty form.
    DRAFT_EXPIRED_NOTICE_DAYS = 7
    # Expired drafts are deleted by the app itself at most this often (see review/retention.py).
    DRAFT_PURGE_MINUTES = 15
    # The clinic's details until an admin saves them on the settings page (clinic.py):
    # the name and phone default to the questionnaire's clinic block.
    CLINIC_NAME: str | None = None
    CLINIC_PHONE: str | None = None
    CLINIC_ADDRESS: str | None = None
    CLINIC_TIME_ZONE = "Europe/London"
    # The question whose answer is the patient's name in the clinicians' queue.
    PATIENT_NAME_QUESTION = "full_name"
    # Clinicians' sessions end after this long idle, and after this long in all.
    IDLE_TIMEOUT_MINUTES = 30
    ABSOLUTE_TIMEOUT_HOURS = 12
    # Submissions older than this are deleted by `flask purge` (None: keep until purged by hand).
    RETENTION_DAYS: int | None = None
    # Wrong current passwords on the change-password page (Flask-Limiter syntax).
    LOGIN_LIMIT_ACCOUNT = "5 per 15 minutes"
    # Failed sign-ins (see review/throttle.py): per account from one address or known
    # device, the first few are free, then each doubles the wait, up to a cap...
    LOGIN_FREE_FAILURES = 3
    LOGIN_MAX_DELAY_SECONDS = 900
    # ...an account is locked against unknown devices after this many in this long...
    LOGIN_LOCK_FAILURES = 50
    LOGIN_LOCK_HOURS = 24
    # ...and one address may fail this many times in this long, whichever accounts it tries.
    LOGIN_ADDRESS_FAILURES = 100
    LOGIN_ADDRESS_MINUTES = 15
    # Two-factor sign-in: admins always; everyone else too unless the clinic turns this off.
    TWO_FACTOR_FOR_EVERYONE = True
    # A password an admin gives (new account, reset) works this long, and only to choose a new one.
    TEMPORARY_PASSWORD_DAYS = 3
    # The patient's pages (see budgets.py): every post from one address, each patient's
    # posts, and forms sent from one address. A waiting room of 30 is never refused.
    INTAKE_LIMIT = "600 per minute"
    INTAKE_LIMIT_PER_PATIENT = "60 per minute"
    INTAKE_SEND_LIMIT = "60 per 10 minutes"
    # Seconds the queue's counts per outcome may be reused (the rows are always live).
    QUEUE_COUNTS_CACHE_SECONDS = 5
    # Submissions per page of the clinicians' queue, and rows per query of the CSV export.
    QUEUE_PAGE_SIZE = 50
    EXPORT_BATCH_SIZE = 1000
    # How clinicians' passwords are hashed (werkzeug's method string). OWASP: scrypt with
    # N=2^15, r=8, p=3 (32 MiB, and three times the work of p=1). Tests use a cheap one.
    PASSWORD_METHOD = "scrypt:32768:8:3"  # noqa: S105 - a hashing method, not a password
    # Where rate-limit counters live. None: the app's own database (shared by every
    # worker, see finalize); "memory://" counts per process; "redis://host:6379" also works.
    RATELIMIT_STORAGE_URI: str | None = None
    # Seconds a writer waits for SQLite's lock before giving up.
    SQLITE_BUSY_TIMEOUT = 30
    # CSRF tokens expire after an hour; an expired one never costs the patient answers.
    WTF_CSRF_TIME_LIMIT = 3600
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_NAME = "screening_session"
    MAX_CONTENT_LENGTH = 256 * 1024  # the longest questionnaire page is a few kB
    # Production (`make serve` sets it): Secure, __Host- cookies (HTTPS only, or a browser's
    # own localhost), and no start with a weak SECRET_KEY or DEBUG on. See finalize.
    PRODUCTION = False
    # Behind a reverse proxy: how many proxies' X-Forwarded-* headers to trust (0: none).
    PROXY_FIX_HOPS = 0
    # Where the clinic publishes its questionnaires as FHIR: Questionnaire.url is
    # {FHIR_BASE_URL}/Questionnaire/{id}. None: the project's own canonical base.
    FHIR_BASE_URL: str | None = None
    # Visits (screening/visits/): the anonymous start page for walk-ins (False: personal
    # links only). Personal links start with PUBLIC_URL (below) when it is set; else the
    # request's own host, or http://127.0.0.1:5000 on the command line.
    OPEN_INTAKE = True

    # --- Alerts: the outbox and its relay (screening/outbox/, docs/alerts.md) ---
    # The app's public address, for the sign-in link in alerts (None: no link, the reference only).
    PUBLIC_URL: str | None = None
    # Email over SMTP. The password is read from a file (never kept in config); STARTTLS
    # is on unless turned off (a local relay on port 25 may not offer it).
    SMTP_HOST: str | None = None
    SMTP_PORT = 587
    SMTP_STARTTLS = True
    SMTP_USERNAME: str | None = None
    SMTP_PASSWORD_FILE: str | None = None
    SMTP_TIMEOUT_SECONDS = 15
    ALERT_FROM: str | None = None
    # Who is told at once of an urgent submission (and of a personal link stopped after
    # too many wrong dates of birth), and who is told if an urgent one is still not
    # reviewed after ALERT_ESCALATE_MINUTES (no escalation when empty).
    ALERT_EMAIL_TO: tuple[str, ...] = ()
    ALERT_ESCALATE_EMAIL_TO: tuple[str, ...] = ()
    ALERT_ESCALATE_MINUTES = 30
    # Webhooks (a list): [{"name": "pager", "url": "https://...", "secret": "whsec_...",
    # "events": ["submission.urgent"], "sms": false}]. "sms": true marks the clinic's own
    # SMS provider (listed as SMS on the deliveries page); the payload is the same.
    ALERT_WEBHOOKS: tuple[dict, ...] = ()
    # Webhooks to private, loopback or link-local addresses are refused unless allowed.
    ALERT_WEBHOOKS_ALLOW_PRIVATE = False
    WEBHOOK_TIMEOUT_SECONDS = 15
    # Seconds between attempts after each failure (the Standard Webhooks example), each
    # varied by +/-10%; after the last, the message is dead. The first try is at once.
    OUTBOX_RETRY_SECONDS: tuple[int, ...] = (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
    # A message claimed by a relay that then died is tried again after this long.
    OUTBOX_LOCK_SECONDS = 120
    OUTBOX_BATCH_SIZE = 20
    OUTBOX_INTERVAL_SECONDS = 5.0

    # --- Patient reminders and the aftercare check (screening/outbox/schedule.py) ---
    # Which channels reach patients: "email" (needs SMTP_HOST and ALERT_FROM, and the
    # patient's email) and "sms" (a webhook with "sms": true whose "events" list
    # "visit.reminder" / "visit.aftercare", and the patient's phone). () turns them off.
    PATIENT_CHANNELS: tuple[str, ...] = ("email", "sms")
    # A reminder this many hours before a visit whose screening is not sent, and a last
    # one at REMINDER_MORNING_HOUR (clinic time) on the day of the visit.
    REMINDER_HOURS_BEFORE = 48
    REMINDER_MORNING_HOUR = 8
    # The aftercare check: the day after a visit at this hour (clinic time), and again
    # AFTERCARE_RECHECK_DAYS after the visit when the patient was still sore.
    AFTERCARE_HOUR = 10
    AFTERCARE_RECHECK_DAYS = 2


def finalize(app: Flask) -> None:
    """Work out the settings that follow from others, once every source has been read."""
    config = app.config
    if not config["SECRET_KEY"]:
        config["SECRET_KEY"] = secret_key_from_instance(app.instance_path)
    config["SECRET_KEY_FALLBACKS"] = secret_key_fallbacks(app)
    if not config["DATABASE_URL"]:
        config["DATABASE_URL"] = f"sqlite:///{Path(app.instance_path) / 'screening.db'}"
    if not config["RATELIMIT_STORAGE_URI"]:
        # Counters in the app's own database, which every worker shares (see ratelimit).
        config["RATELIMIT_STORAGE_URI"] = "sql+" + config["DATABASE_URL"]
    if config["PRODUCTION"]:
        refuse_unsafe_production(app)
        config["SESSION_COOKIE_SECURE"] = True
        # __Host-: only this exact host may set or read it, over HTTPS, for the whole site.
        if not config["SESSION_COOKIE_NAME"].startswith("__Host-"):
            config["SESSION_COOKIE_NAME"] = "__Host-" + config["SESSION_COOKIE_NAME"]
        config["SESSION_COOKIE_DOMAIN"] = None
        config["SESSION_COOKIE_PATH"] = "/"
    # The cookie that holds a patient's draft token lives as long as the draft, and a
    # few days more to say that the draft has gone (see drafts.current_draft).
    app.permanent_session_lifetime = dt.timedelta(
        hours=config["DRAFT_LIFETIME_HOURS"], days=config["DRAFT_EXPIRED_NOTICE_DAYS"]
    )


class UnsafeConfiguration(SystemExit):
    """The app refuses to start in production with this configuration."""


class BadConfiguration(SystemExit):
    """The app refuses to start: a setting is malformed (the message says which, and how)."""


MIN_SECRET_KEY_LENGTH = 32


def refuse_unsafe_production(app: Flask) -> None:
    """In production: no debugger (it runs any code a visitor sends), and a long random SECRET_KEY."""
    config = app.config
    if config.get("DEBUG") or app.debug:
        raise UnsafeConfiguration(
            "Refusing to start: DEBUG is on in production (the debugger would let any visitor run code). "
            "Unset SCREENING_DEBUG / FLASK_DEBUG."
        )
    if weak_key(config["SECRET_KEY"]):
        raise UnsafeConfiguration(
            f"Refusing to start: SECRET_KEY is too short or too simple for production (it needs "
            f"{MIN_SECRET_KEY_LENGTH}+ random characters). Unset it to use the random key kept in "
            "instance/secret_key, or set one made with: python -c 'import secrets; print(secrets.token_hex(32))'"
        )
    # A retired key still signs in anyone who can forge with it.
    if any(weak_key(key) for key in config["SECRET_KEY_FALLBACKS"]):
        raise UnsafeConfiguration(
            "Refusing to start: a key in SECRET_KEY_FALLBACKS is too short or too simple for production "
            f"(each needs {MIN_SECRET_KEY_LENGTH}+ random characters): remove it."
        )


def weak_key(key: str | bytes) -> bool:
    """Too short or too repetitive to be a random key."""
    text = key.decode("latin-1") if isinstance(key, bytes) else str(key)
    return len(text) < MIN_SECRET_KEY_LENGTH or len(set(text)) < 10


def secret_key_fallbacks(app: Flask) -> list[str | bytes]:
    """SECRET_KEY_FALLBACKS as a list (a string holds keys separated by spaces), then the
    keys in instance/secret_key_fallbacks (one a line; blank lines and # comments skipped)."""
    given = app.config.get("SECRET_KEY_FALLBACKS") or []
    keys: list[str | bytes] = list(given.split()) if isinstance(given, str) else list(given)
    path = Path(app.instance_path) / "secret_key_fallbacks"
    if path.exists():
        lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
        keys += [line for line in lines if line and not line.startswith("#")]
    return [key for key in keys if key and key != app.config["SECRET_KEY"]]


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
