"""2. The clinicians' queue at scale: first page, page 1,000 and every filter.

Timed three ways on the seeded database: the page's own SQL alone, run straight on
the driver (the floor: what the database must do); the whole view in-process (Flask
test client, a signed-in clinician: auth, filters, queries, counts, template); and
over HTTP against gunicorn with a signed-in session. Each query's plan is shown, and
checked for a full scan of the submissions table.
"""

from __future__ import annotations

import datetime as dt
import re
import time
import urllib.parse
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from sqlalchemy import create_engine, event, select

from . import loadgen
from .common import CLINICIAN, Server, Target, frozen_like_a_worker, latency_summary, make_app

PAGE_SIZE = 50
DEEP_PAGE = 1000
TOKEN = loadgen.TOKEN


def scenarios(app: Any) -> dict[str, dict[str, str]]:
    """Each query a clinician makes, as the queue's query-string parameters."""
    from screening import db
    from screening.models import Submission
    from screening.review.queries import Cursor, Filters, walk

    with app.app_context():
        s = db.session()
        # The cursor just past row 49,950: what following "Next" 999 times would give.
        columns = (Submission.id, Submission.outcome_rank, Submission.created_at)
        rows = walk(s, Filters(), None, PAGE_SIZE * (DEEP_PAGE - 1), columns)
        deep = Cursor.after(rows[-1]).encode()
        # A name about 1 in 14,000 rows has: what a clinician types to find one patient.
        rare_name = (
            s.scalar(select(Submission.patient_name).where(Submission.name_key == "zoë zhang").limit(1)) or "Zoë Zhang"
        )
        reference = s.scalar(
            select(Submission.reference).where(Submission.review_state == "reviewed").order_by(Submission.id).limit(1)
        )
    start = dt.date.today() - dt.timedelta(days=365)
    return {
        "first page": {},
        f"page {DEEP_PAGE:,}": {"after": deep},
        "outcome=urgent": {"outcome": "urgent"},
        "state=new": {"state": "new"},
        "date range (30 days)": {"from": start.isoformat(), "to": (start + dt.timedelta(days=29)).isoformat()},
        "name prefix 'mar' (common)": {"q": "mar"},
        "whole name (rare)": {"q": rare_name},
        "reference": {"q": reference},
    }


def url_of(params: dict[str, str]) -> str:
    """The queue URL with these parameters."""
    return "/review/" + ("?" + urllib.parse.urlencode(params) if params else "")


def settled(url: str, location_of: Callable[[str], str | None]) -> str:
    """The URL a search is timed at: a name typed in `q` is kept in the session and the
    queue answers with a 303 to a key (`s`), so no name stays in an address; follow it once."""
    if "q=" not in url:
        return url
    location = location_of(url)
    assert location and "s=" in location, (url, location)
    parts = urllib.parse.urlsplit(location)
    return parts.path + ("?" + parts.query if parts.query else "")


def sign_in_test_client(app: Any) -> Any:
    """A Flask test client signed in as the benchmark clinician."""
    client = app.test_client()
    page = client.get("/review/login").text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', page
    )
    assert token, "no CSRF token on the sign-in page"
    response = client.post(
        "/review/login", data={"email": CLINICIAN[0], "password": CLINICIAN[1], "csrf_token": token.group(1)}
    )
    assert response.status_code == 302, response.status_code
    return client


def sign_in_http(server: Server) -> loadgen.Browser:
    """A browser signed in to gunicorn."""
    browser = loadgen.Browser("127.0.0.1", server.port, defaultdict(list))
    form = loadgen.form_with(browser.page("/review/login", "login"), {"email": CLINICIAN[0], "password": CLINICIAN[1]})
    status, _, _ = browser.send("POST", "/review/login", "login", form)
    assert status == 302, f"sign-in failed: {status}"
    return browser


def captured(app: Any, client: Any, url: str) -> list[tuple[str, Any]]:
    """The SELECTs on submissions that one page load runs."""
    engine = app.extensions["screening.db"].engine
    statements: list[tuple[str, Any]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many) -> None:
        """Remember the statement and its parameters."""
        if statement.lstrip().upper().startswith("SELECT") and "FROM submissions" in statement:
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    return statements


