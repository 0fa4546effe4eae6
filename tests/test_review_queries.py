"""The queue's queries: the counts kept by triggers stay exact through every kind of write."""

from __future__ import annotations

import datetime as dt

from screening import db
from screening.review.queries import Filters, _count, _count_rows

from .test_retention import ADMIN, CLINICIAN, erase, signed_in
from .test_review_queue import add_submissions
from .test_review_record import post_review, submit

REASON = "The patient asked for their data to be erased."


def filter_sets() -> list[Filters]:
    """Every kind of filter the kept counts answer: none, each state, and date ranges."""
    today = dt.datetime.now(dt.UTC).date()
    return [
        Filters(),
        Filters(state="new"),
        Filters(state="reviewed"),
        Filters(state="erased"),
        Filters(start=today),
        Filters(end=today - dt.timedelta(days=1)),
        Filters(start=dt.date(2024, 3, 1), end=dt.date(2024, 3, 1), state="new"),
    ]


def assert_counts_exact(app) -> dict:
    """The kept counts equal a recount of the rows, for every filter; the unfiltered counts."""
    with app.app_context():
        s = db.session()
        for filters in filter_sets():
            assert _count(s, filters) == _count_rows(s, filters), filters
        return _count(s, Filters())


def test_counts_stay_exact_through_submit_review_erase_and_purge(site):
    """Each write moves the counts in its own transaction; a recount always agrees."""
    old = add_submissions(
        site, {"outcome": "urgent"}, {"outcome": "review", "state": "reviewed"}, {"outcome": "suitable"}
    )
    assert assert_counts_exact(site) == {("new", "urgent"): 1, ("reviewed", "review"): 1, ("new", "suitable"): 1}

    first, second = submit(site), submit(site, first={"numb": "yes"})
    counts = assert_counts_exact(site)
    assert counts[("new", "suitable")] == 2 and counts[("new", "urgent")] == 2

    post_review(signed_in(site, CLINICIAN), second, {"outcome": "referred", "note": ""})
    counts = assert_counts_exact(site)
    assert counts[("new", "urgent")] == 1 and counts[("reviewed", "urgent")] == 1

    admin = signed_in(site, ADMIN)
    assert erase(admin, first, {"reason": REASON, "confirm": "y"}).status_code == 303
    assert erase(admin, old[0], {"reason": REASON, "confirm": "y"}).status_code == 303
    counts = assert_counts_exact(site)
    assert counts == {("new", "suitable"): 1, ("reviewed", "review"): 1, ("reviewed", "urgent"): 1}

    # The three rows made in 2024 are old enough to purge; today's two stay.
    result = site.test_cli_runner().invoke(args=["purge", "--older-than", "30"])
    assert result.exit_code == 0, result.output
    assert assert_counts_exact(site) == {("reviewed", "urgent"): 1}
    with site.app_context():
        assert _count(db.session(), Filters(state="erased")) == {("erased", "suitable"): 1}
