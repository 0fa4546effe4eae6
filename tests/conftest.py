"""Fixtures: an app on a real database (SQLite in a temp dir, or TEST_DATABASE_URL)."""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from screening import create_app, db, embedded_cases, migrate
from screening.models import Base
from screening.questionnaire import Definition, QuestionnaireError, loads

ROOT = Path(__file__).resolve().parent.parent
SMALL = str(ROOT / "tests" / "data" / "small.yaml")
DEFAULT = str(ROOT / "questions.yaml")


def pytest_report_header(config) -> str:
    """Say which database this run uses."""
    url = os.environ.get("TEST_DATABASE_URL")
    return f"database: {url.split('@')[-1] if url else 'SQLite files in temporary folders'}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the browser tests (they use the browser fixture) and the fuzz tests (Hypothesis),
    so that `make test-fast` can leave them out with the slow ones."""
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)
        if getattr(getattr(item, "obj", None), "is_hypothesis_test", False):
            item.add_marker(pytest.mark.fuzz)


def database_url(tmp_path: Path) -> str:
    """PostgreSQL when TEST_DATABASE_URL is set, else a fresh SQLite file."""
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'test.db'}"


# Production's scrypt takes a tenth of a second a hash: tests hash with a cheap method
# (test_auth checks the production one).
CHEAP_PASSWORD_METHOD = "pbkdf2:sha256:1000"

_APPS: list = []


@pytest.fixture(autouse=True)
def _dispose_engines():
    """Close every app's database connections after each test (PostgreSQL counts them)."""
    yield
    while _APPS:
        _APPS.pop().extensions["screening.db"].engine.dispose()


def make_app(tmp_path: Path, **config):
    """An app with its own instance folder and an empty database, migrated to the newest schema."""
    url = config.pop("DATABASE_URL", None) or database_url(tmp_path)
    settings: dict[str, Any] = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "DATABASE_URL": url,
        "QUESTIONS_PATH": DEFAULT,
        "RATELIMIT_STORAGE_URI": "memory://",  # test_security checks the database store
        "QUEUE_COUNTS_CACHE_SECONDS": 0,  # tests change rows between views; test_review_queue checks the cache
        "PASSWORD_METHOD": CHEAP_PASSWORD_METHOD,
    }
    settings.update(config)
    prepare_database(url)
    app = create_app(settings, instance_path=str(tmp_path / "instance"), definition=checked(settings["QUESTIONS_PATH"]))
    _APPS.append(app)
    return app


def checked(path: str) -> Definition:
    """A questionnaire file loaded and its cases run (as create_app would), once per test run
    and content: parsing the default file and running its cases is most of an app's build."""
    return _checked(path, Path(path).read_text(encoding="utf-8"))


@functools.cache
def _checked(path: str, text: str) -> Definition:
    """checked(), for one content of the file."""
    definition = loads(text, source=path)
    problems = embedded_cases.case_problems(definition)
    if problems:
        raise QuestionnaireError(path, problems)
    return definition


_MIGRATED: dict[str, Path] = {}


def prepare_database(url: str) -> None:
    """Give `url` the migrated schema and no rows.

    Migrations run once per test run: a SQLite test database is a copy of a migrated
    template file, and on PostgreSQL the tables are emptied between tests.
    """
    if url.startswith("postgresql"):
        engine = create_engine(url)
        with engine.begin() as conn:
            if url not in _MIGRATED:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        if url not in _MIGRATED:
            _migrate(url)
            _MIGRATED[url] = Path()
        tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        engine.dispose()
        return
    target = Path(url.removeprefix("sqlite:///"))
    if target.exists():
        return  # a second app on the same database file: keep its rows
    if "template" not in _MIGRATED:
        template = Path(tempfile.mkdtemp(prefix="screening-schema-")) / "template.db"
        _migrate(f"sqlite:///{template}")
        _MIGRATED["template"] = template
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_MIGRATED["template"], target)


def _migrate(url: str) -> None:
    """Run every migration against an empty database."""
    config = {"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": url, "QUESTIONS_PATH": DEFAULT}
    app = create_app(config, definition=checked(DEFAULT))
    with app.app_context():
        migrate.upgrade()
    app.extensions["screening.db"].engine.dispose()


