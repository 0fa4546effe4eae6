"""A new secret key keeps patients' drafts, and an expired draft is explained (issue 13, item 22).

Two apps on one database stand for the server before and after a clinic changes its
SECRET_KEY: a browser's cookies are carried from one to the other.
"""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask
from itsdangerous import URLSafeTimedSerializer

from screening import clock, create_app, security
from screening.config import UnsafeConfiguration
from screening.review import signin

from .conftest import _APPS, Clinician, Patient, add_user, make_app
from .test_app import STRONG_KEY
from .test_intake import ALL_CLEAR, saved_answers

OLD_KEY = "3f9a0c5e7b1d4a6f8e2c0b9d7a5f3e1c9b7d5f3a1e8c6b4d"
NEW_KEY = "a81c5e9f2d7b4063c1e8f5a2d9b6c3e0f7a4d1b8e5c2f9a6"
WHEN = dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.UTC)
FIRST, SECOND = list(ALL_CLEAR)[:2]


def rotated(app: Flask, tmp_path, **config) -> Flask:
    """The same clinic after a restart with NEW_KEY (and whatever `config` says), on the same database."""
    settings = app.config | {"SECRET_KEY": NEW_KEY, "SECRET_KEY_FALLBACKS": [OLD_KEY]} | config
    settings.pop("WTF_CSRF_SECRET_KEY", None)  # worked out again from the keys, as at a real start
    definition = app.extensions["screening.questionnaire"]
    return disposed_after_the_test(create_app(settings, instance_path=str(tmp_path / "after"), definition=definition))


def disposed_after_the_test(app: Flask) -> Flask:
    """The app's database connections are closed after the test, as make_app's are."""
    _APPS.append(app)
    return app


def carried(old: Patient | Clinician, app: Flask, cookie: str = "screening_session"):
    """The same browser (its cookies) talking to `app`."""
    browser = type(old)(app.test_client())
    for name in (cookie, "screening_device"):
        found = old.client.get_cookie(name)
        if found is not None:
            browser.client.set_cookie(name, found.value)
    return browser


def test_a_draft_and_an_open_page_survive_a_key_rotation(tmp_path):
    """Answers saved, the next page open; the key changes; the page is sent and saved, nothing lost."""
    before = make_app(tmp_path, SECRET_KEY=OLD_KEY, WTF_CSRF_ENABLED=True)
    patient = Patient(before.test_client())
    assert patient.answer(FIRST, ALL_CLEAR[FIRST]).status_code == 302
    token = patient.token(f"/intake/{SECOND}")  # the page is open when the key changes

    after = rotated(before, tmp_path)
    same = carried(patient, after)
    assert "Continue where you left off" in same.get("/").text
    response = same.post(f"/intake/{SECOND}", ALL_CLEAR[SECOND], token=token)
    assert response.status_code == 302, "the page signed with the old key was refused"
    assert set(ALL_CLEAR[FIRST]) | set(ALL_CLEAR[SECOND]) <= set(saved_answers(after))
    # The next page is signed with the new key only: it reads without the fallback too.
    fresh = same.token(f"/intake/{list(ALL_CLEAR)[2]}")
    assert URLSafeTimedSerializer(NEW_KEY, salt="wtf-csrf-token").loads(fresh)


def test_without_the_old_key_the_draft_is_out_of_reach(tmp_path):
    """The control: the same rotation with no fallback loses the browser's draft (so the test above means something)."""
    before = make_app(tmp_path, SECRET_KEY=OLD_KEY)
    patient = Patient(before.test_client())
    patient.answer(FIRST, ALL_CLEAR[FIRST])
    same = carried(patient, rotated(before, tmp_path, SECRET_KEY_FALLBACKS=[]))
    assert same.get("/").text.count("Continue where you left off") == 0
    with same.client.session_transaction() as session:
        assert "draft" not in session


def test_a_known_device_stays_known_after_a_key_rotation(tmp_path):
    """The known-device cookie is read with the retired key too (the owner is not treated as a stranger)."""
    before = make_app(tmp_path, SECRET_KEY=OLD_KEY)
    add_user(before, "clinician@example.org")
    owner = Clinician(before.test_client())
    with clock.frozen(WHEN):
        assert owner.sign_in("clinician@example.org").status_code == 302
    cookie = owner.client.get_cookie("screening_device")
    assert cookie is not None
    after = rotated(before, tmp_path)
    with after.test_request_context("/review/login", headers={"Cookie": f"screening_device={cookie.value}"}):
        assert signin.known_device("clinician@example.org")
        assert security.signing_keys() == [OLD_KEY, NEW_KEY]
    alone = rotated(before, tmp_path, SECRET_KEY_FALLBACKS=[])
    with alone.test_request_context("/review/login", headers={"Cookie": f"screening_device={cookie.value}"}):
        assert signin.known_device("clinician@example.org") is None


