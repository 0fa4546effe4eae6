"""Personal links (spec 3.3): the token, the date-of-birth check and lockout, resume on
another device, one submission, no Referer and no token in a log, key rotation."""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging

from sqlalchemy import func, select

from screening import clock, create_app, db, versions
from screening.models import AuditEvent, Draft, Submission

from .conftest import _APPS, Patient, make_app
from .visits_helpers import BIRTH, WRONG_BIRTH, born, locked_link, new_visit, open_link, pages_to_answer, path_of


def test_resume_on_a_second_device_and_one_submission(app):
    """Spec 3.3 checks 3 and 5: page 1 in one browser, the rest in another, sent once."""
    made = new_visit(app)
    first, second = Patient(app.test_client()), Patient(app.test_client())
    response = open_link(first, made.url)
    assert response.status_code == 303
    pages = pages_to_answer()
    landing = response.location
    assert landing.endswith(f"/intake/{pages[0][0]}")
    assert first.answer(*pages[0]).status_code == 302
    # A second browser (no cookies shared): the same link, the date again, page 2.
    response = open_link(second, made.url)
    assert response.status_code == 303
    assert response.location.endswith(f"/intake/{pages[1][0]}")
    page = second.get(f"/intake/{pages[0][0]}")
    for qid, value in pages[0][1].items():
        if isinstance(value, str):
            assert f'value="{value}"' in page.text or value in page.text, qid
    for section_id, answers in pages[1:]:
        assert second.answer(section_id, answers).status_code == 302, section_id
    about = second.get("/intake/about_you")
    assert 'name="full_name"' not in about.text and 'name="date_of_birth"' not in about.text
    # The check page shows the identity the booking gave, with no Change link to a
    # question the pages do not ask; the patient's own answers keep theirs.
    check_page = second.get("/intake/check").text
    assert "Maria Smith" in check_page and "From your booking" in check_page
    assert "#full_name" not in check_page and "#date_of_birth" not in check_page
    assert f"/intake/{pages[1][0]}?change=1#" in check_page
    token = second.token("/intake/check")
    # A double click: the same form sent twice.
    assert second.post("/intake/submit", token=token).status_code in (302, 303)
    assert second.post("/intake/submit", token=token).status_code in (302, 303)
    # Both devices now see "already sent"; one submission, with the visit and the identity.
    assert "Your answers have been sent" in second.get("/i/sent").text
    done = first.get("/intake/done", follow_redirects=True)
    assert "Your answers have been sent" in done.text
    reopened = first.get(path_of(made.url), follow_redirects=True)
    assert "Your answers have been sent" in reopened.text
    with app.app_context():
        rows = db.session().scalars(select(Submission)).all()
        assert len(rows) == 1
        assert rows[0].visit_id == made.visit.id
        assert rows[0].answers["full_name"] == "Maria Smith"
        assert rows[0].answers["date_of_birth"] == "1970-03-25"


def _events(app, action: str) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == action))


def test_the_command_prints_a_link_whose_token_holds_only_an_id_and_a_nonce(app, runner):
    """Spec 3.3 check 1 (the command is `visits add`)."""
    args = ["visits", "add", "--given", "Maria", "--family", "Smith", "--dob", "1970-03-25"]
    result = runner.invoke(args=[*args, "--at", "2026-03-03 09:30"])
    assert result.exit_code == 0, result.output
    url = next(line for line in result.output.splitlines() if "/i?t=" in line)
    token = url.split("/i?t=")[1]
    first = token.split(".")[0]
    payload = json.loads(base64.urlsafe_b64decode(first + "=" * (-len(first) % 4)))
    assert set(payload) == {"i", "n"}
    assert isinstance(payload["i"], int) and len(payload["n"]) >= 20
    assert "Maria" not in url and "1970" not in url
    # The nonce is stored only as its hash.
    with app.app_context():
        from screening.models import VisitLink

        link = db.session().get(VisitLink, payload["i"])
        assert link.nonce_hash != payload["n"] and payload["n"] not in link.nonce_hash
    # A wrong field is named, and nothing is stored.
    bad = runner.invoke(args=["visits", "add", "--given", "A", "--family", "B", "--dob", "25/13/1970", "--at", "x"])
    assert bad.exit_code == 1
    assert "--dob: Date of birth is not a date" in bad.output and "--at: Date and time of the visit" in bad.output


