"""The clinicians' queue: triage order, filters, counts, keyset paging and its query plans."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import re
from typing import Any

import pytest
from sqlalchemy import event, insert, select

from screening import db
from screening.models import OUTCOME_RANK, QuestionnaireVersion, Submission, new_reference, new_token

from .conftest import Clinician, add_user, make_app

T0 = dt.datetime(2024, 3, 1, 9, 0, tzinfo=dt.UTC)
VERSION = "queue-test-version"
REFERENCE_LINK = re.compile(r'href="/review/submissions/([A-Z0-9-]+)"')
URGENT_FLAG = {
    "id": "saddle_numbness",
    "level": "urgent",
    "reason": "Possible cauda equina syndrome (saddle anaesthesia).",
    "source": "NICE CKS",
    "advice": "emergency",
    "about": ["saddle_numbness"],
}


def add_submissions(app, *specs: dict[str, Any]) -> list[str]:
    """Insert submissions straight into the database; returns their references in order.

    Each spec may set outcome, created_at, name, state, flags, answers, derived and
    review_outcome; everything else gets a plain default.
    """
    rows = []
    for spec in specs:
        outcome = spec.get("outcome", "suitable")
        name = spec.get("name", "Pat Example")
        rows.append(
            {
                "reference": spec.get("reference") or new_reference(),
                "draft_token": new_token(),
                "questionnaire_id": "acupuncture-low-back-pain",
                "version": VERSION,
                "answers": spec.get("answers", {"full_name": name} if name else {}),
                "derived": spec.get("derived", {}),
                "flags": spec.get("flags", [URGENT_FLAG] if outcome == "urgent" else []),
                "outcome": outcome,
                "outcome_rank": OUTCOME_RANK[outcome],
                "urgent_advice": "emergency" if outcome == "urgent" else None,
                "created_at": spec.get("created_at", T0),
                "patient_name": name,
                "name_key": name.casefold() if name else None,
                "review_state": spec.get("state", "new"),
                "review_outcome": spec.get("review_outcome"),
            }
        )
    with app.app_context(), db.get_db().transaction() as s:
        if s.get(QuestionnaireVersion, VERSION) is None:
            s.add(QuestionnaireVersion(version=VERSION, questionnaire_id="acupuncture-low-back-pain", definition={}))
            s.flush()
        s.execute(insert(Submission), rows)
    return [row["reference"] for row in rows]


def listed(page) -> list[str]:
    """The references in the queue table, top to bottom."""
    assert page.status_code == 200, page.text
    return REFERENCE_LINK.findall(page.text)


def triage_order(app, **where: Any) -> list[str]:
    """Every reference in triage order, straight from the database (the yardstick)."""
    stmt = select(Submission.reference).order_by(
        Submission.outcome_rank, Submission.created_at.desc(), Submission.id.desc()
    )
    stmt = stmt.where(*(getattr(Submission, k) == v for k, v in where.items()))
    stmt = stmt.where(Submission.review_state != "erased")
    with app.app_context():
        return list(db.session().scalars(stmt))


def at(hours: float) -> dt.datetime:
    """A time `hours` after T0."""
    return T0 + dt.timedelta(hours=hours)


def test_anonymous_visitors_are_sent_to_sign_in(app):
    """Neither the queue nor the export shows anything to someone not signed in."""
    add_submissions(app, {"outcome": "urgent", "name": "Secret Person"})
    browser = app.test_client()
    for url in ("/review/", "/review/?outcome=urgent", "/review/export.csv"):
        page = browser.get(url)
        assert page.status_code == 302, url
        assert page.headers["Location"].startswith("/review/login"), url
        assert "Secret Person" not in page.text


def test_urgent_first_then_by_outcome_newest_first(app, clinician):
    """Urgent, not suitable, review, suitable; the newest first within each."""
    old_suitable, new_suitable, old_urgent, new_urgent, review, not_suitable = add_submissions(
        app,
        {"outcome": "suitable", "created_at": at(1)},
        {"outcome": "suitable", "created_at": at(9)},
        {"outcome": "urgent", "created_at": at(2)},
        {"outcome": "urgent", "created_at": at(3)},
        {"outcome": "review", "created_at": at(10)},
        {"outcome": "not_suitable", "created_at": at(0)},
    )
    assert listed(clinician.get("/review/")) == [
        new_urgent,
        old_urgent,
        not_suitable,
        review,
        new_suitable,
        old_suitable,
    ]


def test_a_row_shows_outcome_name_time_flags_and_state(app, clinician):
    """What a clinician triages by is on the row, and urgent ones stand out."""
    (ref,) = add_submissions(app, {"outcome": "urgent", "name": "Zoë O'Neill", "created_at": at(5.5)})
    page = clinician.get("/review/")
    row = re.search(r'<tr class="queue-row queue-row--urgent.*?</tr>', page.text, re.S).group(0)
    assert f'href="/review/submissions/{ref}"' in row
    assert "Zoë O&#39;Neill" in row
    assert '<time datetime="2024-03-01T14:30:00Z">Fri 1 Mar 2024, 14:30 GMT</time>' in row
    assert "1 flag" in row and "Possible cauda equina syndrome" in row
    assert "badge--urgent" in row and ">Urgent<" in row and "emergency" in row
    assert ">New<" in row
    assert "1 urgent submission is not yet reviewed" in page.text
    assert '<th scope="col">Outcome</th>' in page.text and "<caption>" in page.text


def test_empty_queue_says_so(app, clinician):
    """No submissions at all, and none matching the filters, read differently."""
    assert "There are no submissions yet" in clinician.get("/review/").text
    add_submissions(app, {"outcome": "suitable"})
    page = clinician.get("/review/?outcome=urgent")
    assert page.status_code == 200
    assert "No submissions match these filters" in page.text
    assert "<table" not in page.text


def test_erased_submissions_are_hidden_unless_asked_for(app, clinician):
    """Erased rows leave the queue; the state filter can still find them."""
    kept, erased = add_submissions(app, {"name": "Kept"}, {"name": None, "state": "erased"})
    assert listed(clinician.get("/review/")) == [kept]
    assert listed(clinician.get("/review/?state=erased")) == [erased]
    assert "Erased" in clinician.get("/review/?state=erased").text


def test_filter_by_outcome_and_state(app, clinician):
    """Each filter narrows the list, and they combine."""
    urgent_new, urgent_done, suitable_new = add_submissions(
        app,
        {"outcome": "urgent", "created_at": at(1)},
        {"outcome": "urgent", "state": "reviewed", "created_at": at(2)},
        {"outcome": "suitable", "created_at": at(3)},
    )
    assert listed(clinician.get("/review/?outcome=urgent")) == [urgent_done, urgent_new]
    assert listed(clinician.get("/review/?state=new")) == [urgent_new, suitable_new]
    assert listed(clinician.get("/review/?state=reviewed")) == [urgent_done]
    assert listed(clinician.get("/review/?outcome=urgent&state=new")) == [urgent_new]
    everything = clinician.get("/review/?outcome=&state=&from=&to=&q=", follow_redirects=True)
    assert listed(everything) == [urgent_done, urgent_new, suitable_new]


def test_date_range_includes_both_whole_days_in_utc(app, clinician):
    """from and to are whole UTC days, both included, to the microsecond."""
    before, first, last, after = add_submissions(
        app,
        {"created_at": dt.datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=dt.UTC)},
        {"created_at": dt.datetime(2024, 3, 1, 0, 0, tzinfo=dt.UTC)},
        {"created_at": dt.datetime(2024, 3, 3, 23, 59, 59, 999999, tzinfo=dt.UTC)},
        {"created_at": dt.datetime(2024, 3, 4, 0, 0, tzinfo=dt.UTC)},
    )
    assert listed(clinician.get("/review/?from=2024-03-01&to=2024-03-03")) == [last, first]
    assert listed(clinician.get("/review/?from=2024-03-01")) == [after, last, first]
    assert listed(clinician.get("/review/?to=2024-02-29")) == [before]
    assert listed(clinician.get("/review/?from=2024-03-04&to=2024-03-04")) == [after]
    # A time given in another zone is the same instant: 01:00+02:00 is still 29 February in UTC.
    (late,) = add_submissions(
        app, {"created_at": dt.datetime(2024, 3, 1, 1, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))}
    )
    assert late in listed(clinician.get("/review/?to=2024-02-29"))


def search(clinician, typed: str, **filters: str):
    """Type a search into the queue's filter form and press Filter (a POST, then a 303)."""
    response = clinician.post("/review/search", {"q": typed, **filters}, token=clinician.token("/review/"))
    assert response.status_code == 303, response.text
    assert typed.strip().casefold() not in response.location.casefold()
    return clinician.get(response.location)