def plans(target: Target, statements: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    """The plan of each statement, and whether it avoids a full scan of the table."""
    engine = create_engine(target.url)
    out = []
    with engine.connect() as conn:
        for statement, parameters in statements:
            if target.is_sqlite:
                steps = [row[3] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]
                full_scan = any(re.fullmatch(r"SCAN submissions", step) for step in steps)
            else:
                steps = [row[0].strip() for row in conn.exec_driver_sql("EXPLAIN " + statement, parameters)]
                full_scan = any("Seq Scan on submissions" in step for step in steps)
            kind = "counts" if "count(" in statement else "page"
            out.append({"query": kind, "plan": steps, "uses_index": not full_scan})
    engine.dispose()
    return out


def timed(call: Callable[[], Any], samples: int, budget: float) -> list[float]:
    """Wall times of up to `samples` calls after a warm-up, stopping early (after 3) once `budget` s are spent."""
    call()
    times: list[float] = []
    while len(times) < samples and (len(times) < 3 or sum(times) < budget):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return times


def raw_sql(target: Target, statements: list[tuple[str, Any]]) -> Callable[[], None]:
    """A call that runs the page's statements straight on the driver (no ORM, no Flask)."""
    engine = create_engine(target.url)
    conn = engine.connect()

    def run() -> None:
        """All the statements, results fetched."""
        for statement, parameters in statements:
            conn.exec_driver_sql(statement, parameters).fetchall()
        conn.rollback()

    run.close = lambda: (conn.close(), engine.dispose())  # type: ignore[attr-defined]
    return run


def measure(target: Target, quick: bool, rows: int) -> dict[str, Any]:
    """Every scenario's timings (SQL alone, in-process view, HTTP) and query plans."""
    samples, budget = (5, 0.3) if quick else (20, 2.0)
    # Every view pays its counts (the target is for the cache off): a clinician's first
    # view after a change, not the repeat a 5-second cache would answer.
    app = make_app(target, QUEUE_COUNTS_CACHE_SECONDS=0)
    found = scenarios(app)
    client = sign_in_test_client(app)
    results: dict[str, Any] = {"rows": rows, "page_size": PAGE_SIZE, "samples": samples, "scenarios": {}}
    for name, params in found.items():
        url = settled(url_of(params), lambda u: client.get(u).location)
        statements = captured(app, client, url)
        sql_times = {}
        # The page's own rows, and the per-outcome counts shown above them, timed apart.
        for part, chosen in (
            ("sql_page", [st for st in statements if "count(" not in st[0]]),
            ("sql_counts", [st for st in statements if "count(" in st[0]]),
        ):
            sql = raw_sql(target, chosen)
            try:
                sql_times[part] = latency_summary(timed(sql, samples, budget))
            finally:
                sql.close()  # type: ignore[attr-defined]
        with frozen_like_a_worker():
            view_times = timed(lambda url=url: client.get(url), samples, budget)
        results["scenarios"][name] = {
            "params": {k: (v if k != "after" else "<cursor>") for k, v in params.items()},
            **sql_times,
            "in_process": latency_summary(view_times),
            "statements": len(statements),
            "plans": plans(target, statements),
        }
    app.extensions["screening.db"].engine.dispose()
    env = target.env() | {"SCREENING_QUEUE_COUNTS_CACHE_SECONDS": "0"}
    server = Server("screening.gunicorn_conf", env, target.workdir / "queue-gunicorn.log")
    try:
        server.start()
        browser = sign_in_http(server)
        for name, params in found.items():
            url = settled(url_of(params), lambda u: browser.send("GET", u, "search")[2])

            def get(url: str = url) -> None:
                """One queue page over HTTP."""
                status, _, _ = browser.send("GET", url, "queue")
                assert status == 200, (url, status)

            results["scenarios"][name]["http"] = latency_summary(timed(get, samples, budget))
        browser.close()
    finally:
        server.stop()
    return results
