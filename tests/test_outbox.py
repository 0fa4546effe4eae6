"""Alerts through the outbox: a real SMTP server (aiosmtpd) and a real HTTP receiver
(pytest-httpserver), on SQLite and PostgreSQL. The checks of the alerts spec, 4.3."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select

from screening import clock, db
from screening.models import AuditEvent, OutboxDisabledTarget, OutboxMessage, Submission
from screening.outbox import channels, relay

from .conftest import DEFAULT, ROOT, Clinician, Patient, add_user, checked, database_url, make_app, prepare_database
from .http_patient import HttpPatient, all_clear_answers, default_pages
from .mailbox import Mailbox, free_port

pytest.importorskip("aiosmtpd.controller", reason="aiosmtpd is not installed")
pytest.importorskip("pytest_httpserver", reason="pytest-httpserver is not installed")
standardwebhooks = pytest.importorskip("standardwebhooks", reason="standardwebhooks is not installed")

from werkzeug import Request, Response  # noqa: E402

SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # a test key (24 bytes, base64)
RECIPIENTS = ["duty@clinic.example", "lead@clinic.example"]
ESCALATION = ["manager@clinic.example"]
T0 = dt.datetime(2026, 11, 24, 14, 32, 5, tzinfo=dt.UTC)
URGENT = {"saddle_numbness": "yes"}


def alert_config(smtp: Mailbox, **extra: Any) -> dict[str, Any]:
    """Settings for an app that alerts through `smtp`."""
    return {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": smtp.port,
        "SMTP_STARTTLS": False,
        "SMTP_TIMEOUT_SECONDS": 5,
        "ALERT_FROM": "alerts@clinic.example",
        "ALERT_EMAIL_TO": list(RECIPIENTS),
        "PUBLIC_URL": "https://clinic.example",
        "ALERT_WEBHOOKS_ALLOW_PRIVATE": True,  # the receiver is on loopback
    } | extra


def hook(url: str, events: tuple[str, ...] = ("submission.urgent",), name: str = "pager", **extra: Any) -> dict:
    return {"name": name, "url": url, "secret": SECRET, "events": list(events)} | extra


def send(app, changes: dict | None = None) -> str:
    """A new patient answers every page (all clear but for `changes`) and presses Send."""
    definition = checked(DEFAULT)
    pages = {section_id: dict(answers) for section_id, answers in all_clear_answers(definition).items()}
    for qid, value in (changes or {}).items():
        pages[definition.questions[qid].section_id][qid] = value
    patient = Patient(app.test_client())
    for section_id, answers in pages.items():
        assert patient.answer(section_id, answers).status_code == 302, section_id
    assert patient.submit().status_code in (302, 303)
    return patient.get("/intake/done").text.split("Your reference: <strong>")[1].split("<")[0]


def one_pass(app) -> relay.PassResult:
    """What `outbox send-due` does, in this process (so the frozen clock applies)."""
    with app.app_context():
        return relay.run_pass()


def rows(app, **where: Any) -> list[OutboxMessage]:
    with app.app_context():
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        for name, value in where.items():
            query = query.where(getattr(OutboxMessage, name) == value)
        return list(db.session().scalars(query))


def audited(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session().scalars(select(AuditEvent).where(AuditEvent.action == action)))


# --- 1. An urgent submission: one email per recipient, in one pass -------------------------


def test_urgent_submission_emails_each_recipient_once_within_one_pass(tmp_path, smtp):
    app = make_app(tmp_path, **alert_config(smtp))
    reference = send(app, URGENT)
    queued = rows(app)
    assert [(r.event, r.channel, r.target, r.status) for r in queued] == [
        ("submission.urgent", "email", address, "pending") for address in RECIPIENTS
    ]
    assert one_pass(app).sent == 2
    for address in RECIPIENTS:
        [mail] = smtp.to(address)
        assert mail["Subject"].startswith("Urgent screening submission needs review")
        body = mail.get_content()
        assert reference in body
        assert f"https://clinic.example/review/submissions/{reference}" in body
        assert "sign-in required" in body
    assert {r.status for r in rows(app)} == {"sent"}
    assert len(audited(app, "alert_sent")) == 2
    # Later passes send nothing again.
    assert one_pass(app).sent == 0
    assert len(smtp.messages) == 2


def test_a_suitable_submission_alerts_nobody_and_webhooks_are_opt_in(tmp_path, smtp, httpserver):
    app = make_app(tmp_path, **alert_config(smtp, ALERT_WEBHOOKS=[hook(httpserver.url_for("/hook"))]))
    send(app)
    assert rows(app) == []  # the endpoint asked only for urgent submissions; nobody gets email
    app2 = make_app(
        tmp_path / "2",
        **alert_config(smtp, ALERT_WEBHOOKS=[hook(httpserver.url_for("/hook"), ("submission.created",))]),
    )
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    reference = send(app2)
    [row] = rows(app2)
    assert (row.event, row.channel, row.reference) == ("submission.created", "webhook", reference)
    assert one_pass(app2).sent == 1
    [(request, _)] = httpserver.log
    body = standardwebhooks.Webhook(SECRET).verify(request.get_data(), dict(request.headers))
    assert body["type"] == "submission.created"
    assert body["data"]["reference"] == reference
    assert body["data"]["outcome"] == "suitable"
    assert smtp.messages == []


def test_an_urgent_answer_sent_early_alerts_at_once(tmp_path, smtp):
    """A patient who stops at the urgent warning and sends what they have."""
    app = make_app(tmp_path, **alert_config(smtp))
    patient = Patient(app.test_client())
    section = checked(DEFAULT).questions["saddle_numbness"].section_id
    patient.answer(section, {"saddle_numbness": "yes"})
    assert patient.submit().headers["Location"].endswith("/intake/urgent/details")  # never anonymous
    sent = patient.post("/intake/urgent/details", {"full_name": "Ann Example", "phone": "07700 900123"})
    assert sent.status_code in (302, 303)
    with app.app_context():
        [submission] = db.session().scalars(select(Submission)).all()
    assert submission.complete is False and submission.outcome == "urgent"
    assert [r.reference for r in rows(app)] == [submission.reference] * 2
    one_pass(app)
    assert len(smtp.messages) == 2


# --- 2. SIGKILL right after the submission commits ------------------------------------------


class Gunicorn:
    """The app served by gunicorn (several workers), as in production."""

    def __init__(self, url: str, folder: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = env | {"SCREENING_BIND": f"127.0.0.1:{self.port}", "SCREENING_WORKERS": "2"}
        self.log = (folder / "gunicorn.log").open("a")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:screening.gunicorn_conf"],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=self.log,
        )
        import urllib.request

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(self.base + "/healthz", timeout=2) as response,
            ):
                if response.status == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError("gunicorn did not start")

    def kill(self) -> None:
        """SIGKILL the workers and the master: no chance to finish anything."""
        out = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True).stdout
        for pid in [int(p) for p in out.split()] + [self.process.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.log.close()


def process_env(url: str, tmp_path: Path, config: dict[str, Any]) -> dict[str, str]:
    """Environment for an app process: the settings as SCREENING_* variables (JSON values)."""
    env = os.environ | {
        "SCREENING_DATABASE_URL": url,
        "SCREENING_SECRET_KEY": "outbox-test",
        "SCREENING_RATELIMIT_STORAGE_URI": "memory://",
        "FLASK_APP": "screening",
    }
    for key, value in config.items():
        env[f"SCREENING_{key}"] = value if isinstance(value, str) else json.dumps(value)
    return env


def flask(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "screening", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.slow
def test_sigkill_after_an_urgent_submission_commits_loses_no_alert(tmp_path, smtp):
    url = database_url(tmp_path)
    prepare_database(url)
    env = process_env(url, tmp_path, alert_config(smtp, ALERT_EMAIL_TO=[RECIPIENTS[0]]))
    server = Gunicorn(url, tmp_path, env)
    try:
        pages = default_pages()
        pages[checked(DEFAULT).questions["saddle_numbness"].section_id]["saddle_numbness"] = "yes"
        reference = HttpPatient(server.base).complete(pages)
    finally:
        server.kill()  # at once after the acknowledged Send: no relay has run
    engine = create_engine(url)
    with engine.connect() as conn:
        [(status, ref)] = conn.execute(select(OutboxMessage.status, OutboxMessage.reference)).all()
    engine.dispose()
    assert (status, ref) == ("pending", reference)
    assert smtp.messages == []
    # The relay starts after the crash: the email arrives, once.
    for _ in range(2):
        done = flask(env, "outbox", "send-due")
        assert done.returncode == 0, done.stderr
    [mail] = smtp.to(RECIPIENTS[0])
    assert reference in mail.get_content()
    assert len(smtp.messages) == 1


# --- 3. SMTP down for an hour -------------------------------------------------------------


def test_smtp_down_for_an_hour_shows_the_failure_then_delivers_once(tmp_path, smtp):
    smtp.down()
    app = make_app(tmp_path, **alert_config(smtp, ALERT_EMAIL_TO=[RECIPIENTS[0]]))
    add_user(app, "admin@example.org", role="admin")
    add_user(app, "clinician@example.org")
    admin, clinician = Clinician(app.test_client()), Clinician(app.test_client())
    with clock.frozen(T0):
        reference = send(app, URGENT)
        assert admin.sign_in("admin@example.org").status_code == 302
        assert clinician.sign_in("clinician@example.org").status_code == 302
    schedule = app.config["OUTBOX_RETRY_SECONDS"]
    seen_attempts = []
    for minute in range(0, 61, 5):
        with clock.frozen(T0 + dt.timedelta(minutes=minute, seconds=1)):
            before = clock.now()
            one_pass(app)
            [row] = rows(app)
            assert row.status == "failed" and "SMTP" in (row.last_error or "")
            if row.attempts not in seen_attempts:
                seen_attempts.append(row.attempts)
                # The next try follows the schedule, within its 10% jitter.
                wait = (row.next_attempt_at - before).total_seconds()
                expected = schedule[row.attempts - 1]
                assert 0.9 * expected - 1 <= wait <= 1.1 * expected + 1, (row.attempts, wait)
            page = admin.get("/review/alerts?show=failed").text
            assert reference in page and "Failed, will retry" in page
            for browser in (admin, clinician):
                for landing in ("/review/", "/review/today"):  # the queue and Today
                    assert "urgent alert has not been delivered" in browser.get(landing).text, (minute, landing)
    assert seen_attempts == [1, 2, 3, 4]  # at once, after 5 s, 5 min and 30 min
    assert smtp.messages == []
    assert len(audited(app, "alert_failed")) == 4
    smtp.up()
    [row] = rows(app)
    with clock.frozen(row.next_attempt_at + dt.timedelta(seconds=1)):
        assert one_pass(app).sent == 1
        assert one_pass(app).sent == 0
        assert "urgent alert has not been delivered" not in clinician.get("/review/").text
        assert "urgent alert has not been delivered" not in clinician.get("/review/today").text
    assert len(smtp.to(RECIPIENTS[0])) == 1 and len(smtp.messages) == 1


def test_the_last_failure_is_dead_and_an_admin_can_retry(tmp_path, smtp):
    smtp.down()
    app = make_app(tmp_path, **alert_config(smtp, ALERT_EMAIL_TO=[RECIPIENTS[0]], OUTBOX_RETRY_SECONDS=[5, 60]))
    add_user(app, "admin@example.org", role="admin")
    admin = Clinician(app.test_client())
    with clock.frozen(T0):
        send(app, URGENT)
        admin.sign_in("admin@example.org")
    for seconds in (0, 10, 100, 1000):
        with clock.frozen(T0 + dt.timedelta(seconds=seconds)):
            one_pass(app)
    [row] = rows(app)
    assert (row.status, row.attempts) == ("dead", 3)
    assert len(audited(app, "alert_dead")) == 1
    smtp.up()
    with clock.frozen(T0 + dt.timedelta(seconds=1100)):
        assert "Gave up" in admin.get("/review/alerts").text
        answer = admin.post(f"/review/alerts/{row.id}/retry", token=admin.token("/review/alerts"))
        assert answer.status_code == 302
        assert one_pass(app).sent == 1
    assert len(smtp.messages) == 1
    assert len(audited(app, "alert_retry")) == 1


def test_the_deliveries_page_is_for_admins_only(tmp_path, smtp):
    app = make_app(tmp_path, **alert_config(smtp))
    add_user(app, "clinician@example.org")
    clinician = Clinician(app.test_client())
    clinician.sign_in("clinician@example.org")
    assert clinician.get("/review/alerts").status_code == 403
    assert Patient(app.test_client()).get("/review/alerts").status_code == 302  # to sign-in


# --- 4. Nothing clinical leaves the app -----------------------------------------------------


def test_no_email_or_webhook_carries_anything_about_the_patient(tmp_path, smtp, httpserver):
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    hooks = [
        hook(httpserver.url_for("/hook"), ("submission.urgent", "submission.created", "alert.unreviewed")),
        hook(httpserver.url_for("/hook"), ("submission.urgent",), name="sms-provider", sms=True),
    ]
    app = make_app(tmp_path, **alert_config(smtp, ALERT_WEBHOOKS=hooks, ALERT_ESCALATE_EMAIL_TO=ESCALATION))
    patient = {
        "full_name": "Philippa Quartermaine",
        "date_of_birth": "1961-07-23",
        "phone": "07700 900461",
        "email": "philippa.q@example.net",
        "medicines": "Warfarin 5mg nightly",
        "saddle_numbness": "yes",
        "bladder_bowel_change": "yes",
        "anticoagulant": "yes",
        "fever_or_unwell": "fever",
    }
    with clock.frozen(T0):
        reference = send(app, patient)
        one_pass(app)
    with clock.frozen(T0 + dt.timedelta(minutes=31)):
        one_pass(app)  # the escalation
    # Every byte sent, but the random ids (a Message-ID, a webhook-id, a signature), whose
    # digits could hold a phone number's by chance.
    random_ids = re.compile(r"^Message-ID: .*$", re.MULTILINE | re.IGNORECASE)
    bodies = [random_ids.sub("", raw.decode("utf-8", "replace")) for _, raw in smtp.messages]
    bodies += [request.get_data(as_text=True) for request, _ in httpserver.log]
    bodies += [
        json.dumps([v for k, v in request.headers.items() if k.lower() not in ("webhook-signature", "webhook-id")])
        for request, _ in httpserver.log
    ]
    assert len(smtp.messages) == 3  # two alerts, one escalation
    assert len(httpserver.log) == 4  # urgent, created and escalation to the pager; urgent to the SMS provider
    assert all(reference in body for body in bodies[: len(smtp.messages)])
    with app.app_context():
        submission = db.session().scalars(select(Submission)).one()
        definition = checked(DEFAULT)
        words = {"Philippa", "Quartermaine", "1961-07-23", "23/07/1961", "23 Jul", "07700", "900461"}
        words |= {"philippa.q", "example.net", "Warfarin", definition.questionnaire.title, "acupuncture"}
        words |= {"back pain", "cauda", "saddle", "numbness", "call 999"}
        words |= {flag["reason"] for flag in submission.flags}
        words |= {flag.get("advice") or "" for flag in submission.flags} - {""}
        labels = set()
        for qid, value in submission.answers.items():
            question = definition.questions[qid]
            labels.add(question.label)
            labels.add(question.text)
            chosen = value if isinstance(value, list) else [value]
            labels |= {label for v, label in question.choices if v in chosen}
    assert len(words) > 12 and len(labels) > 40
    for body in bodies:
        lowered = body.lower()
        for word in words:
            assert word.lower() not in lowered, word
        for label in labels:
            # Whole words, as written ("No" must not match "no patient details").
            assert not re.search(rf"(?<!\w){re.escape(label)}(?!\w)", body), label


def test_a_link_stopped_after_ten_wrong_dates_of_birth_tells_the_clinic_once(tmp_path, smtp, httpserver):
    """visits.md 4: ten wrong dates of birth revoke the link and the clinic is alerted (the
    patient only sees that the link no longer works). Once per link, and nothing about
    the patient: the message names the visit by its number and its page."""
    from .visits_helpers import WRONG_BIRTH as wrong
    from .visits_helpers import locked_link

    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    hooks = [hook(httpserver.url_for("/hook"), ("visit.link_revoked",))]
    app = make_app(tmp_path, **alert_config(smtp, ALERT_WEBHOOKS=hooks))
    with clock.frozen(T0):
        made, patient, token = locked_link(app)
        one_pass(app)
    assert smtp.messages == [] and httpserver.log == []  # locked for a while: no alert yet
    with clock.frozen(T0 + dt.timedelta(minutes=16)):
        for _ in range(5):
            patient.post("/i/check", wrong, token=token)
        assert patient.post("/i/check", wrong, token=token).status_code == 404  # the link is gone
        one_pass(app)
        one_pass(app)
    visit_id = made.visit.id
    page = f"https://clinic.example/review/visits?visit={visit_id}"
    assert [len(smtp.to(address)) for address in RECIPIENTS] == [1, 1]
    mail = smtp.to(RECIPIENTS[0])[0]
    text = mail.get_content()
    assert mail["Subject"] == "A patient's personal link was stopped (Your clinic)"
    assert "link to their pre-session screening was stopped at 14:48 on Tue 24 Nov 2026" in text
    assert "too many wrong dates of birth" in text and f"Visit number: {visit_id}" in text and page in text
    ((request, _),) = httpserver.log
    body = json.loads(request.get_data())
    assert body["type"] == "visit.link_revoked"
    assert body["data"] == {"clinic": "Your clinic", "visit": visit_id, "url": page}
    for sent in [text, request.get_data(as_text=True)]:
        for word in ("Maria", "Smith", "1970", "900123", "/i?t="):
            assert word not in sent, word
    assert len(audited(app, "link_revoked")) == 1
    # The page it names shows that one visit (long past or not), its link revoked, and
    # the button that issues a new one.
    add_user(app, "clinician@example.org")
    clinician = Clinician(app.test_client())
    with clock.frozen(T0 + dt.timedelta(days=30)):
        clinician.sign_in("clinician@example.org")
        shown = clinician.get(f"/review/visits?visit={visit_id}").text
    assert "Maria Smith" in shown and "Revoked" in shown and f"/review/visits/{visit_id}/link" in shown
    assert shown.count("<tr") == 2  # the header and the one visit


def test_the_fhir_endpoint_gives_signed_in_receivers_more_and_is_audited(tmp_path, smtp, httpserver):
    app = make_app(tmp_path, **alert_config(smtp))
    reference = send(app, URGENT)
    assert Patient(app.test_client()).get(f"/review/submissions/{reference}/fhir").status_code == 302
    add_user(app, "clinician@example.org")
    clinician = Clinician(app.test_client())
    clinician.sign_in("clinician@example.org")
    answer = clinician.get(f"/review/submissions/{reference}/fhir")
    assert answer.status_code == 200 and answer.json["resourceType"] == "Bundle"
    assert len(audited(app, "fhir_export")) == 1


# --- 5. Signed webhooks --------------------------------------------------------------------


def test_webhooks_verify_and_keep_their_id_on_every_retry(tmp_path, smtp, httpserver):
    answers = iter([500, 503, 200])
    httpserver.expect_request("/hook", method="POST").respond_with_handler(
        lambda request: Response("", status=next(answers))
    )
    app = make_app(
        tmp_path, **alert_config(smtp, ALERT_EMAIL_TO=[], ALERT_WEBHOOKS=[hook(httpserver.url_for("/hook"))])
    )
    with clock.frozen(T0):
        reference = send(app, URGENT)
    for seconds in (0, 10, 400):
        with clock.frozen(T0 + dt.timedelta(seconds=seconds)):
            one_pass(app)
    [row] = rows(app)
    assert (row.status, row.attempts) == ("sent", 3)
    requests = [request for request, _ in httpserver.log]
    assert len(requests) == 3
    assert len({r.headers["webhook-id"] for r in requests}) == 1
    last = requests[-1]
    body, headers = last.get_data(), dict(last.headers)
    verifier = standardwebhooks.Webhook(SECRET)
    payload = verifier.verify(body, headers)
    assert payload == {
        "type": "submission.urgent",
        "timestamp": "2026-11-24T14:32:05Z",
        "data": {
            "clinic": payload["data"]["clinic"],
            "reference": reference,
            "outcome": "urgent",
            "url": f"https://clinic.example/review/submissions/{reference}",
            "fhir": f"https://clinic.example/review/submissions/{reference}/fhir",
        },
    }
    changed = body.replace(reference.encode(), reference[:-1].encode() + b"Z")
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        verifier.verify(changed, headers)
    old = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=6)
    stale = headers | {
        "Webhook-Timestamp": str(int(old.timestamp())),
        "Webhook-Signature": verifier.sign(headers["Webhook-Id"], old, body.decode()),
    }
    with pytest.raises(standardwebhooks.WebhookVerificationError, match="too old"):
        verifier.verify(body, stale)


def test_a_throttled_endpoint_is_given_the_wait_it_asks_for(tmp_path, smtp, httpserver):
    httpserver.expect_request("/hook").respond_with_data("", status=429, headers={"Retry-After": "3600"})
    app = make_app(
        tmp_path, **alert_config(smtp, ALERT_EMAIL_TO=[], ALERT_WEBHOOKS=[hook(httpserver.url_for("/hook"))])
    )
    with clock.frozen(T0):
        send(app, URGENT)
        one_pass(app)
    [row] = rows(app)
    assert row.status == "failed"
    assert row.next_attempt_at - T0 >= dt.timedelta(seconds=3600)


# --- 6. A double click is one message per channel ------------------------------------------


def test_two_sends_of_one_draft_queue_one_message_per_recipient(tmp_path, smtp, httpserver):
    app = make_app(tmp_path, **alert_config(smtp, ALERT_WEBHOOKS=[hook(httpserver.url_for("/hook"))]))
    definition = checked(DEFAULT)
    patient = Patient(app.test_client())
    pages = all_clear_answers(definition)
    pages[definition.questions["saddle_numbness"].section_id]["saddle_numbness"] = "yes"
    for section_id, answers in pages.items():
        patient.answer(section_id, answers)
    token = patient.token("/intake/check")
    assert patient.post("/intake/submit", token=token).status_code == 303
    assert patient.post("/intake/submit", token=token).status_code in (302, 303)
    assert sorted((r.channel, r.target) for r in rows(app)) == [
        ("email", RECIPIENTS[0]),
        ("email", RECIPIENTS[1]),
        ("webhook", "pager"),
    ]
    assert len({r.event_id for r in rows(app)}) == 1
    # The unique key holds even when the same event is queued again by hand.
    from screening.outbox import events

    with app.app_context(), db.get_db().transaction() as s:
        submission = s.scalars(select(Submission)).one()
        events.queue_event(s, "submission.urgent", submission, list(RECIPIENTS), None, urgent=True)
    assert len(rows(app)) == 3


# --- 7. A relay killed while sending ------------------------------------------------------


@pytest.mark.slow
def test_a_relay_killed_while_sending_is_retried_once_its_lock_expires(tmp_path, smtp, httpserver):
    got_one, release = threading.Event(), threading.Event()
    ids: list[str] = []

    def receiver(request: Request) -> Response:
        ids.append(request.headers["webhook-id"])
        got_one.set()
        release.wait(30)
        return Response("ok")

    httpserver.expect_request("/hook", method="POST").respond_with_handler(receiver)
    config = alert_config(smtp, ALERT_EMAIL_TO=[], ALERT_WEBHOOKS=[hook(httpserver.url_for("/hook"))])
    app = make_app(tmp_path, **config)
    reference = send(app, URGENT)
    env = process_env(app.config["DATABASE_URL"], tmp_path, config)
    for key in list(env):
        if key.startswith("SCREENING_") and key.removeprefix("SCREENING_") not in config | {
            "DATABASE_URL": 1,
            "SECRET_KEY": 1,
            "RATELIMIT_STORAGE_URI": 1,
        }:
            del env[key]
    relay_process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "screening", "outbox", "run", "--interval", "1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert got_one.wait(60), "the relay never called the receiver"
        [row] = rows(app)
        assert row.status == "sending"
    finally:
        relay_process.send_signal(signal.SIGKILL)
        relay_process.wait(timeout=10)
        release.set()
    # Another relay skips the row while its lock holds, and takes it once it has expired.
    [row] = rows(app)
    assert row.status == "sending" and row.locked_until is not None
    with clock.frozen(row.locked_until - dt.timedelta(seconds=1)):
        assert one_pass(app).claimed == []
    with clock.frozen(row.locked_until + dt.timedelta(seconds=1)):
        assert one_pass(app).sent == 1
        assert one_pass(app).claimed == []
    assert len(ids) == 2 and len(set(ids)) == 1
    [row] = rows(app)
    assert (row.status, row.attempts, row.reference) == ("sent", 2, reference)


def test_two_relays_at_once_send_each_message_once(tmp_path, smtp):
    app = make_app(tmp_path, **alert_config(smtp))
    for _ in range(4):
        send(app, URGENT)
    results: list[relay.PassResult] = []
    threads = [threading.Thread(target=lambda: results.append(one_pass(app))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    claimed = [message_id for result in results for message_id in result.claimed]
    assert sorted(claimed) == sorted(r.id for r in rows(app)) and len(claimed) == 8
    assert len(smtp.messages) == 8


# --- 8. 410 Gone -----------------------------------------------------------------------------


def test_an_endpoint_answering_410_is_switched_off(tmp_path, smtp, httpserver):
    httpserver.expect_request("/hook").respond_with_data("", status=410)
    app = make_app(
        tmp_path, **alert_config(smtp, ALERT_EMAIL_TO=[], ALERT_WEBHOOKS=[hook(httpserver.url_for("/hook"))])
    )
    with clock.frozen(T0):
        send(app, URGENT)
        one_pass(app)
    [row] = rows(app)
    assert row.status == "dead"
    assert [e.detail["endpoint"] for e in audited(app, "webhook_disabled")] == ["pager"]
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(OutboxDisabledTarget)) == 1
    with clock.frozen(T0 + dt.timedelta(days=2)):
        send(app, URGENT)  # not sent to the switched-off endpoint
        one_pass(app)
    assert [(r.status, r.attempts) for r in rows(app)] == [("dead", 1), ("dead", 1)]
    assert "endpoint disabled" in (rows(app)[1].last_error or "")
    assert len(httpserver.log) == 1 and len(audited(app, "webhook_disabled")) == 1


# --- Escalation ---------------------------------------------------------------------------


def test_an_urgent_submission_still_new_after_30_minutes_is_escalated_once(tmp_path, smtp):
    app = make_app(tmp_path, **alert_config(smtp, ALERT_ESCALATE_EMAIL_TO=ESCALATION))
    with clock.frozen(T0):
        reference = send(app, URGENT)
        other = send(app, URGENT)
        one_pass(app)
    with app.app_context(), db.get_db().transaction() as s:  # one is reviewed meanwhile
        s.scalars(select(Submission).where(Submission.reference == other)).one().review_state = "reviewed"
    with clock.frozen(T0 + dt.timedelta(minutes=29)):
        assert one_pass(app).escalated == 0
    for minutes in (31, 45, 90):
        with clock.frozen(T0 + dt.timedelta(minutes=minutes)):
            one_pass(app)
    [mail] = smtp.to(ESCALATION[0])
    assert mail["Subject"].startswith("Urgent screening submission still not reviewed")
    assert reference in mail.get_content() and other not in mail.get_content()
    assert f"https://clinic.example/review/submissions/{reference}" in mail.get_content()


# --- Channels: what a webhook may call ----------------------------------------------------


def test_webhooks_refuse_private_addresses_and_plain_http_in_production():
    with pytest.raises(channels.SendFailed, match="private or local"):
        channels.check_url("https://127.0.0.1/hook", {})
    with pytest.raises(channels.SendFailed, match="private or local"):
        channels.check_url("https://[::1]/hook", {})
    with pytest.raises(channels.SendFailed, match="private or local"):
        channels.check_url("https://169.254.169.254/latest", {})
    with pytest.raises(channels.SendFailed, match="https"):
        channels.check_url("http://hooks.example.com/x", {"PRODUCTION": True})
    with pytest.raises(channels.SendFailed, match="not a web address"):
        channels.check_url("file:///etc/passwd", {})
    channels.check_url("http://127.0.0.1:9/hook", {"ALERT_WEBHOOKS_ALLOW_PRIVATE": True})


def test_a_redirect_is_a_failure_not_followed(tmp_path, smtp, httpserver):
    httpserver.expect_request("/hook").respond_with_data("", status=302, headers={"Location": "/elsewhere"})
    app = make_app(
        tmp_path, **alert_config(smtp, ALERT_EMAIL_TO=[], ALERT_WEBHOOKS=[hook(httpserver.url_for("/hook"))])
    )
    send(app, URGENT)
    one_pass(app)
    [row] = rows(app)
    assert row.status == "failed" and "302" in (row.last_error or "")
    assert len(httpserver.log) == 1


def test_the_retry_schedule_has_ten_percent_jitter():
    schedule = [5, 300, 1800]
    assert relay.next_delay(1, schedule, rng=lambda: 0.0) == pytest.approx(4.5)
    assert relay.next_delay(1, schedule, rng=lambda: 1.0) == pytest.approx(5.5)
    assert relay.next_delay(3, schedule, rng=lambda: 0.5) == pytest.approx(1800)
    assert relay.next_delay(4, schedule) is None


def test_the_command_line_lists_and_retries(tmp_path, smtp):
    smtp.down()
    app = make_app(tmp_path, **alert_config(smtp, ALERT_EMAIL_TO=[RECIPIENTS[0]]))
    reference = send(app, URGENT)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["outbox", "send-due"])
    assert "failed 1" in result.output
    listed = runner.invoke(args=["outbox", "list", "--failed"]).output
    assert reference in listed and "failed" in listed
    [row] = rows(app)
    assert runner.invoke(args=["outbox", "retry", str(row.id)]).exit_code == 0
    assert runner.invoke(args=["outbox", "retry", "999"]).exit_code != 0
    smtp.up()
    assert "Sent 1" in runner.invoke(args=["outbox", "send-due"]).output


@pytest.mark.slow
def test_the_long_running_relay_sends_and_stops_cleanly_on_sigterm(tmp_path, smtp):
    config = alert_config(smtp, ALERT_EMAIL_TO=[RECIPIENTS[0]])
    app = make_app(tmp_path, **config)
    env = process_env(app.config["DATABASE_URL"], tmp_path, config)
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "screening", "outbox", "run", "--interval", "0.2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        reference = send(app, URGENT)
        deadline = time.monotonic() + 60
        while not smtp.messages and time.monotonic() < deadline:
            time.sleep(0.1)
        [mail] = smtp.to(RECIPIENTS[0])
        assert reference in mail.get_content()
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert "Outbox relay stopped." in output


def test_a_claim_running_out_hands_the_rest_back_unsent(tmp_path, smtp):
    app = make_app(tmp_path, **alert_config(smtp))
    with clock.frozen(T0):
        send(app, URGENT)
        with app.app_context():
            batch = relay.claim(10)
    assert len(batch) == 2 and {r.status for r in rows(app)} == {"sending"}
    with clock.frozen(batch[0].locked_until - dt.timedelta(seconds=5)), app.app_context():
        assert not relay._time_left(batch[0])
        relay._release([m.id for m in batch])
        assert one_pass(app).sent == 2
    assert [(r.status, r.attempts) for r in rows(app)] == [("sent", 1), ("sent", 1)]
    assert len(smtp.messages) == 2


def test_without_public_url_a_forged_host_never_reaches_an_email(tmp_path, smtp):
    app = make_app(tmp_path, **alert_config(smtp, PUBLIC_URL=None))
    definition = checked(DEFAULT)
    client = app.test_client()
    client.environ_base["HTTP_HOST"] = "evil.example"  # every request names another host
    patient = Patient(client)
    pages = all_clear_answers(definition)
    pages[definition.questions["saddle_numbness"].section_id]["saddle_numbness"] = "yes"
    for section_id, answers in pages.items():
        assert patient.answer(section_id, answers).status_code == 302
    assert patient.submit().status_code in (302, 303)
    one_pass(app)
    assert len(smtp.messages) == 2
    for _, raw in smtp.messages:
        assert b"evil.example" not in raw
        assert b"Find it by this reference" in raw
