"""The audit log page and its CSV download (admins only)."""

from __future__ import annotations

import csv
import io
import re
from urllib.parse import parse_qs, urlsplit

from screening import db
from screening.models import AuditEvent
from screening.review import audit_log as audit_log_pages
from tests.conftest import Clinician, add_user

from .test_review_users import events


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
    monkeypatch.setattr(audit_log_pages, "PAGE_SIZE", 7)
    add_events(app, 41)  # with the admin's sign-in, 42 rows: six full pages and no empty seventh
    expected = [event.id for event in reversed(events(app))]
    pages = walk(admin, "/review/audit", "next")
    assert [n for page in pages for n in page] == expected
    assert [len(page) for page in pages] == [7] * 6
    back = walk(admin, link(admin.get(f"/review/audit?before={pages[-2][-1]}"), "prev"), "prev")
    assert back == pages[-2::-1]  # the same pages, from the second-to-last back to the first


def test_audit_paging_keeps_the_filters(app, admin, monkeypatch):
    """Each page of a filtered log holds only matching rows, all of them, once."""
    monkeypatch.setattr(audit_log_pages, "PAGE_SIZE", 4)
    wanted = []
    for _ in range(5):
        wanted += add_events(app, 2, action="export")
        add_events(app, 3)
    pages = walk(admin, "/review/audit?action=export", "next")
    assert [n for page in pages for n in page] == wanted[::-1]
    assert len(pages) == 3


def test_new_rows_do_not_shift_the_pages(app, admin, monkeypatch):
    """Rows added while someone reads page 2 do not make page 3 repeat a row (no OFFSET)."""
    monkeypatch.setattr(audit_log_pages, "PAGE_SIZE", 5)
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