def test_five_wrong_dates_lock_the_link_for_fifteen_minutes(app):
    """Spec 3.3 check 2."""
    start = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
    with clock.frozen(start):
        made = new_visit(app)
        patient = Patient(app.test_client())
        assert patient.get(path_of(made.url)).status_code == 303
        wrong = born("26", "3", "1970")
        csrf = patient.token("/i/check")
        for _ in range(4):
            response = patient.post("/i/check", wrong)
            assert response.status_code == 400
            assert "The date of birth does not match" in response.text
        locked = patient.post("/i/check", wrong)
        assert locked.status_code == 429
        assert "15 minutes" in locked.text
        # The right date during the lock is refused too.
        assert patient.post("/i/check", BIRTH, token=csrf).status_code == 429
        assert patient.get("/i/check").status_code == 429
    assert _events(app, "link_identity_failed") == 5
    assert _events(app, "link_locked") == 1
    assert _events(app, "link_identified") == 0
    assert _events(app, "link_refused_locked") == 1
    with clock.frozen(start + dt.timedelta(minutes=15, seconds=1)):
        assert patient.post("/i/check", BIRTH).status_code == 303
    assert _events(app, "link_identified") == 1


def test_ten_wrong_dates_revoke_the_link(app):
    """After a second lock, five more wrong dates revoke the link for good."""
    start = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
    wrong = WRONG_BIRTH
    with clock.frozen(start):
        made, patient, csrf = locked_link(app)
    with clock.frozen(start + dt.timedelta(minutes=16)):
        for _ in range(4):
            assert patient.post("/i/check", wrong, token=csrf).status_code == 400
        assert patient.post("/i/check", wrong, token=csrf).status_code == 404
        assert patient.post("/i/check", BIRTH, token=csrf).status_code == 404
        assert Patient(app.test_client()).get(path_of(made.url)).status_code == 404


def test_a_changed_token_an_expired_link_and_a_reissued_one(app):
    """Spec 3.3 check 4."""
    made = new_visit(app)
    url = path_of(made.url)
    token = url.split("t=")[1]
    changed = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    patient = Patient(app.test_client())
    unknown = patient.get("/i?t=not-a-token.at-all")
    tampered = patient.get(f"/i?t={changed}")
    assert unknown.status_code == tampered.status_code == 404
    assert unknown.data == tampered.data
    # Changed in the payload (another link id): the signature no longer matches.
    payload = token.split(".")[0]
    assert patient.get(f"/i?t={payload[:-1]}x.{token.split('.', 1)[1]}").data == unknown.data
    # After expiry: the expired page.
    assert made.expires_at is not None
    with clock.frozen(made.expires_at + dt.timedelta(seconds=1)):
        expired = patient.get(url)
        assert expired.status_code == 410
        assert "This link has expired" in expired.text
    # Reissued: the old link is a 404 like any unknown one, the new one works.
    with app.test_request_context():
        from screening.visits.app import issue_link

        new_url, _ = issue_link(made.visit.id, how="test", actor="test")
    assert patient.get(url).data == unknown.data
    assert open_link(Patient(app.test_client()), new_url).status_code == 303


def test_link_pages_send_no_referrer_and_load_only_this_site(app):
    """Spec 3.3 check 6 (the headers and resources; the logs are the next test)."""
    made = new_visit(app)
    patient = Patient(app.test_client())
    opened = patient.get(path_of(made.url))
    assert opened.headers["Referrer-Policy"] == "no-referrer"
    check = patient.get("/i/check")
    assert check.headers["Referrer-Policy"] == "no-referrer"
    assert "default-src 'self'" in check.headers["Content-Security-Policy"]
    assert "http://" not in check.text and "https://" not in check.text and "//" not in check.text.replace("://", "")
    missing = patient.get("/i?t=nope")
    assert missing.headers["Referrer-Policy"] == "no-referrer"


def test_no_token_in_the_logs(app, caplog):
    """Spec 3.3 check 6: gunicorn's access log has the path without the query; the
    development server's log line has the token blanked out."""
    from screening import gunicorn_conf
    from screening.visits.logfilter import RedactLinkTokens

    assert "%(U)s" in gunicorn_conf.access_log_format and "%(r)s" not in gunicorn_conf.access_log_format
    assert "%(q)s" not in gunicorn_conf.access_log_format
    made = new_visit(app)
    token = made.url.split("t=")[1]
    record = logging.LogRecord(
        "werkzeug",
        logging.INFO,
        __file__,
        1,
        '%s - - "%s" %s %s',
        ("127.0.0.1", f"GET /i?t={token} HTTP/1.1", "303", "-"),
        None,
    )
    assert RedactLinkTokens().filter(record)
    assert token not in record.getMessage()
    assert "/i?t=[hidden]" in record.getMessage()
    # The filter is on the werkzeug logger once the app is made.
    assert any(isinstance(f, RedactLinkTokens) for f in logging.getLogger("werkzeug").filters)
    with caplog.at_level(logging.DEBUG):
        patient = Patient(app.test_client())
        open_link(patient, made.url)
        patient.get("/i?t=" + token[:-2])
    assert token not in caplog.text and token[:-2] not in caplog.text


