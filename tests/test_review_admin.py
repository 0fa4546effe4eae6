"""The admin pages: accounts, password changes and resets, and the audit log with its CSV."""

from __future__ import annotations

import csv
import html
import io
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from screening import auth, db
from screening.models import AuditEvent, User
from screening.review import admin as admin_pages
from tests.conftest import PASSWORD, Clinician, add_user

NEW_PASSWORD = "plum orchard lantern"  # passes the policy
OTHER_PASSWORD = "copper kettle meadow"


pytestmark = pytest.mark.usefixtures("fresh_limits")


def sign_in(app, email: str, password: str = PASSWORD) -> Clinician:
    """A new browser, signed in."""
    browser = Clinician(app.test_client())
    assert browser.sign_in(email, password).status_code == 302
    return browser


def can_sign_in(app, email: str, password: str) -> bool:
    """Whether these credentials open a session."""
    return Clinician(app.test_client()).sign_in(email, password).status_code == 302


def is_signed_in(browser) -> bool:
    """Whether this browser can see the submissions list."""
    return browser.get("/review/").status_code == 200


def account(app, email: str) -> User:
    """The stored account with this email."""
    with app.app_context():
        return db.session().scalars(select(User).where(User.email == email)).one()


def events(app, action: str | None = None) -> list[AuditEvent]:
    """Audit rows (of one action), oldest first."""
    with app.app_context():
        query = select(AuditEvent).order_by(AuditEvent.id)
        if action:
            query = query.where(AuditEvent.action == action)
        return list(db.session().scalars(query))


def error_summary(page) -> list[str]:
    """The messages in the page's error summary."""
    match = re.search(r'<div class="error-summary".*?</div>', page.text, re.S)
    return [html.unescape(text) for text in re.findall(r"<li>(?:<a [^>]*>)?([^<]+)", match.group(0))] if match else []


def add_account(browser, **fields):
    """Post the add-account form (a valid clinician unless fields say otherwise)."""
    form = {
        "name": "Sam Physio",
        "email": "sam@example.org",
        "role": "clinician",
        "password": NEW_PASSWORD,
        "confirm": NEW_PASSWORD,
    }
    return browser.post("/review/users/new", form | fields)


def press(browser, url: str):
    """Press a button (a CSRF-only form) on the accounts page."""
    return browser.post(url, token=browser.token("/review/users"))


# Accounts


def test_the_accounts_page_lists_everyone(app, admin):
    """Name, email, role, status and created date of each account."""
    add_user(app, "jo@example.org", name="Jo Bloggs")
    add_user(app, "left@example.org", name="Lee Left", active=False)
    page = admin.get("/review/users")
    assert page.status_code == 200
    for text in ("Jo Bloggs", "jo@example.org", "Clinician", "Admin", "Lee Left", "Deactivated", "Active"):
        assert text in page.text
    created = account(app, "jo@example.org").created_at.strftime("%d %b %Y")
    assert created in page.text
    assert 'href="/review/users/new"' in page.text


def test_adding_an_account(app, admin):
    """The admin gives a name, email, role and temporary password; the person can then sign in."""
    response = add_account(admin, email="  Sam@Example.ORG ", role="admin")
    assert response.status_code == 302 and urlsplit(response.location).path == "/review/users"
    page = admin.get("/review/users")
    assert "Account created for Sam Physio (sam@example.org)" in page.text
    sam = account(app, "sam@example.org")
    assert (sam.name, sam.role, sam.active) == ("Sam Physio", "admin", True)
    assert sam.password_hash.startswith(app.config["PASSWORD_METHOD"] + "$")
    (created,) = events(app, "account_created")
    assert created.target_user_id == sam.id and created.actor == "admin@example.org"
    assert created.detail == {"role": "admin"}
    assert can_sign_in(app, "sam@example.org", NEW_PASSWORD)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"email": "Admin@Example.org"}, "An account with this email address already exists"),
        ({"password": "short", "confirm": "short"}, "Use at least 12 characters"),
        ({"password": "password1234", "confirm": "password1234"}, "too common"),
        ({"password": "sam physio rocks", "confirm": "sam physio rocks"}, "Do not use your name"),
        ({"confirm": "something else entirely"}, "The two passwords are not the same"),
        ({"email": "sam.example.org"}, "Enter an email address like name@clinic.org"),
        ({"name": ""}, "Enter the person's name"),
        ({"role": "superuser"}, "Not a valid choice"),
    ],
)
def test_adding_an_account_explains_what_is_wrong(app, admin, fields, message):
    """Errors appear in the summary at the top; nothing is stored or audited."""
    response = add_account(admin, **fields)
    assert response.status_code == 400
    assert any(message in item for item in error_summary(response)), error_summary(response)
    assert response.text.count(NEW_PASSWORD) == 0  # passwords are never echoed back
    with app.app_context():
        assert auth.count_users() == 1
    assert events(app, "account_created") == []


