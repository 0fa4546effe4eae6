"""Security headers, CSRF on every POST, limits and error pages."""

from __future__ import annotations

import os
import re
import subprocess

import pytest
from sqlalchemy import func, select

from screening import create_app, db
from screening.extensions import limiter
from screening.models import AuditEvent, Base

from .conftest import DEFAULT, ROOT, Clinician, Patient, add_user, make_app
from .test_app import STRONG_KEY

ERROR_CODES = {
    "/nope": 404,
    "/intake/no_such_section": 404,
    "/review/login?x=1": 200,
}


def row_counts(app) -> dict[str, int]:
    """How many rows each table holds."""
    with app.app_context():
        session = db.session()
        return {t.name: session.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}


def assert_secure_headers(response) -> None:
    """The headers every response carries."""
    csp = response.headers["Content-Security-Policy"]
    for part in ("default-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"):
        assert part in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


@pytest.mark.parametrize("url", ["/", "/intake/warning_signs", "/info/aftercare", "/review/login", "/healthz", "/nope"])
def test_headers_on_pages_and_errors(client, url):
    """Normal pages, error pages and the health check all carry the headers."""
    assert_secure_headers(client.get(url))


def test_pages_are_never_cached(client):
    """HTML pages, which may show health data, are no-store; static files may be cached."""
    assert client.get("/").headers["Cache-Control"] == "no-store"
    assert client.get("/nope").headers["Cache-Control"] == "no-store"
    with client.get("/static/screening.css") as static:
        assert static.headers.get("Cache-Control") != "no-store"


def test_hsts_only_over_https(client):
    """Strict-Transport-Security is sent when the request came over HTTPS."""
    assert "Strict-Transport-Security" not in client.get("/").headers
    secure = client.get("/", base_url="https://clinic.example")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")


def test_no_inline_script_or_style_in_pages(client):
    """The CSP forbids inline code, so the pages must not rely on any."""
    for url in ("/", "/intake/warning_signs", "/info/before-your-session", "/review/login"):
        html = client.get(url).text
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), url
        assert "<style" not in html and " style=" not in html, url
        assert not re.search(r"\son[a-z]+=", html), url


def test_every_post_endpoint_rejects_a_missing_csrf_token(app):
    """Walk the URL map: a POST without a token is refused and changes nothing, even for
    a signed-in admin posting to real records and accounts."""
    admin_id = add_user(app, "admin@example.org", role="admin")
    other_id = add_user(app, "other@example.org")
    admin = Clinician(app.test_client())
    assert admin.sign_in("admin@example.org").status_code == 302
    patient = Patient(app.test_client())
    patient.answer(
        "warning_signs", {q.id: "no" for q in app.extensions["screening.questionnaire"].sections[0].questions}
    )
    reference = "AAAA-BBBB-CCCC"
    values = {"section_id": "your_back_pain", "reference": reference, "user_id": str(other_id)}
    values |= {"visit_id": "1", "key_id": "1"}
    values |= {"message_id": "1", "channel": "webhook", "target": "pager"}  # the alert deliveries page
    before = row_counts(app)
    checked = refused = api_refused = 0
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods:
            continue
        url = rule.rule
        for arg in rule.arguments:
            url = re.sub(rf"<(?:[a-z]+:)?{arg}>", values[arg], url)
        for browser in (admin, patient):
            data = {"email": "x@example.org", "password": "x" * 12, "outcome": "cleared", "reason": "r" * 20}
            response = browser.client.post(url, data=data)
            if rule.endpoint.startswith("api."):
                # The API takes no cookie, so no CSRF token: without a Bearer key it is a 401
                # (test_visits_api), and the refusal is audited as such.
                assert response.status_code == 401, (rule.endpoint, response.status_code)
                api_refused += 1
                continue
            if rule.endpoint == "intake.submit":
                assert response.status_code == 302 and response.location.endswith("/intake/check")
            elif rule.endpoint == "intake.restart":
                assert response.status_code == 302 and response.location.endswith("/")
            else:
                assert response.status_code == 400, (rule.endpoint, response.status_code)
            refused += rule.endpoint != "review.logout"  # sign-out checks its own token (test_signout)
        checked += 1
    assert checked >= 12
    after = row_counts(app)
    # Nothing changed but the audit log, which now records each refusal (issue 13, item 16).
    assert admin_id and after | {"audit_events": 0} == before | {"audit_events": 0}
    with app.app_context():
        added = db.session().scalars(select(AuditEvent.action).where(AuditEvent.id > before["audit_events"])).all()
    assert sorted(added) == sorted(["csrf_failed"] * refused + ["api_refused"] * api_refused)


