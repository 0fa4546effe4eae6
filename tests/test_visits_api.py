"""The visits API: Bearer keys (hashed, scoped, revocable), every call audited,
idempotent on external_id, clear 400s naming the field, never a 500."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from screening import db
from screening.models import ApiKey, AuditEvent, Visit

from .conftest import Clinician, add_user

BOOKING = {
    "given_name": "Maria",
    "family_name": "Smith",
    "birth_date": "1970-03-25",
    "starts_at": "2026-03-03T09:30:00Z",
    "external_id": "PMS-1001",
    "clinician": "Dr A",
    "phone": "07700 900123",
}


@pytest.fixture
def admin_browser(app):
    add_user(app, "admin@example.org", role="admin")
    browser = Clinician(app.test_client())
    assert browser.sign_in("admin@example.org").status_code == 302
    return browser


def make_key(admin_browser, name: str = "Booking system", scopes=("visits:write", "visits:read")) -> str:
    page = admin_browser.post("/review/api-keys", {"name": name, "scopes": list(scopes)})
    assert page.status_code == 200, page.text
    return re.search(r'<code id="new-key">([^<]+)</code>', page.text).group(1)


def _events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session().scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def auth(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def test_push_a_booking_twice_gets_one_visit_and_its_state(app, admin_browser):
    key = make_key(admin_browser)
    with app.app_context():
        row = db.session().scalars(select(ApiKey)).one()
        assert key not in row.key_hash and row.key_hash != key and key.startswith(row.prefix)
    api = app.test_client()
    first = api.post("/api/v1/visits", json=BOOKING, headers=auth(key))
    assert first.status_code == 201, first.json
    body = first.json
    assert body["created"] is True
    assert body["kind"] == "first" and body["questionnaire_id"] == "acupuncture-low-back-pain"
    assert body["starts_at"] == "2026-03-03T09:30:00Z"
    assert body["screening_state"] == "sent" and body["link"]["state"] == "sent"
    assert "/i?t=" in body["link"]["url"]
    # The same booking again (a retry, or a moved time): the same visit, updated, no new link.
    again = api.post("/api/v1/visits", json=BOOKING | {"starts_at": "2026-03-03T10:00:00Z"}, headers=auth(key))
    assert again.status_code == 200
    assert again.json["id"] == body["id"] and again.json["created"] is False
    assert "url" not in again.json["link"] and again.json["starts_at"] == "2026-03-03T10:00:00Z"
    with app.app_context():
        assert db.session().scalar(select(func.count(Visit.id))) == 1
    state = api.get(f"/api/v1/visits/{body['id']}", headers=auth(key))
    assert state.status_code == 200
    assert state.json["link"]["state"] == "sent"
    assert set(state.json) >= {"id", "screening_state", "link", "starts_at", "status"}
    # Reissue through the API: a new address, the old one stops working.
    new = api.post(f"/api/v1/visits/{body['id']}/link", headers=auth(key))
    assert new.status_code == 201 and new.json["link"]["url"] != body["link"]["url"]
    assert api.get(body["link"]["url"].split("localhost")[1]).status_code == 404
    assert api.post(f"/api/v1/visits/{body['id']}/revoke", headers=auth(key)).json["link"]["state"] == "revoked"
    assert api.get("/api/v1/visits/999999", headers=auth(key)).status_code == 404
    # Every call is audited, none with the key itself.
    calls = _events(app, "api_call")
    assert [c.detail["status"] for c in calls] == [201, 200, 200, 201, 200]
    assert all(key not in str(c.detail) for c in _events(app, "api_call") + _events(app, "api_refused"))
    with app.app_context():
        assert db.session().scalars(select(ApiKey)).one().last_used_at is not None


def test_bad_input_is_a_400_naming_the_field(app, admin_browser):
    key = make_key(admin_browser)
    api = app.test_client()
    cases = [
        ({k: v for k, v in BOOKING.items() if k != "birth_date"}, {"birth_date": "is missing"}),
        (BOOKING | {"birth_date": "25/13/1970"}, {"birth_date": "is not a date"}),
        (BOOKING | {"starts_at": 12}, {"starts_at": "is not a date and time"}),
        (BOOKING | {"given_name": {"a": 1}}, {"given_name": "must be text"}),
        (BOOKING | {"email": "nope"}, {"email": "is not an email address"}),
        (BOOKING | {"given_name": "x" * 500}, {"given_name": "is too long"}),
        (BOOKING | {"colour": "red"}, {"colour": "is not a field"}),
        (BOOKING | {"given_name": "A\x00B"}, {"given_name": "contains a character"}),
    ]
    for payload, expected in cases:
        response = api.post("/api/v1/visits", json=payload, headers=auth(key))
        assert response.status_code == 400, (payload, response.status_code)
        for name, words in expected.items():
            assert response.json["fields"][name].startswith(words), response.json
    for body, content_type in [("not json", "application/json"), ("[1, 2]", "application/json"), ("a=b", "text/plain")]:
        response = api.post("/api/v1/visits", data=body, content_type=content_type, headers=auth(key))
        assert response.status_code == 400 and "body" in response.json["fields"]
    assert api.post(
        "/api/v1/visits", data="{" * 100000, content_type="application/json", headers=auth(key)
    ).status_code in (400, 413)
    assert api.put("/api/v1/visits/1", headers=auth(key)).status_code == 405
    with app.app_context():
        assert db.session().scalar(select(func.count(Visit.id))) == 0
    # The same booking id already used for another patient.
    assert api.post("/api/v1/visits", json=BOOKING, headers=auth(key)).status_code == 201
    other = BOOKING | {"given_name": "Ann", "birth_date": "1980-01-01"}
    clash = api.post("/api/v1/visits", json=other, headers=auth(key))
    assert clash.status_code == 400 and "external_id" in clash.json["fields"]


def test_keys_missing_wrong_unscoped_or_revoked_are_refused_and_audited(app, admin_browser):
    key = make_key(admin_browser)
    reader = make_key(admin_browser, "Reporting", scopes=("visits:read",))
    api = app.test_client()
    assert api.post("/api/v1/visits", json=BOOKING).status_code == 401
    assert api.post("/api/v1/visits", json=BOOKING, headers={"Authorization": "Basic abc"}).status_code == 401
    assert api.post("/api/v1/visits", json=BOOKING, headers=auth(key[:-1] + "x")).status_code == 401
    assert api.post("/api/v1/visits", json=BOOKING, headers=auth("scr_nope")).status_code == 401
    assert api.post("/api/v1/visits", json=BOOKING, headers=auth(reader)).status_code == 403
    assert api.post("/api/v1/visits", json=BOOKING, headers=auth(key)).status_code == 201
    # Revoked on the admin page: refused from then on, and each refusal audited.
    with app.app_context():
        key_id = db.session().scalars(select(ApiKey).where(ApiKey.name == "Booking system")).one().id
    token = admin_browser.token("/review/api-keys")
    assert admin_browser.post(f"/review/api-keys/{key_id}/revoke", token=token).status_code == 302
    refused = api.post("/api/v1/visits", json=BOOKING | {"external_id": "PMS-2"}, headers=auth(key))
    assert refused.status_code == 401 and refused.json["error"] == "The API key was revoked"
    assert api.get("/api/v1/visits/1", headers=auth(key)).status_code == 401
    refusals = _events(app, "api_refused")
    assert [r.detail["status"] for r in refusals] == [401, 401, 401, 401, 403, 401, 401]
    assert refusals[-1].detail["key"] == key.split("_")[0] + "_" + key.split("_")[1]
    assert len(_events(app, "api_key_created")) == 2 and len(_events(app, "api_key_revoked")) == 1
    with app.app_context():
        assert db.session().scalar(select(func.count(Visit.id))) == 1
    # The page lists keys by prefix only, never the whole key.
    page = admin_browser.get("/review/api-keys")
    assert key not in page.text and "Revoked" in page.text


def test_only_admins_manage_keys(app, clinician):
    assert clinician.get("/review/api-keys").status_code == 403


def test_a_cancelled_booking_closes_its_link(app, admin_browser):
    key = make_key(admin_browser)
    api = app.test_client()
    made = api.post("/api/v1/visits", json=BOOKING | {"starts_at": "2099-03-03T09:30:00Z"}, headers=auth(key))
    url = made.json["link"]["url"].split("localhost")[1]
    cancelled = api.post("/api/v1/visits", json=BOOKING | {"status": "cancelled"}, headers=auth(key))
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    page = app.test_client().get(url)
    assert page.status_code == 410 and "This appointment was cancelled" in page.text