def test_deactivating_ends_the_sessions_and_reactivating_lets_them_back(app, admin, clinician):
    """Deactivation signs the person out at once and stops sign-in; reactivation undoes it."""
    user = account(app, "clinician@example.org")
    assert press(admin, f"/review/users/{user.id}/deactivate").status_code == 302
    assert "account is now deactivated" in admin.get("/review/users").text
    assert not is_signed_in(clinician)
    assert not can_sign_in(app, "clinician@example.org", PASSWORD)
    stored = account(app, "clinician@example.org")
    assert not stored.active and stored.session_version > user.session_version
    (deactivated,) = events(app, "account_deactivated")
    assert deactivated.target_user_id == user.id and deactivated.detail == {"role": "clinician"}

    assert press(admin, f"/review/users/{user.id}/reactivate").status_code == 302
    assert account(app, "clinician@example.org").active
    assert len(events(app, "account_reactivated")) == 1
    assert can_sign_in(app, "clinician@example.org", PASSWORD)


def test_pressing_deactivate_twice_changes_nothing_the_second_time(app, admin):
    """A double click writes one audit row, not two."""
    user_id = add_user(app, "jo@example.org")
    press(admin, f"/review/users/{user_id}/deactivate")
    press(admin, f"/review/users/{user_id}/deactivate")
    assert len(events(app, "account_deactivated")) == 1
    assert "already deactivated" in admin.get("/review/users").text


def test_an_admin_cannot_deactivate_themselves(app, admin):
    """The button is not offered, and a forged request is refused with a message."""
    me = account(app, "admin@example.org")
    page = admin.get("/review/users")
    assert f"/review/users/{me.id}/deactivate" not in page.text
    press(admin, f"/review/users/{me.id}/deactivate")
    assert "You cannot deactivate your own account" in admin.get("/review/users").text
    assert account(app, "admin@example.org").active
    assert is_signed_in(admin)
    assert events(app, "account_deactivated") == []


def test_account_changes_need_a_csrf_token(app, admin):
    """A cross-site form cannot deactivate anyone."""
    user_id = add_user(app, "jo@example.org")
    response = admin.client.post(f"/review/users/{user_id}/deactivate")
    assert response.status_code == 400
    assert account(app, "jo@example.org").active


def test_changing_an_unknown_account_is_404(app, admin):
    """A made-up account id is not found."""
    assert press(admin, "/review/users/999/deactivate").status_code == 404
    assert press(admin, "/review/users/999/reactivate").status_code == 404
    assert admin.get("/review/users/999/password").status_code == 404