def test_too_large_a_request_is_413_with_a_friendly_page(client):
    """Over MAX_CONTENT_LENGTH: 413 in the app's own look."""
    response = client.client.post("/intake/warning_signs", data={"saddle_numbness": "x" * 300_000})
    assert response.status_code == 413
    assert "too much to send" in response.text
    assert_secure_headers(response)


def test_the_public_form_is_rate_limited(tmp_path):
    """One address posting too fast gets 429 with a friendly page."""
    app = make_app(tmp_path, INTAKE_LIMIT="3 per minute")
    browser = Patient(app.test_client())
    codes = [browser.client.post("/intake/warning_signs").status_code for _ in range(5)]
    assert codes[:3] == [400, 400, 400]
    assert codes[3:] == [429, 429]
    page = browser.client.post("/intake/warning_signs")
    assert "Too many attempts" in page.text
    assert_secure_headers(page)
    assert browser.get("/").status_code == 200  # reading is not limited


def test_server_errors_show_no_internals(tmp_path):
    """A crash is a calm 500 page: no traceback, SQL or file path."""
    app = make_app(tmp_path, PROPAGATE_EXCEPTIONS=False)

    @app.get("/boom")
    def boom():
        raise RuntimeError("SELECT secret FROM /srv/clinic/screening/db.py")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert "Sorry, something went wrong" in response.text
    for leak in ("Traceback", "SELECT", "/srv/clinic/", ".py", "RuntimeError"):
        assert leak not in response.text
    assert_secure_headers(response)


def test_method_not_allowed_page(client):
    """405 in the app's own look."""
    response = client.client.put("/")
    assert response.status_code == 405
    assert "That did not work" in response.text


def test_healthz_reports_the_database(app, client):
    """200 with the database up; 503 when it cannot be reached."""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_healthz_when_the_database_is_gone(tmp_path):
    """An unreachable database is reported as 503, without details."""
    app = make_app(tmp_path)
    app.extensions["screening.db"].engine.dispose()
    app.extensions["screening.db"].engine = __import__("sqlalchemy").create_engine(
        f"sqlite:///{tmp_path}/missing-dir/none.db"
    )
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json == {"status": "unavailable", "database": "unreachable"}


def test_secure_cookies_in_production(tmp_path):
    """With PRODUCTION on, the session cookie is Secure, HttpOnly, SameSite=Lax and __Host- (issue 13, item 13)."""
    app = make_app(tmp_path, PRODUCTION=True, SECRET_KEY=STRONG_KEY)
    browser = Patient(app.test_client())
    questions = app.extensions["screening.questionnaire"].sections[0].questions
    browser.answer("warning_signs", {q.id: "no" for q in questions})
    assert browser.client.get_cookie("screening_session") is None
    cookie = browser.client.get_cookie("__Host-screening_session")
    assert cookie is not None and cookie.path == "/" and not cookie.domain.startswith(".")
    assert cookie.secure and cookie.http_only and cookie.same_site == "Lax"


def test_every_cookie_in_production_is_host_only_and_secure(tmp_path):
    """Every cookie the app sets in production (the patient's session, the clinician's, the
    known-device cookie) is __Host-: Secure, Path=/, no Domain (issue 13, item 13)."""
    app = make_app(tmp_path, PRODUCTION=True, SECRET_KEY=STRONG_KEY)
    add_user(app, "clinician@example.org")
    headers: list[str] = []
    inner = app.wsgi_app

    def recording(environ, start_response):
        """Every Set-Cookie header as sent (the session cookie is added after the view's hooks)."""

        def start(status, response_headers, *args):
            headers.extend(value for name, value in response_headers if name.lower() == "set-cookie")
            return start_response(status, response_headers, *args)

        return inner(environ, start)

    app.wsgi_app = recording
    patient, clinician = Patient(app.test_client()), Clinician(app.test_client())
    questions = app.extensions["screening.questionnaire"].sections[0].questions
    patient.answer("warning_signs", {q.id: "no" for q in questions})
    assert clinician.sign_in("clinician@example.org").status_code == 302
    clinician.get("/review/")
    names = {header.split("=", 1)[0] for header in headers}
    assert {"__Host-screening_session", "__Host-screening_device"} <= names
    for header in headers:
        parts = [part.strip().lower() for part in header.split(";")]
        assert header.startswith("__Host-"), header
        assert "secure" in parts and "path=/" in parts, header
        assert not any(part.startswith("domain=") for part in parts), header


