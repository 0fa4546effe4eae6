"""The pain body map: named regions of a body seen from the front and the back.

Pure data. Each region has a code (stored as the answer, usable in conditions and
rules), a label the patient reads, the view it is drawn in, and its SVG shape. Left
and right are the patient's own: on the front view their left is on the viewer's
right.
"""

from __future__ import annotations

from dataclasses import dataclass


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


REGIONS: tuple[Region, ...] = (
    # Head to feet, the order the list and the keyboard follow.
    Region("neck", "Neck", "back", "rect", _rect(293, 50, 24, 14, 4)),
    Region("right_shoulder", "Right shoulder", "front", "ellipse", _ellipse(60, 70, 15, 11)),
    Region("left_shoulder", "Left shoulder", "front", "ellipse", _ellipse(130, 70, 15, 11)),
    Region("upper_back", "Upper back", "back", "rect", _rect(274, 66, 62, 48, 6)),
    Region("right_arm", "Right arm", "front", "rect", _rect(36, 84, 18, 104, 9)),
    Region("left_arm", "Left arm", "front", "rect", _rect(136, 84, 18, 104, 9)),
    Region("lower_back", "Lower back", "back", "rect", _rect(274, 116, 62, 44, 6)),
    Region("right_hip", "Right hip", "front", "rect", _rect(64, 162, 30, 28, 8)),
    Region("left_hip", "Left hip", "front", "rect", _rect(96, 162, 30, 28, 8)),
    Region("buttocks", "Buttocks", "back", "rect", _rect(274, 162, 62, 28, 10)),
    Region("right_thigh_front", "Front of right thigh", "front", "rect", _rect(65, 192, 28, 72)),
    Region("left_thigh_front", "Front of left thigh", "front", "rect", _rect(97, 192, 28, 72)),
    Region("right_thigh_back", "Back of right thigh", "back", "rect", _rect(307, 192, 28, 72)),
    Region("left_thigh_back", "Back of left thigh", "back", "rect", _rect(275, 192, 28, 72)),
    Region("right_knee", "Right knee", "front", "ellipse", _ellipse(79, 276, 14, 11)),
    Region("left_knee", "Left knee", "front", "ellipse", _ellipse(111, 276, 14, 11)),
    Region("right_lower_leg", "Right lower leg", "front", "rect", _rect(67, 289, 24, 78)),
    Region("left_lower_leg", "Left lower leg", "front", "rect", _rect(99, 289, 24, 78)),
    Region("right_foot", "Right foot", "front", "ellipse", _ellipse(75, 380, 16, 9)),
    Region("left_foot", "Left foot", "front", "ellipse", _ellipse(115, 380, 16, 9)),
)
REGION_CODES = tuple(r.code for r in REGIONS)
LABELS = {r.code: r.label for r in REGIONS}