def test_resetting_a_password(app, admin, clinician):
    """The new password works, the old does not, and the person is signed out everywhere."""
    user = account(app, "clinician@example.org")
    url = f"/review/users/{user.id}/password"
    assert "Reset the password of Clinician" in admin.get(url).text
    weak = admin.post(url, {"password": "short", "confirm": "short"})
    assert weak.status_code == 400 and "Use at least 12 characters" in error_summary(weak)[0]
    personal = admin.post(url, {"password": "clinician garden", "confirm": "clinician garden"})
    assert personal.status_code == 400 and "Do not use your name" in error_summary(personal)[0]
    assert admin.post(url, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 302
    assert "password is reset" in admin.get("/review/users").text
    assert not is_signed_in(clinician)
    assert not can_sign_in(app, "clinician@example.org", PASSWORD)
    assert can_sign_in(app, "clinician@example.org", NEW_PASSWORD)
    (reset,) = events(app, "password_reset")
    assert reset.target_user_id == user.id and reset.actor == "admin@example.org"


def test_an_admin_resets_their_own_password_on_the_change_password_page(app, admin):
    """Their own password needs their current one, so the reset page sends them there."""
    me = account(app, "admin@example.org")
    response = admin.get(f"/review/users/{me.id}/password")
    assert response.status_code == 302 and urlsplit(response.location).path == "/review/password"


# Your own password


def change(browser, current: str = PASSWORD, new: str = NEW_PASSWORD, confirm: str | None = None):
    """Post the change-password form."""
    data = {"current": current, "password": new, "confirm": new if confirm is None else confirm}
    return browser.post("/review/password", data)


def test_changing_your_own_password(app, clinician):
    """This browser stays signed in, others are signed out, and only the new password works."""
    elsewhere = sign_in(app, "clinician@example.org")
    response = change(clinician)
    assert response.status_code == 302 and urlsplit(response.location).path == "/review/"
    assert "Your password is changed" in clinician.get("/review/").text
    assert is_signed_in(clinician)
    assert not is_signed_in(elsewhere)
    assert can_sign_in(app, "clinician@example.org", NEW_PASSWORD)
    assert not can_sign_in(app, "clinician@example.org", PASSWORD)
    (changed,) = events(app, "password_changed")
    assert changed.actor == "clinician@example.org"


@pytest.mark.parametrize(
    ("current", "new", "confirm", "message"),
    [
        ("not my password", NEW_PASSWORD, None, "Your current password is not right"),
        (PASSWORD, PASSWORD, None, "different from your current one"),
        (PASSWORD, "short", None, "Use at least 12 characters"),
        (PASSWORD, NEW_PASSWORD, OTHER_PASSWORD, "The two passwords are not the same"),
    ],
)
def test_changing_your_password_explains_what_is_wrong(app, clinician, current, new, confirm, message):
    """Errors in the summary, nothing changed, nobody signed out."""
    response = change(clinician, current, new, confirm)
    assert response.status_code == 400
    assert any(message in item for item in error_summary(response)), error_summary(response)
    assert is_signed_in(clinician)
    assert can_sign_in(app, "clinician@example.org", PASSWORD)
    assert events(app, "password_changed") == []


def test_guessing_the_current_password_is_limited(app, clinician):
    """A borrowed session cannot try password after password."""
    codes = [change(clinician, f"guess number {n}").status_code for n in range(6)]
    assert codes == [400] * 5 + [429]


# The audit log


def add_events(app, count: int, **fields) -> list[int]:
    """Store `count` audit rows directly; their ids, oldest first."""
    values = {"action": "view_submission", "actor": "jo@example.org", "ip": "10.0.0.1"} | fields
    with app.app_context(), db.get_db().transaction() as s:
        rows = [AuditEvent(**values) for _ in range(count)]
        s.add_all(rows)
        s.flush()
        return [row.id for row in rows]


def shown_ids(page) -> list[int]:
    """The audit rows on a page, top to bottom."""
    return [int(n) for n in re.findall(r'<tr id="event-(\d+)"', page.text)]


def link(page, rel: str) -> str | None:
    """The URL of the page's Newer (prev) or Older (next) link."""
    match = re.search(rf'<a href="([^"]+)" rel="{rel}">', page.text)
    return match.group(1).replace("&amp;", "&") if match else None


def walk(browser, url: str, rel: str) -> list[list[int]]:
    """Follow Older (next) or Newer (prev) links from `url`; the ids on each page."""
    pages = []
    while url:
        page = browser.get(url)
        assert page.status_code == 200
        pages.append(shown_ids(page))
        url = link(page, rel)
    return pages


def test_the_audit_log_shows_who_did_what(app, admin):
    """When, who, the action in words, the submission linked, the account, the address and the detail."""
    user_id = add_user(app, "jo@example.org")
    with app.app_context(), db.get_db().transaction() as s:
        s.add(
            AuditEvent(
                action="review",
                actor="jo@example.org",
                user_id=user_id,
                reference="K7QM-4XR2-PD9H",
                ip="10.1.2.3",
                detail={"outcome": "cleared"},
            )
        )
        s.add(
            AuditEvent(action="account_deactivated", actor="admin@example.org", target_user_id=user_id, ip="10.9.9.9")
        )
    page = admin.get("/review/audit")
    assert page.status_code == 200
    for text in ("Reviewed a submission", "Deactivated an account", "Signed in", "10.1.2.3", "outcome: cleared"):
        assert text in page.text
    assert '<a href="/review/submissions/K7QM-4XR2-PD9H">K7QM-4XR2-PD9H</a>' in page.text
    ids = shown_ids(page)
    assert ids == sorted(ids, reverse=True)  # newest first
    deactivated = page.text.split(f'id="event-{ids[0]}"')[1].split("</tr>")[0]
    assert "jo@example.org" in deactivated  # the account it was done to


def test_the_audit_log_is_for_reading_only(app):
    """No URL edits or deletes audit rows: the log's pages take GET only, and nothing takes PUT or DELETE."""
    for rule in app.url_map.iter_rules():
        assert not rule.methods & {"PUT", "PATCH", "DELETE"}, rule
        if "audit" in rule.endpoint:
            assert rule.methods <= {"GET", "HEAD", "OPTIONS"}, rule


def test_audit_paging_has_no_gaps_or_repeats(app, admin, monkeypatch):
    """Older links walk every row exactly once, newest first; Newer links walk back the same pages."""
    monkeypatch.setattr(admin_pages, "PAGE_SIZE", 7)
    add_events(app, 41)  # with the admin's sign-in, 42 rows: six full pages and no empty seventh
    expected = [event.id for event in reversed(events(app))]
    pages = walk(admin, "/review/audit", "next")
    assert [n for page in pages for n in page] == expected
    assert [len(page) for page in pages] == [7] * 6
    back = walk(admin, link(admin.get(f"/review/audit?before={pages[-2][-1]}"), "prev"), "prev")
    assert back == pages[-2::-1]  # the same pages, from the second-to-last back to the first


def test_audit_paging_keeps_the_filters(app, admin, monkeypatch):
    """Each page of a filtered log holds only matching rows, all of them, once."""
    monkeypatch.setattr(admin_pages, "PAGE_SIZE", 4)
    wanted = []
    for _ in range(5):
        wanted += add_events(app, 2, action="export")
        add_events(app, 3)
    pages = walk(admin, "/review/audit?action=export", "next")
    assert [n for page in pages for n in page] == wanted[::-1]
    assert len(pages) == 3


def test_new_rows_do_not_shift_the_pages(app, admin, monkeypatch):
    """Rows added while someone reads page 2 do not make page 3 repeat a row (no OFFSET)."""
    monkeypatch.setattr(admin_pages, "PAGE_SIZE", 5)
    add_events(app, 15)
    first = admin.get("/review/audit")
    second = admin.get(link(first, "next"))
    add_events(app, 3)
    third = admin.get(link(second, "next"))
    assert not set(shown_ids(third)) & set(shown_ids(second))
    assert shown_ids(third) and max(shown_ids(third)) < min(shown_ids(second))


def test_audit_filters(app, admin):
    """By action, by person (what they did and what was done to them), and by submission reference."""
    jo = add_user(app, "jo@example.org")
    by_jo = add_events(app, 2, user_id=jo)
    to_jo = add_events(app, 1, action="password_reset", actor="admin@example.org", target_user_id=jo)
    tried_jo = add_events(app, 1, action="login_failed", actor="jo@example.org")
    on_record = add_events(app, 1, reference="K7QM-4XR2-PD9H", actor="sam@example.org")
    shown = lambda query: set(shown_ids(admin.get("/review/audit?" + query)))  # noqa: E731
    assert shown("reference=k7qm-4xr2-pd9h") == set(on_record)
    assert shown("action=password_reset") == set(to_jo)
    assert shown("user=Jo@Example.org") == set(by_jo + to_jo + tried_jo)
    assert shown("user=jo@example.org&action=login_failed") == set(tried_jo)
    assert shown("user=nobody@example.org") == set()
    assert "No events match these filters" in admin.get("/review/audit?user=nobody@example.org").text


def test_an_unknown_audit_filter_is_refused(app, admin):
    """An action the page does not offer is a clear 400, not a silent empty list."""
    page = admin.get("/review/audit?action=drop_table")
    assert page.status_code == 400 and "Not a valid choice" in page.text
    assert admin.get("/review/audit.csv?action=drop_table").status_code == 400


def read_csv(response) -> list[list[str]]:
    """The rows of a CSV download."""
    return list(csv.reader(io.StringIO(response.text)))


def test_the_audit_csv_has_the_filtered_log(app, admin):
    """Streamed, as an attachment, newest first, with the same filters as the page."""
    add_events(app, 3, action="export")
    add_events(app, 2)
    response = admin.get("/review/audit.csv?action=export")
    assert response.status_code == 200 and response.is_streamed
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="audit-log-')
    assert response.headers["Cache-Control"] == "no-store"
    header, *rows = read_csv(response)
    assert header[:5] == ["id", "when (UTC)", "who", "action", "what"]
    assert [row[3] for row in rows] == ["export"] * 3
    assert [int(row[0]) for row in rows] == sorted((int(row[0]) for row in rows), reverse=True)
    assert rows[0][4] == "Exported submissions" and rows[0][7] == "10.0.0.1"


def test_the_audit_csv_cannot_run_formulas_in_a_spreadsheet(app, admin):
    """Cells starting with = + - @ tab or CR get a leading apostrophe."""
    for bad in ("=HYPERLINK(1)@x.org", "+1@x.org", "-2@x.org", "@x.org", "\tx@x.org", "\rx@x.org"):
        add_events(app, 1, actor=bad)
    add_events(app, 1, actor="plain@x.org")
    _, *rows = read_csv(admin.get("/review/audit.csv?action=view_submission"))
    who = [row[2] for row in rows]
    assert who[0] == "plain@x.org"
    assert who[1:] == ["'\rx@x.org", "'\tx@x.org", "'@x.org", "'-2@x.org", "'+1@x.org", "'=HYPERLINK(1)@x.org"]


def test_a_formula_typed_at_sign_in_is_defused_in_the_csv(app, admin):
    """The attack route: an attacker types a formula as the email at a failed sign-in."""
    Clinician(app.test_client()).sign_in("=1+2@evil.example", "whatever password")
    _, *rows = read_csv(admin.get("/review/audit.csv?action=login_failed"))
    assert [row[2] for row in rows] == ["'=1+2@evil.example"]


def test_each_csv_download_is_audited_with_its_filters(app, admin):
    """One audit_export row per download, saying which filters were used."""
    admin.get("/review/audit.csv")
    admin.get("/review/audit.csv?user=Jo@Example.org&reference=k7qm-4xr2-pd9h")
    first, second = events(app, "audit_export")
    assert first.detail == {"filters": {}}
    assert second.detail == {"filters": {"user": "jo@example.org", "reference": "K7QM-4XR2-PD9H"}}
    assert second.actor == "admin@example.org" and second.ip == "127.0.0.1"


def test_the_csv_link_carries_the_filters(app, admin):
    """Download as CSV gets what the page shows."""
    page = admin.get("/review/audit?action=export&user=jo@example.org")
    href = re.search(r'href="(/review/audit\.csv[^"]*)"', page.text).group(1).replace("&amp;", "&")
    assert parse_qs(urlsplit(href).query) == {"action": ["export"], "user": ["jo@example.org"]}


@pytest.mark.parametrize("url", ["/review/users", "/review/users/new", "/review/password", "/review/audit"])
def test_admin_pages_have_no_inline_script_or_style(admin, url):
    """The CSP forbids inline code, so these pages must not rely on any."""
    html = admin.get(url).text
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), url
    assert "<style" not in html and " style=" not in html, url
    assert not re.search(r"\son[a-z]+=", html), url