def test_make_serve_runs_in_production_mode():
    """`make serve` turns production mode on unless told otherwise (issue 13, item 13: it did not)."""
    out = subprocess.run(["make", "-n", "serve"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    # The recipe's one shell command (lines joined by backslashes) sets it before gunicorn starts.
    recipe = out.replace("\\\n", " ")
    [line] = [line for line in recipe.splitlines() if "gunicorn" in line]
    assert "SCREENING_PRODUCTION=${SCREENING_PRODUCTION:-true}" in line.split("gunicorn")[0]


def test_rate_limits_are_shared_through_the_database(tmp_path):
    """With the default store, two apps (two workers) share one count in the database."""
    url = f"sqlite:///{tmp_path / 'shared.db'}" if not os.environ.get("TEST_DATABASE_URL") else None
    first = make_app(tmp_path / "a", RATELIMIT_STORAGE_URI=None, INTAKE_LIMIT="4 per minute", DATABASE_URL=url)
    assert first.config["RATELIMIT_STORAGE_URI"].startswith("sql+")
    codes = [first.test_client().post("/intake/warning_signs").status_code for _ in range(2)]
    first_store = limiter.storage
    # A second worker: the same configuration, the same database (not emptied again).
    second = create_app(first.config | {"RATELIMIT_STORAGE_URI": None}, instance_path=str(tmp_path / "b"))
    codes += [second.test_client().post("/intake/warning_signs").status_code for _ in range(3)]
    assert codes == [400, 400, 400, 400, 429]
    for store in (first_store, limiter.storage):
        store.database.engine.dispose()
    second.extensions["screening.db"].engine.dispose()


def test_proxy_headers_are_trusted_only_when_configured(tmp_path):
    """X-Forwarded-Proto counts only with PROXY_FIX_HOPS set (else anyone could fake HTTPS)."""
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    plain = make_app(tmp_path / "plain").test_client().get("/", headers=forwarded)
    assert "Strict-Transport-Security" not in plain.headers
    proxied = make_app(tmp_path / "proxied", PROXY_FIX_HOPS=1).test_client().get("/", headers=forwarded)
    assert "Strict-Transport-Security" in proxied.headers


def test_database_counters_start_a_new_window_when_the_old_one_ends(app):
    """The shared store counts within a window and starts again after it."""
    from sqlalchemy import update

    from screening.models import RateLimitCounter
    from screening.ratelimit import DatabaseStorage

    store = DatabaseStorage("sql+" + app.extensions["screening.db"].url)
    assert [store.incr("k", 60) for _ in range(3)] == [1, 2, 3]
    assert store.get("k") == 3
    with store.database.transaction() as s:
        s.execute(update(RateLimitCounter).values(expires_at=0))
    assert store.get("k") == 0
    assert store.incr("k", 60) == 1
    store.clear("k")
    assert store.get("k") == 0
    store.database.engine.dispose()


# --- production refuses unsafe settings; files are the owner's alone (issue 13, items 14 and 3) ---


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        ({"SECRET_KEY": "x"}, "SECRET_KEY is too short"),
        ({"SECRET_KEY": "a" * 64}, "SECRET_KEY is too short or too simple"),
        ({"SECRET_KEY": STRONG_KEY, "DEBUG": True}, "DEBUG is on in production"),
    ],
)
def test_production_refuses_a_weak_secret_key_or_debug(tmp_path, settings, says):
    """SECRET_KEY=x or DEBUG=true with PRODUCTION on: the app will not start, and says why."""

    with pytest.raises(SystemExit, match=says):
        create_app({"QUESTIONS_PATH": DEFAULT, "PRODUCTION": True} | settings, instance_path=str(tmp_path))


def test_the_key_kept_in_the_instance_folder_is_strong_enough_for_production(tmp_path):
    """No SECRET_KEY given: the random one made on first run passes."""

    app = create_app({"QUESTIONS_PATH": DEFAULT, "PRODUCTION": True}, instance_path=str(tmp_path / "instance"))
    assert len(app.config["SECRET_KEY"]) >= 32


@pytest.mark.skipif(bool(os.environ.get("TEST_DATABASE_URL")), reason="SQLite's files")
def test_the_database_its_log_and_the_instance_folder_are_the_owners_alone(tmp_path):
    """screening.db, -wal and -shm are 0600 and the instance folder 0700, even under a lax umask."""
    from screening import migrate

    old = os.umask(0o022)
    try:
        app = create_app({"QUESTIONS_PATH": DEFAULT}, instance_path=str(tmp_path / "instance"))
        with app.app_context():
            migrate.upgrade()
        questions = app.extensions["screening.questionnaire"].sections[0].questions
        Patient(app.test_client()).answer("warning_signs", {q.id: "no" for q in questions})
    finally:
        os.umask(old)
    instance = tmp_path / "instance"
    assert instance.stat().st_mode & 0o777 == 0o700
    files = [instance / name for name in ("screening.db", "screening.db-wal", "screening.db-shm", "secret_key")]
    assert {f.name: oct(f.stat().st_mode & 0o777) for f in files} == {f.name: "0o600" for f in files}
    app.extensions["screening.db"].engine.dispose()