def test_a_name_search_matches_the_start_of_any_word_of_the_name(app, clinician):
    """Each word typed starts a word of the name, in any order, whatever the case."""
    ann, anne, andrew, bob, emile, strasse, maria = add_submissions(
        app,
        {"name": "Ann Smith", "created_at": at(7)},
        {"name": "anne jones", "created_at": at(6)},
        {"name": "ANDREW Brown", "created_at": at(5)},
        {"name": "Bob Annan", "created_at": at(4)},
        {"name": "Émile Zola", "created_at": at(3)},
        {"name": "Anja Straße", "created_at": at(2)},
        {"name": "Maria Garcia-Smith", "created_at": at(1)},
    )
    assert listed(search(clinician, "an")) == [ann, anne, andrew, bob, strasse]
    assert listed(search(clinician, "ANN")) == [ann, anne, bob]
    assert listed(search(clinician, " ann  smi ")) == [ann]
    assert listed(search(clinician, "ÉMI")) == [emile]
    assert listed(search(clinician, "anja STRASS")) == [strasse]
    assert listed(search(clinician, "annan")) == [bob]
    assert listed(search(clinician, "Smith")) == [ann, maria]  # the surname, also after a hyphen
    assert listed(search(clinician, "smith maria")) == [maria]  # any order
    assert listed(search(clinician, "mith")) == []  # the start of a word, not its middle
    assert listed(search(clinician, "a_n%")) == []  # typed wildcards are letters


