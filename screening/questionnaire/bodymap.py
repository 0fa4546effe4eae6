"""The pain body map: named regions of a body seen from the front and the back.

Pure data. Each region has a code (stored as the answer, usable in conditions and
rules), a label the patient reads, the view it is drawn in, and its SVG shape. Left
and right are the patient's own: on the front view their left is on the viewer's
right.
"""

from __future__ import annotations

from dataclasses import dataclass


def N_(text: str) -> str:
    """Marks a label for the pages' catalogs (`make messages`): a patient's page reads it
    in their language (screening/i18n/), the stored answer is the code."""
    return text


@dataclass(frozen=True)
class Region:
    """One area a patient can mark."""

    code: str
    label: str
    view: str  # front | back
    shape: str  # rect | ellipse
    attrs: tuple[tuple[str, float], ...]


def _rect(x: float, y: float, w: float, h: float, r: float = 8) -> tuple[tuple[str, float], ...]:
    return (("x", x), ("y", y), ("width", w), ("height", h), ("rx", r))


def _ellipse(cx: float, cy: float, rx: float, ry: float) -> tuple[tuple[str, float], ...]:
    return (("cx", cx), ("cy", cy), ("rx", rx), ("ry", ry))


# The drawing's coordinate space: the front view on the left half, the back view on the
# right half. Every area is at least 28 units each way, so that it is a target of at
# least 24 x 24 CSS pixels (WCAG 2.2, 2.5.8) wherever the picture is drawn 310 or more
# pixels wide (on a 390-pixel phone it is about 340); no two areas overlap.
VIEWBOX = (0, 0, 360, 460)
MIN_SIZE = 28

REGIONS: tuple[Region, ...] = (
    # Head to feet, the order the list and the keyboard follow.
    Region("neck", N_("Neck"), "back", "rect", _rect(255, 40, 30, 30, 6)),
    Region("right_shoulder", N_("Right shoulder"), "front", "ellipse", _ellipse(50, 74, 18, 15)),
    Region("left_shoulder", N_("Left shoulder"), "front", "ellipse", _ellipse(130, 74, 18, 15)),
    Region("upper_back", N_("Upper back"), "back", "rect", _rect(238, 72, 64, 56, 6)),
    Region("right_arm", N_("Right arm"), "front", "rect", _rect(20, 92, 30, 112, 12)),
    Region("left_arm", N_("Left arm"), "front", "rect", _rect(130, 92, 30, 112, 12)),
    Region("lower_back", N_("Lower back"), "back", "rect", _rect(238, 130, 64, 40, 6)),
    Region("right_hip", N_("Right hip"), "front", "rect", _rect(58, 172, 31, 34, 8)),
    Region("left_hip", N_("Left hip"), "front", "rect", _rect(91, 172, 31, 34, 8)),
    Region("buttocks", N_("Buttocks"), "back", "rect", _rect(238, 172, 64, 34, 10)),
    Region("right_thigh_front", N_("Front of right thigh"), "front", "rect", _rect(59, 208, 30, 78)),
    Region("left_thigh_front", N_("Front of left thigh"), "front", "rect", _rect(91, 208, 30, 78)),
    Region("right_thigh_back", N_("Back of right thigh"), "back", "rect", _rect(271, 208, 30, 78)),
    Region("left_thigh_back", N_("Back of left thigh"), "back", "rect", _rect(239, 208, 30, 78)),
    Region("right_knee", N_("Right knee"), "front", "ellipse", _ellipse(74, 303, 16, 15)),
    Region("left_knee", N_("Left knee"), "front", "ellipse", _ellipse(106, 303, 16, 15)),
    Region("right_lower_leg", N_("Right lower leg"), "front", "rect", _rect(59, 320, 30, 78)),
    Region("left_lower_leg", N_("Left lower leg"), "front", "rect", _rect(91, 320, 30, 78)),
    Region("right_foot", N_("Right foot"), "front", "ellipse", _ellipse(70, 415, 18, 15)),
    Region("left_foot", N_("Left foot"), "front", "ellipse", _ellipse(110, 415, 18, 15)),
)
REGION_CODES = tuple(r.code for r in REGIONS)
LABELS = {r.code: r.label for r in REGIONS}

# The calves and heels seen from behind: the same regions as the front view's lower legs
# and feet (a second shape that ticks the same answer), so that a patient can mark them on
# either view. Only the patient's map draws them; the clinician's picture shows each
# region once.
BACK_OF_LOWER_LEGS: tuple[Region, ...] = (
    Region("left_lower_leg", N_("Back of left lower leg (calf)"), "back", "rect", _rect(239, 292, 30, 106)),
    Region("right_lower_leg", N_("Back of right lower leg (calf)"), "back", "rect", _rect(271, 292, 30, 106)),
    Region("left_foot", N_("Left foot, from behind (heel)"), "back", "ellipse", _ellipse(250, 415, 18, 15)),
    Region("right_foot", N_("Right foot, from behind (heel)"), "back", "ellipse", _ellipse(290, 415, 18, 15)),
)


def box(region: Region) -> tuple[float, float, float, float]:
    """The region's bounding box in the drawing's units: x, y, width, height."""
    a = dict(region.attrs)
    if region.shape == "ellipse":
        return (a["cx"] - a["rx"], a["cy"] - a["ry"], 2 * a["rx"], 2 * a["ry"])
    return (a["x"], a["y"], a["width"], a["height"])