def test_fallbacks_from_the_environment_and_the_instance_file(tmp_path, monkeypatch):
    """SCREENING_SECRET_KEY_FALLBACKS may list keys separated by spaces; instance/secret_key_fallbacks adds more."""
    monkeypatch.setenv("SCREENING_SECRET_KEY_FALLBACKS", f"{OLD_KEY}  retired-two")
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "secret_key_fallbacks").write_text(f"# retired on 2026-11-01\n{'f' * 8}{OLD_KEY[8:]}\n\n")
    app = make_app(tmp_path, SECRET_KEY=NEW_KEY)
    assert app.config["SECRET_KEY_FALLBACKS"] == [OLD_KEY, "retired-two", "f" * 8 + OLD_KEY[8:]]
    assert security.signing_keys(app) == [OLD_KEY, "retired-two", "f" * 8 + OLD_KEY[8:], NEW_KEY]
    assert app.config["WTF_CSRF_SECRET_KEY"] == security.signing_keys(app)


def test_the_instance_key_can_be_rotated_by_moving_it(tmp_path):
    """The documented rotation of the key the app made itself: move instance/secret_key to
    instance/secret_key_fallbacks and restart; a new key is made and the old one still reads."""
    instance = tmp_path / "instance"
    before = make_app(tmp_path, SECRET_KEY=None)
    old = (instance / "secret_key").read_text().strip()
    assert before.config["SECRET_KEY"] == old
    patient = Patient(before.test_client())
    patient.answer(FIRST, ALL_CLEAR[FIRST])
    with (instance / "secret_key_fallbacks").open("a") as retired:
        retired.write((instance / "secret_key").read_text())
    (instance / "secret_key").unlink()
    after = disposed_after_the_test(
        create_app(
            before.config | {"SECRET_KEY": None, "SECRET_KEY_FALLBACKS": []},
            instance_path=str(instance),
            definition=before.extensions["screening.questionnaire"],
        )
    )
    assert after.config["SECRET_KEY"] != old and after.config["SECRET_KEY_FALLBACKS"] == [old]
    same = carried(patient, after)
    with same.client.session_transaction() as session:
        assert session.get("draft"), "the draft's token did not survive the new key"


@pytest.mark.parametrize("fallback", ["x", "a" * 64])
def test_production_refuses_a_weak_retired_key(tmp_path, fallback):
    """A retired key still opens sessions: in production it must be as strong as the current one."""
    with pytest.raises(UnsafeConfiguration, match="SECRET_KEY_FALLBACKS"):
        make_app(tmp_path, PRODUCTION=True, SECRET_KEY=STRONG_KEY, SECRET_KEY_FALLBACKS=[fallback])


def test_an_expired_draft_is_explained_once(tmp_path):
    """A patient who comes back after the draft's lifetime is told the answers were kept for
    24 hours and deleted, on the page they open; then the form starts afresh, with no repeat."""
    app = make_app(tmp_path)
    patient = Patient(app.test_client())
    with clock.frozen(WHEN):
        patient.answer(FIRST, ALL_CLEAR[FIRST])
    with clock.frozen(WHEN + dt.timedelta(hours=25)):
        page = patient.get(f"/intake/{SECOND}").text
        assert "Your earlier answers were kept for 24 hours after your last change" in page
        assert "Please start again from the first page." in page
        assert "kept for 24 hours" not in patient.get("/").text
        assert "kept for 24 hours" not in patient.get(f"/intake/{FIRST}").text


def test_an_expired_draft_on_send_is_explained(tmp_path):
    """Send pressed on a check page left open past the draft's lifetime: the patient is told why."""
    app = make_app(tmp_path)
    patient = Patient(app.test_client())
    with clock.frozen(WHEN):
        for section_id, answers in ALL_CLEAR.items():
            patient.answer(section_id, answers)
        token = patient.token("/intake/check")
    with clock.frozen(WHEN + dt.timedelta(hours=30)):
        response = patient.post("/intake/submit", token=token)
        assert response.status_code == 302
        assert "kept for 24 hours after your last change" in patient.get(response.location).text


def test_a_sent_form_is_not_called_expired(tmp_path):
    """After Send the draft expires too: a patient who sent theirs is not told their answers were deleted."""
    app = make_app(tmp_path)
    patient = Patient(app.test_client())
    with clock.frozen(WHEN):
        for section_id, answers in ALL_CLEAR.items():
            patient.answer(section_id, answers)
        assert patient.submit().status_code in (302, 303)
    with clock.frozen(WHEN + dt.timedelta(hours=30)):
        assert "kept for 24 hours" not in patient.get("/intake/done").text
        assert "kept for 24 hours" not in patient.get("/").text


def test_the_browser_keeps_the_token_long_enough_to_be_told(tmp_path):
    """The session cookie outlives the draft by DRAFT_EXPIRED_NOTICE_DAYS, so the message can be shown."""
    app = make_app(tmp_path, DRAFT_EXPIRED_NOTICE_DAYS=7)
    patient = Patient(app.test_client())
    patient.answer(FIRST, ALL_CLEAR[FIRST])
    cookie = patient.client.get_cookie("screening_session")
    assert cookie is not None and cookie.expires is not None
    left = cookie.expires - dt.datetime.now(dt.UTC)
    assert dt.timedelta(days=7, hours=23) < left <= dt.timedelta(days=8)