def test_maria_smith_is_found_by_her_surname(app, clinician):
    """The reported case: "Smith" found 0 while Maria Smith was in the queue."""
    (maria,) = add_submissions(app, {"name": "Maria Smith"})
    assert listed(search(clinician, "Smith")) == [maria]


def test_no_name_is_ever_in_a_url(app, clinician):
    """The search is posted; the address, every link and the redirect carry a key, not the name."""
    rows = [{"name": "Maria Smith", "created_at": at(n)} for n in range(7)]
    add_submissions(app, *rows, {"name": "Other Person"})
    app.config["QUEUE_PAGE_SIZE"] = 3
    response = clinician.post("/review/search", {"q": "Smith"}, token=clinician.token("/review/"))
    assert response.status_code == 303 and "smith" not in response.location.lower()
    assert "s=" in response.location
    page = clinician.get(response.location)
    assert len(listed(page)) == 3
    links = re.findall(r'href="([^"]+)"', page.text)
    assert any("after=" in link for link in links)
    assert not [link for link in links if "smith" in link.lower() or "q=" in link]
    assert 'value="Smith"' in page.text  # the box still shows what was typed
    # An address typed with the name in it is moved to a key at once.
    moved = clinician.get("/review/?q=Smith&outcome=suitable")
    assert moved.status_code == 303 and "smith" not in moved.location.lower() and "outcome=suitable" in moved.location
    # A GET form to /review/?q= is never offered.
    assert 'method="get"' not in page.text.lower()


def test_a_search_key_from_another_session_is_not_a_search(app, clinician):
    """Keys live in the session that made them: elsewhere they say "search again", and show nothing."""
    add_submissions(app, {"name": "Maria Smith"})
    response = clinician.post("/review/search", {"q": "Smith"}, token=clinician.token("/review/"))
    other = Clinician(app.test_client())
    assert other.sign_in("clinician@example.org").status_code == 302
    page = other.get(response.location)
    assert page.status_code == 400
    assert "That search is no longer kept" in page.text and "Maria Smith" not in page.text