@pytest.fixture
def app(tmp_path):
    """The app with the default questionnaire."""
    return make_app(tmp_path)


@pytest.fixture
def small_app(tmp_path):
    """The app with the small test questionnaire."""
    return make_app(tmp_path, QUESTIONS_PATH=SMALL)


@pytest.fixture
def client(app):
    """A browser for the default questionnaire."""
    return Patient(app.test_client())


@pytest.fixture
def small(small_app):
    """A browser for the small questionnaire."""
    return Patient(small_app.test_client())


@pytest.fixture
def runner(app):
    """The command line."""
    return app.test_cli_runner()


@pytest.fixture
def smtp():
    """A real SMTP server on loopback, up (tests/mailbox.py)."""
    pytest.importorskip("aiosmtpd.controller", reason="aiosmtpd is not installed")
    from .mailbox import Mailbox

    box = Mailbox()
    box.up()
    yield box
    box.down()


CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


class Patient:
    """A patient in a browser: fetches pages and posts forms with their CSRF token."""

    def __init__(self, client) -> None:
        self.client = client

    def get(self, url: str, **kw):
        """GET a page."""
        return self.client.get(url, **kw)

    def token(self, url: str) -> str:
        """The CSRF token of the form on a page."""
        page = self.client.get(url)
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text) or re.search(
            r'value="([^"]+)"[^>]*name="csrf_token"', page.text
        )
        assert match, f"no CSRF token on {url}"
        return match.group(1)

    def post(self, url: str, data: dict | None = None, token: str | None = None, **kw):
        """POST a form, with the page's CSRF token unless one is given."""
        data = dict(data or {})
        data.setdefault("csrf_token", token if token is not None else self.token(url))
        return self.client.post(url, data=data, **kw)

    def answer(self, section_id: str, answers: dict):
        """Fill in one section and press Continue."""
        return self.post(f"/intake/{section_id}", answers)

    def submit(self):
        """Press Send on the check page."""
        return self.post("/intake/submit", token=self.token("/intake/check"))


def errors_on(page) -> list[str]:
    """Question ids linked from the error summary (a date's link may name its month or year box)."""
    return [re.sub(r"-(month|year)$", "", qid) for qid in re.findall(r'<li><a href="#([\w-]+)">', page.text)]


# Hash each password once per run.
PASSWORD = "correct horse battery"
_HASHES: dict[str, str] = {}


def password_hash(password: str = PASSWORD) -> str:
    """A (cheap) hash of `password`, computed once per test run."""
    from screening.review.accounts import hash_password

    if password not in _HASHES:
        _HASHES[password] = hash_password(password)
    return _HASHES[password]


# Every test account has two-factor sign-in set up (it is required), with a secret and
# recovery codes the tests know: Clinician.sign_in types a code from the "phone".
TOTP_SECRETS: dict[str, str] = {}
RECOVERY_CODES = [f"{n:05d}-{n:05d}" for n in range(10)]


def totp_secret(email: str) -> str:
    """The authenticator app's secret for a test account (one per email)."""
    import pyotp

    return TOTP_SECRETS.setdefault(email, pyotp.random_base32())


def add_user(
    app, email: str, role: str = "clinician", name: str | None = None, active: bool = True, two_factor: bool = True
):
    """Create an account directly in the database (with two-factor sign-in set up); returns its id."""
    from screening.models import User
    from screening.review.twofactor import hash_recovery_code

    with app.app_context(), db.get_db().transaction() as s:
        user = User(
            email=email,
            name=name or email.split("@")[0].title(),
            password_hash=password_hash(),
            role=role,
            active=active,
            totp_secret=totp_secret(email) if two_factor else None,
            recovery_codes=[hash_recovery_code(code) for code in RECOVERY_CODES] if two_factor else [],
        )
        s.add(user)
        s.flush()
        return user.id


