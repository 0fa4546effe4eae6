"""No 500 from any input (issue 13, item 6): every route, every shape of bad request, both databases."""

from __future__ import annotations

import io
import json

import pytest

from .conftest import Clinician, Patient, add_user

NUL = "a\x00b"
LONG_EMAIL = "x" * 300 + "@example.org"
FIELDS = [
    *("email", "password", "code", "q", "note", "reason", "name", "outcome", "confirm", "current", "role"),
    *("from", "to", "state", "before", "after", "actor", "action", "reference"),
    *("full_name", "date_of_birth", "saddle_numbness"),
]


def fill(rule, value: str) -> str:
    """A concrete URL for a rule, every argument set to `value`."""
    url = rule.rule
    for arg in rule.arguments:
        url = url.replace(f"<int:{arg}>", value).replace(f"<{arg}>", value)
    return url


def shapes(token: str) -> list[tuple[str, dict]]:
    """Bad requests by name: keyword arguments for the test client's open()."""
    headers = {"X-CSRFToken": token}
    return [
        ("json", {"data": json.dumps({f: [1, {"a": None}] for f in FIELDS}), "content_type": "application/json"}),
        ("json-not-an-object", {"data": "[1, 2", "content_type": "application/json", "headers": headers}),
        ("upload", {"data": {f: (io.BytesIO(b"\x00\xff"), "x.bin") for f in FIELDS} | {"csrf_token": token}}),
        ("nul", {"data": dict.fromkeys(FIELDS, NUL) | {"csrf_token": token}, "query_string": {"q": NUL}}),
        ("long", {"data": dict.fromkeys(FIELDS, LONG_EMAIL) | {"csrf_token": token}}),
        ("lists", {"data": {f: ["1", "2", NUL] for f in FIELDS} | {"csrf_token": token}}),
        ("query", {"query_string": dict.fromkeys(FIELDS, NUL) | {"before": "9" * 40, "after": "-1"}}),
    ]


@pytest.fixture
def browsers(app):
    """A stranger, a patient part-way through, and a signed-in admin (not account 1, which the
    walk resets, deactivates and so on)."""
    add_user(app, "someone@example.org")
    add_user(app, "admin@example.org", role="admin")
    admin = Clinician(app.test_client())
    assert admin.sign_in("admin@example.org").status_code == 302
    patient = Patient(app.test_client())
    patient.get("/")
    return {"stranger": Patient(app.test_client()), "patient": patient, "admin": admin}


def test_no_route_answers_any_hostile_request_with_a_500(app, browsers):
    """JSON with non-string values, uploads, NULs, 300-character emails, lists, huge ids: 4xx, never 5xx."""
    failures = []
    # Sign-out last: the admin stays signed in for every other route.
    rules = sorted(
        (rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"),
        key=lambda rule: rule.endpoint == "review.logout",
    )
    for who, browser in browsers.items():
        token = browser.token("/review/" if who == "admin" else "/review/login")
        for rule in rules:
            for value in ("1", "9" * 30, str(2**31), NUL, "ABCD-EFGH-JKLM"):
                url = fill(rule, value)
                for method in sorted(rule.methods - {"OPTIONS", "HEAD"}):
                    for name, request in shapes(token) if method == "POST" else shapes(token)[-1:]:
                        response = browser.client.open(url, method=method, **request)
                        if response.status_code >= 500:
                            failures.append((who, method, url, name, response.status_code))
        if who == "admin":
            assert browser.get("/review/login").status_code == 200  # signed out only by the last route
    assert failures == []


def test_a_25_megabyte_sign_in_is_413_with_a_page(client):
    """A huge body is refused before it is read, with the app's own page (no second read of the body)."""
    body = {"email": "a@example.org", "password": "x" * (25 * 1024 * 1024)}
    response = client.client.post("/review/login", data=body)
    assert response.status_code == 413
    assert "too much to send" in response.text