def test_a_search_is_posted_with_a_csrf_token(app, clinician):
    """Without the token the post is refused."""
    response = clinician.client.post("/review/search", data={"q": "Smith"})
    assert response.status_code == 400


def test_reference_search_with_or_without_dashes(app, clinician):
    """A whole reference finds its submission however it is typed."""
    target, _other = add_submissions(app, {"name": "Target"}, {"name": "Other"})
    compact = target.replace("-", "")
    typed_forms = (target, target.lower(), compact, compact.lower(), " ".join(target.split("-")), f" {target} ")
    for typed in (*typed_forms, target.replace("-", "\u2013")):  # an en dash, as pasted from a letter
        assert listed(clinician.get("/review/", query_string={"q": typed}, follow_redirects=True)) == [target], typed


BAD_FILTERS = [
    ({"outcome": "critical"}, "Outcome must be urgent, not suitable, review or suitable"),
    ({"state": "done"}, "Review state must be new, reviewed or erased"),
    ({"from": "01/03/2024"}, "Write the &#39;from&#39; date as YYYY-MM-DD"),
    ({"to": "2024-02-30"}, "The &#39;to&#39; date 2024-02-30 is not a real date"),
    ({"from": "2024-03-05", "to": "2024-03-01"}, "The &#39;to&#39; date must be the same as or after"),
    ({"q": "K7QM-4XR"}, "a reference has 12 letters and digits"),
    ({"q": "x" * 201}, "Name or reference is too long"),
]


def test_bad_filters_are_explained_not_ignored(app, clinician):
    """A bad value gets a message naming the field, no rows, and a 400 (not a 500)."""
    add_submissions(app, {"outcome": "urgent"})
    for query, message in BAD_FILTERS:
        page = clinician.get("/review/", query_string=query)
        assert page.status_code == 400, query
        assert "There is a problem with the filters" in page.text
        assert message in page.text, query
        assert "<table" not in page.text
        assert 'aria-invalid="true"' in page.text


def cursor(data: Any) -> str:
    """An `after` value made by hand."""
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode()


FORGED_CURSORS = [
    "not-a-cursor",
    "%%%",
    cursor({"rank": 0}),
    cursor([9, "2024-03-01T09:00:00+00:00", 1]),
    cursor([0, "2024-03-01T09:00:00+00:00", -1]),
    cursor([0, "2024-03-01T09:00:00+00:00", 2**64]),
    cursor([True, "2024-03-01T09:00:00+00:00", 1]),
    cursor([0, "2024-03-01T09:00:00", 1]),
    cursor([0, "yesterday", 1]),
    cursor([0, "0001-01-01T00:00:00+05:00", 1]),
    "A" * 500,
]


def test_a_forged_page_link_is_a_clear_error(app, clinician):
    """An edited `after` cursor is refused with a message and a way back, not a 500."""
    add_submissions(app, {"outcome": "urgent"})
    for after in FORGED_CURSORS:
        page = clinician.get("/review/", query_string={"after": after, "outcome": "urgent"})
        assert page.status_code == 400, after
        assert "The page link is not valid" in page.text
        assert 'href="/review/?outcome=urgent"' in page.text


def test_counts_per_outcome_follow_the_other_filters(app, clinician):
    """The counts ignore the outcome filter, obey the others, and each links to its outcome."""
    add_submissions(
        app,
        {"outcome": "urgent"},
        {"outcome": "urgent", "state": "reviewed"},
        {"outcome": "review"},
        {"outcome": "suitable"},
        {"outcome": "suitable"},
        {"outcome": "suitable", "state": "erased"},
    )

    def counts(url: str) -> dict[str, str]:
        """Outcome -> the number shown in its count link."""
        found = re.findall(
            r'outcome-count--(\w+)" href="([^"]+)".*?outcome-count__number">(\d+)<', clinician.get(url).text, re.S
        )
        return {outcome: (href.replace("&amp;", "&"), int(n)) for outcome, href, n in found}

    everything = counts("/review/")
    assert {k: n for k, (_, n) in everything.items()} == {"urgent": 2, "not_suitable": 0, "review": 1, "suitable": 2}
    assert everything["urgent"][0] == "/review/?outcome=urgent"
    fresh = counts("/review/?state=new&outcome=suitable")
    assert {k: n for k, (_, n) in fresh.items()} == {"urgent": 1, "not_suitable": 0, "review": 1, "suitable": 2}
    assert fresh["review"][0] == "/review/?outcome=review&state=new"