def test_links_survive_a_key_rotation(tmp_path):
    """Spec 3.3 check 7: made under the old key, opened with the new key and the old as fallback."""
    app = make_app(tmp_path, SECRET_KEY="old-key")
    url = path_of(new_visit(app).url)
    app.config.update(SECRET_KEY="new-key", SECRET_KEY_FALLBACKS=["old-key"])
    assert Patient(app.test_client()).get(url).status_code == 303
    # As an environment variable gives it (SCREENING_SECRET_KEY_FALLBACKS="older-key old-key"):
    # text, read when the app starts.
    settings = {key: app.config[key] for key in ("TESTING", "DATABASE_URL", "QUESTIONS_PATH", "RATELIMIT_STORAGE_URI")}
    settings |= {"SECRET_KEY": "new-key", "SECRET_KEY_FALLBACKS": "older-key old-key"}
    rotated = create_app(settings, instance_path=str(tmp_path / "rotated"), definition=app.extensions[versions.CURRENT])
    _APPS.append(rotated)  # its connections are closed after the test
    assert Patient(rotated.test_client()).get(url).status_code == 303
    app.config["SECRET_KEY_FALLBACKS"] = []
    assert Patient(app.test_client()).get(url).status_code == 404
    # A link made now is signed with the new key.
    new = path_of(new_visit(app, at="2026-03-04 10:00", given_name="Ann").url)
    assert Patient(app.test_client()).get(new).status_code == 303


def test_closed_intake_opens_only_through_a_link(tmp_path):
    """SCREENING_OPEN_INTAKE=false: no anonymous start, but a link works all the way."""
    app = make_app(tmp_path, OPEN_INTAKE=False)
    walk_in = Patient(app.test_client())
    assert walk_in.get("/").status_code == 403
    assert "Use the link from your clinic" in walk_in.get("/").text
    assert walk_in.get("/intake/warning_signs").status_code == 403
    made = new_visit(app, at="2099-01-10 09:30")
    patient = Patient(app.test_client())
    landing = open_link(patient, made.url)
    assert patient.get(landing.location).status_code == 200
    assert patient.answer(*pages_to_answer()[0]).status_code == 302
    with app.app_context():
        draft = db.session().scalars(select(Draft)).one()
        assert draft.visit_id == made.visit.id
        # The visit's draft lives as long as its link, not the anonymous 24 hours.
        assert draft.expires_at == made.expires_at == dt.datetime(2099, 1, 12, tzinfo=dt.UTC)


def test_a_date_that_is_not_a_date_names_the_box_and_is_not_a_failure(app):
    made = new_visit(app)
    patient = Patient(app.test_client())
    patient.get(path_of(made.url))
    response = patient.post("/i/check", born("25", "13", "1970"))
    assert response.status_code == 400
    assert "the month must be a number from 1 to 12" in response.text
    assert 'href="#dob-month"' in response.text
    assert "must include a day" in patient.post("/i/check", born("", "3", "1970")).text
    assert _events(app, "link_identity_failed") == 0
    # Month names work as well as numbers.
    assert patient.post("/i/check", born("25", "March", "1970")).status_code == 303


def test_starting_again_keeps_the_draft_the_visits(app):
    """ "Delete my answers and start again" on a visit's draft: the answers go, the identity
    and the visit stay, so what is sent next still belongs to the visit."""
    made = new_visit(app)
    patient = Patient(app.test_client())
    open_link(patient, made.url)
    assert patient.answer(*pages_to_answer()[0]).status_code == 302
    assert patient.post("/intake/restart", token=patient.token("/intake/delete")).status_code == 302
    with app.app_context():
        draft = db.session().scalars(select(Draft)).one()
        assert draft.visit_id == made.visit.id
        assert set(draft.answers) == {"full_name", "date_of_birth", "phone"}
    assert patient.answer(*pages_to_answer()[0]).status_code == 302
    with app.app_context():
        assert db.session().scalar(select(func.count(Draft.token))) == 1


def test_a_booking_answer_the_questionnaire_refuses_is_asked_not_hidden(app):
    """The booking's phone is not one the questionnaire takes (the clinic's system let it
    through): the patient is asked for it on its page rather than stuck on a check page
    that says "Not answered yet" with no way to answer."""
    made = new_visit(app)
    patient = Patient(app.test_client())
    open_link(patient, made.url)
    with app.app_context(), db.get_db().transaction() as s:
        draft = s.scalars(select(Draft)).one()
        draft.answers = draft.answers | {"phone": "call the office"}
    about = patient.get("/intake/about_you").text
    assert 'name="phone"' in about and 'name="full_name"' not in about
    check = patient.get("/intake/check").text
    assert 'href="/intake/about_you?change=1#phone"' in check
    assert "#full_name" not in check and "From your booking" in check
