"""The pain chart: changes of 2 points or more are meaningful, and the SVG says what it shows."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

from screening.review.chart import PainPoint, change_words, steps, summary, svg

NS = {"svg": "http://www.w3.org/2000/svg"}


def point(day: int, score: int, check: str = "Follow-up") -> PainPoint:
    return PainPoint(dt.datetime(2026, 3, day, 9, 0, tzinfo=dt.UTC), score, check)


def parse(markup: str) -> ET.Element:
    """The SVG as XML (it must be well-formed), in the SVG namespace."""
    return ET.fromstring(str(markup).replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1))


def test_a_change_of_two_or_more_is_meaningful_either_way():
    course = steps([point(10, 5), point(1, 7, "First visit"), point(20, 4), point(25, 6)])
    assert [s.point.score for s in course] == [7, 5, 4, 6]  # in time order
    assert [s.change for s in course] == [None, -2, -1, 2]
    assert [s.meaningful for s in course] == [False, True, False, True]
    assert change_words(-2) == "Down 2 points: a meaningful improvement"
    assert change_words(1) == "Up 1 point"
    assert change_words(3) == "Up 3 points: a meaningful worsening"
    assert change_words(0) == "No change"


def test_the_summary_says_first_last_and_whether_it_matters():
    assert summary([]) == "No pain scores yet."
    assert "One pain score so far: 6 out of 10" in summary([point(1, 6)])
    text = summary([point(1, 8), point(8, 7), point(15, 4)])
    assert text.startswith("Pain went from 8 (1 Mar 2026) to 4 (15 Mar 2026) over 3 scores: down 4 points")
    assert "meaningful improvement" in text
    assert "no change" in summary([point(1, 5), point(2, 5)])


def test_the_svg_is_an_image_with_a_title_and_a_description():
    root = parse(svg([point(1, 8, "First visit"), point(8, 7), point(15, 4)], chart_id="c1"))
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "c1-title c1-desc"
    assert root.find("svg:title", NS).get("id") == "c1-title"
    desc = root.find("svg:desc", NS).text
    assert "1 Mar 2026, First visit: 8." in desc
    assert "15 Mar 2026, Follow-up: 4 (Down 3 points: a meaningful improvement)." in desc


def test_a_meaningful_change_is_a_different_shape_with_its_number_written():
    root = parse(svg([point(1, 8), point(8, 7), point(15, 4)]))
    plain = root.findall("svg:circle", NS)
    marked = root.findall("svg:path", NS)
    assert len(plain) == 2 and len(marked) == 1
    changes = [t.text for t in root.findall("svg:text", NS) if t.get("class") == "pain-chart__change"]
    assert changes == ["−3"]
    lines = [ln.get("class") for ln in root.findall("svg:line", NS) if "pain-chart__line" in ln.get("class", "")]
    assert lines == ["pain-chart__line", "pain-chart__line pain-chart__line--meaningful"]


def test_higher_pain_is_drawn_higher_and_scores_stay_on_the_scale():
    root = parse(svg([point(1, 0), point(2, 10)]))
    low, high = root.findall("svg:circle", NS) + root.findall("svg:path", NS)
    assert float(high.get("d").split()[1]) < float(low.get("cy"))  # SVG y grows downwards


def test_no_scores_and_one_score_still_draw():
    assert parse(svg([])).get("role") == "img"
    one = parse(svg([point(1, 3)]))
    assert len(one.findall("svg:circle", NS)) == 1


def test_text_in_the_svg_is_escaped():
    root = parse(svg([PainPoint(dt.datetime(2026, 3, 1, tzinfo=dt.UTC), 3, "<b>&")], chart_id='x"y'))
    assert "<b>&" in root.find("svg:desc", NS).text
