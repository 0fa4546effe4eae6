"""The body map's drawing: every region drawn, each area big enough to tap and apart from
the others, inside the picture; the region codes are the clinical contract's."""

from __future__ import annotations

from itertools import combinations

from screening.questionnaire import bodymap

CONTRACT = (  # CLINICAL.md: pain_areas; the rules read these codes
    "neck", "right_shoulder", "left_shoulder", "upper_back", "right_arm", "left_arm", "lower_back",
    "right_hip", "left_hip", "buttocks", "right_thigh_front", "left_thigh_front", "right_thigh_back",
    "left_thigh_back", "right_knee", "left_knee", "right_lower_leg", "left_lower_leg", "right_foot",
    "left_foot",
)  # fmt: skip
SHAPES = bodymap.REGIONS + bodymap.BACK_OF_LOWER_LEGS


def test_every_region_of_the_contract_is_drawn_once_and_no_other():
    assert bodymap.REGION_CODES == CONTRACT
    assert {r.code for r in bodymap.BACK_OF_LOWER_LEGS} == {
        "left_lower_leg",
        "right_lower_leg",
        "left_foot",
        "right_foot",
    }
    assert all(r.view == "back" for r in bodymap.BACK_OF_LOWER_LEGS)


def test_every_area_is_big_enough_to_tap_and_inside_the_picture():
    """At least MIN_SIZE units each way: 24 CSS px once the picture is 310 px wide or more
    (the browser test measures the real thing)."""
    _, _, width, height = bodymap.VIEWBOX
    assert bodymap.MIN_SIZE * 310 / width >= 24
    for r in SHAPES:
        x, y, w, h = bodymap.box(r)
        assert w >= bodymap.MIN_SIZE and h >= bodymap.MIN_SIZE, (r.label, w, h)
        assert x >= 0 and x + w <= width and y >= 0 and y + h <= height, r.label
        assert (x + w / 2 < width / 2) == (r.view == "front"), f"{r.label} is drawn in the wrong view"


def test_no_two_areas_overlap():
    for a, b in combinations(SHAPES, 2):
        ax, ay, aw, ah = bodymap.box(a)
        bx, by, bw, bh = bodymap.box(b)
        apart = ax + aw <= bx or bx + bw <= ax or ay + ah <= by or by + bh <= ay
        assert apart, f"{a.label} overlaps {b.label}"
