"""The memorable date (day, month, year boxes): one parser, errors that name the wrong box."""

from __future__ import annotations

import datetime as dt

import pytest

from screening import memorable_date
from screening.memorable_date import DateProblem, parse, split

TODAY = dt.date(2026, 11, 29)


def boxes(day="", month="", year=""):
    return {"day": day, "month": month, "year": year}


def test_three_boxes_make_a_date():
    assert parse(boxes("27", "3", "1980")) == dt.date(1980, 3, 27)
    assert parse(boxes(" 07 ", "03", "1980")) == dt.date(1980, 3, 7)


@pytest.mark.parametrize("month", ["March", "mar", "MAR.", "3", "03"])
def test_month_as_a_name_or_a_number(month):
    assert parse(boxes("27", month, "1980")) == dt.date(1980, 3, 27)


def test_all_empty_is_no_answer():
    assert parse(boxes()) is None
    assert parse({}) is None


@pytest.mark.parametrize(
    ("given", "message", "parts"),
    [
        (boxes("27", "", "1980"), "Date of birth must include a month", ("month",)),
        (boxes("", "", "1980"), "Date of birth must include a day and month", ("day", "month")),
        (boxes("27", "3", ""), "Date of birth must include a year", ("year",)),
        (boxes("", "3", ""), "Date of birth must include a day and year", ("day", "year")),
        (boxes("32", "3", "1980"), "the day must be a number from 1 to 31", ("day",)),
        (boxes("0", "3", "1980"), "the day must be a number from 1 to 31", ("day",)),
        (boxes("x", "3", "1980"), "the day must be a number from 1 to 31", ("day",)),
        (boxes("27", "13", "1980"), "the month must be a number from 1 to 12", ("month",)),
        (boxes("27", "Marchember", "1980"), "the month must be a number from 1 to 12", ("month",)),
        (boxes("27", "3", "80"), "the year must include 4 numbers", ("year",)),
        (boxes("29", "2", "2023"), "February 2023 has 28 days", ("day",)),
        (boxes("31", "4", "1980"), "April 1980 has 30 days", ("day",)),
    ],
)
def test_errors_name_the_wrong_box(given, message, parts):
    with pytest.raises(DateProblem) as problem:
        parse(given, label="Date of birth")
    assert message in problem.value.message
    assert problem.value.message.startswith("Date of birth must")
    assert problem.value.parts == parts


def test_leap_day_is_a_real_date():
    assert parse(boxes("29", "2", "2024")) == dt.date(2024, 2, 29)


def test_limits():
    label = "Date of birth"
    assert parse(boxes("29", "11", "2026"), label, latest=TODAY, past_only=True) == TODAY
    with pytest.raises(DateProblem, match="must be today or in the past") as problem:
        parse(boxes("30", "11", "2026"), label, latest=TODAY, past_only=True)
    assert problem.value.parts == memorable_date.PARTS
    with pytest.raises(DateProblem, match="must be the same as or before 29 November 2026"):
        parse(boxes("30", "11", "2026"), label, latest=TODAY)
    with pytest.raises(DateProblem, match="must be the same as or after 1 January 1900"):
        parse(boxes("31", "12", "1899"), label, earliest=dt.date(1900, 1, 1))


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        ("1980-03-07", boxes("7", "3", "1980")),
        ("27/3/1980", boxes("27", "3", "1980")),
        ("27 Mar 1980", boxes("27", "Mar", "1980")),
        (None, boxes()),
        ("nonsense", boxes("nonsense")),
    ],
)
def test_split(stored, expected):
    assert split(stored) == expected