class Clinician(Patient):
    """A clinician in a browser: signs in and uses the review pages."""

    def sign_in(self, email: str, password: str = PASSWORD, next_url: str | None = None):
        """Post the sign-in form, then (if asked) a code from the authenticator app."""
        url = "/review/login" + (f"?next={next_url}" if next_url else "")
        response = self.post(url, {"email": email, "password": password}, token=self.token("/review/login"))
        return self.second_step(response, email)

    def second_step(self, response, email: str):
        """After a right password: the code page, answered; any other answer as it was."""
        if response.status_code == 302 and response.location.endswith("/review/login/code"):
            return self.enter_code(email)
        return response

    def enter_code(self, email: str):
        """Type the next unused code: the app's for the current or next 30 s (each works once; not
        the previous step, which a slow request crossing a step boundary would see expire), then
        the recovery codes."""
        from screening import clock
        from screening.review.twofactor import STEP_SECONDS, _code_for, _step

        used = self.codes_used.setdefault(email, set())
        now = _step(clock.now().timestamp())
        codes = [_code_for(totp_secret(email), step) for step in (now, now + 1)] + RECOVERY_CODES
        code = next(c for c in codes if c not in used)
        used.add(code)
        assert STEP_SECONDS == 30
        return self.post("/review/login/code", {"code": code})

    @property
    def codes_used(self) -> dict[str, set[str]]:
        """Codes this test has used per account (shared by every browser on one app)."""
        # Kept on the app itself: an id() could be reused by the next test's app.
        return self.client.application.extensions.setdefault("tests.codes_used", {})


@pytest.fixture
def clinician(app):
    """A signed-in clinician (clinician@example.org)."""
    add_user(app, "clinician@example.org")
    browser = Clinician(app.test_client())
    assert browser.sign_in("clinician@example.org").status_code == 302
    return browser


@pytest.fixture
def submission_factory(app):
    """Sends the default questionnaire as new patients do: `submit(changes)` answers every page
    all clear except for `changes` (question id -> answer) and returns the reference."""
    from .http_patient import all_clear_answers

    definition = checked(DEFAULT)

    def submit(changes: dict | None = None) -> str:
        pages = {section_id: dict(answers) for section_id, answers in all_clear_answers(definition).items()}
        for qid, value in (changes or {}).items():
            pages[definition.questions[qid].section_id][qid] = value
        patient = Patient(app.test_client())
        for section_id, answers in pages.items():
            assert patient.answer(section_id, answers).status_code == 302, section_id
        assert patient.submit().status_code in (302, 303)
        return patient.get("/intake/done").text.split("Your reference: <strong>")[1].split("<")[0]

    return submit


# The small questionnaire's site: a clinician and an admin (test_review_record, test_retention).
CLINICIAN = "clinician@example.org"
ADMIN = "admin@example.org"


@pytest.fixture
def site(tmp_path):
    """The small questionnaire, with a clinician and an admin account."""
    app = make_app(tmp_path, QUESTIONS_PATH=SMALL, PATIENT_NAME_QUESTION="name")
    add_user(app, CLINICIAN, name="Casey Clinician")
    add_user(app, ADMIN, role="admin", name="Ada Admin")
    return app


@pytest.fixture
def fresh_limits():
    """The limiter is module-level: leave no counters behind for the next test."""
    from screening.extensions import limiter

    yield
    with contextlib.suppress(AssertionError):  # no app was made, so there is no storage
        limiter.reset()


@pytest.fixture
def admin(app):
    """A signed-in admin (admin@example.org)."""
    add_user(app, "admin@example.org", role="admin")
    browser = Clinician(app.test_client())
    assert browser.sign_in("admin@example.org").status_code == 302
    return browser


# --- Browser tests (Playwright driving Debian's Chromium) ---------------------------

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def chromium_path() -> str | None:
    """Chromium from CHROMIUM_PATH, or Debian's package."""
    for candidate in (os.environ.get("CHROMIUM_PATH"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the run; skipped, with the reason, when it is missing."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
    path = chromium_path()
    if path is None:
        pytest.skip("Chromium not found: apt-get install chromium (or set CHROMIUM_PATH)")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


class LiveServer:
    """The app served on loopback by Werkzeug in a thread, for the browser to visit."""

    def __init__(self, app) -> None:
        from werkzeug.serving import make_server

        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """Shut the server down."""
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def live(app):
    """The default-questionnaire app on a real port."""
    server = LiveServer(app)
    yield server
    server.stop()