@pytest.fixture
def paged(tmp_path):
    """An app with seven rows a page, and a signed-in clinician."""
    app = make_app(tmp_path, QUEUE_PAGE_SIZE=7)
    add_user(app, "pager@example.org")
    browser = Clinician(app.test_client())
    assert browser.sign_in("pager@example.org").status_code == 302
    return app, browser


def next_link(page) -> str | None:
    """The Next page link's URL, if there is one."""
    match = re.search(r'<a href="([^"]+)" rel="next">Next page</a>', page.text)
    return match.group(1).replace("&amp;", "&") if match else None


def walk_pages(browser, url: str) -> tuple[list[str], list[str]]:
    """Follow Next page to the end: every reference seen, and each page's URL."""
    seen, urls = [], []
    while url:
        urls.append(url)
        page = browser.get(url)
        seen += listed(page)
        url = next_link(page)
        assert len(urls) < 50, "paging does not end"
    return seen, urls


def tied_rows(count: int = 40) -> list[dict[str, Any]]:
    """Rows across all outcomes, many sharing a created_at to the microsecond."""
    outcomes = ["urgent", "not_suitable", "review", "suitable", "suitable"]
    return [
        {
            "outcome": outcomes[i % 5],
            "created_at": at(i // 6),  # six rows share each timestamp
            "state": "reviewed" if i % 3 == 0 else "new",
            "name": f"Patient {chr(65 + i % 26)}",
        }
        for i in range(count)
    ]


def test_keyset_paging_has_no_gaps_or_repeats(paged):
    """Seven a page over forty rows with tied times: the same list as one big query."""
    app, browser = paged
    add_submissions(app, *tied_rows())
    add_submissions(app, {"state": "erased", "name": None}, {"outcome": "urgent", "state": "erased", "name": None})
    seen, urls = walk_pages(browser, "/review/")
    assert seen == triage_order(app)
    assert len(seen) == len(set(seen)) == 40
    assert len(urls) == 6  # 7*5 = 35, then the last five
    last = browser.get(urls[-1])
    assert next_link(last) is None
    assert '<a href="/review/">First page</a>' in last.text
    assert "First page" not in browser.get("/review/").text


def test_paging_keeps_the_filters(paged):
    """Next page links carry the filters; the pages are the filtered list in order."""
    app, browser = paged
    add_submissions(app, *tied_rows())
    seen, urls = walk_pages(browser, "/review/?state=new")
    assert seen == triage_order(app, review_state="new")
    assert all("state=new" in url for url in urls)
    suitable, urls = walk_pages(browser, "/review/?outcome=suitable")
    assert suitable == triage_order(app, outcome="suitable")
    assert len(urls) == 3 and all("outcome=suitable" in url for url in urls)


def test_a_page_exactly_full_has_no_empty_next_page(paged):
    """Fourteen rows at seven a page: two pages, and no Next link on the second."""
    app, browser = paged
    add_submissions(app, *tied_rows(14))
    seen, urls = walk_pages(browser, "/review/")
    assert len(urls) == 2 and len(seen) == 14


def captured_selects(app, browser, url: str) -> list[tuple[str, Any]]:
    """The SELECTs on submissions (and on the counts kept of them) that one page load runs."""
    engine = app.extensions["screening.db"].engine
    statements: list[tuple[str, Any]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many) -> None:
        """Remember the statement and its parameters."""
        if statement.lstrip().upper().startswith("SELECT") and (
            "FROM submissions" in statement or "FROM queue_counts" in statement
        ):
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        assert browser.get(url).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    return statements


def query_plans(app, statements: list[tuple[str, Any]]) -> list[str]:
    """SQLite's EXPLAIN QUERY PLAN for each statement, one line per step."""
    engine = app.extensions["screening.db"].engine
    plans = []
    with engine.connect() as conn:
        for statement, parameters in statements:
            steps = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
            plans.append(" | ".join(step[3] for step in steps))
    return plans


@pytest.mark.skipif(bool(os.environ.get("TEST_DATABASE_URL")), reason="SQLite's EXPLAIN QUERY PLAN")
@pytest.mark.parametrize(
    ("query", "index"),
    [
        ("", "ix_submissions_queue"),
        ("state=new", "ix_submissions_state_queue"),
        ("outcome=review&from=2024-03-01&to=2024-03-02", "ix_submissions_queue"),
    ],
)
def test_pages_walk_the_queue_index_without_sorting(paged, query, index):
    """First and later pages read the index in order: no table scan, no temporary sort."""
    app, browser = paged
    add_submissions(app, *tied_rows())
    first = captured_selects(app, browser, f"/review/?{query}")
    later = captured_selects(app, browser, next_link(browser.get(f"/review/?{query}")))
    for label, statements in (("first page", first), ("next page", later)):
        page_queries = [s for s in statements if "ORDER BY" in s[0] and "count(" not in s[0]]
        assert page_queries, label
        for plan in query_plans(app, page_queries):
            print(f"{query or '(no filters)'} {label}: {plan}")
            assert f"USING INDEX {index}" in plan, plan
            assert "TEMP B-TREE" not in plan, plan
        # The counts read the small table the triggers keep, never the submissions.
        counts = [s for s in statements if "queue_counts" in s[0]]
        assert counts, label
        for plan in query_plans(app, counts):
            print(f"{query or '(no filters)'} {label} counts: {plan}")
            assert "submissions" not in plan, plan


def test_each_view_of_the_queue_is_audited_without_the_name_searched(app, clinician):
    """The list shows health data: every view is one audit row; a name search is not copied."""
    from sqlalchemy import select as sa_select

    from screening.models import AuditEvent

    clinician.get("/review/")
    clinician.get("/review/?q=Smi&outcome=urgent", follow_redirects=True)
    with app.app_context():
        rows = db.session().scalars(sa_select(AuditEvent).where(AuditEvent.action == "view_queue")).all()
    assert len(rows) == 2
    assert rows[1].detail == {"outcome": "urgent", "name_search": True}
    assert "Smi" not in str(rows[1].detail)


def test_counts_are_reused_for_a_few_seconds_but_rows_are_live(tmp_path):
    """With the cache on, a new submission shows in the list at once and in the counts later."""
    from .conftest import Clinician, add_user, make_app

    app = make_app(tmp_path, QUEUE_COUNTS_CACHE_SECONDS=60)
    add_user(app, "clinician@example.org")
    browser = Clinician(app.test_client())
    browser.sign_in("clinician@example.org")
    add_submissions(app, {"outcome": "urgent"})

    def urgent_count() -> str:
        page = browser.get("/review/").text
        return re.search(r'outcome-count--urgent".*?outcome-count__number">(\d+)<', page, re.S).group(1)

    assert urgent_count() == "1"
    [new] = add_submissions(app, {"outcome": "urgent"})
    assert new in browser.get("/review/").text  # the row itself is live
    assert urgent_count() == "1"  # the count is reused within the minute


def test_paging_through_a_name_search_has_no_gaps_or_repeats(paged):
    """A search is read through the name index and sorted: still triage order, page by page."""
    app, browser = paged
    rows = tied_rows()
    for row in rows[::2]:
        row["name"] = "Morgan Example"
    add_submissions(app, *rows)
    first = browser.post("/review/search", {"q": "morgan"}, token=browser.token("/review/")).location
    seen, urls = walk_pages(browser, first)
    morgans = [ref for ref in triage_order(app) if ref in set(seen)]
    assert seen == morgans and len(seen) == len(set(seen)) == 20
    assert len(urls) == 3 and all("s=" in url and "morgan" not in url for url in urls)
