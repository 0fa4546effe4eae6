"""The pain score across a course of sessions: the changes that matter, and a chart of them
drawn on the server as SVG (no JavaScript), with words for every mark.

Pure: dated scores go in, plain data and SVG markup come out. A change of 2 points or
more on the 0-10 scale is clinically meaningful (CLINICAL.md, `pain_now`, source S27);
the chart marks such a change with a different shape and a written number as well as
colour, and the page shows the same figures as a table.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from markupsafe import Markup, escape

# CLINICAL.md: pain_now, "a 2-point change is clinically meaningful" (S27).
MEANINGFUL_CHANGE = 2
SCALE_MAX = 10

# The drawing's own units; the SVG scales to the width it is given.
WIDTH = 640
HEIGHT = 260
LEFT, RIGHT, TOP, BOTTOM = 44, 20, 16, 46


@dataclass(frozen=True)
class PainPoint:
    """One pain score: when it was given (clinic time), from which check, and the score."""

    at: dt.datetime
    score: int
    check: str  # "First visit", "Follow-up", "Aftercare"
    reference: str | None = None


@dataclass(frozen=True)
class PainStep:
    """A score with its change since the score before it."""

    point: PainPoint
    change: int | None  # None for the first score

    @property
    def meaningful(self) -> bool:
        """A change of 2 points or more, either way."""
        return self.change is not None and abs(self.change) >= MEANINGFUL_CHANGE

    @property
    def change_words(self) -> str:
        """The change in words, saying whether it is meaningful."""
        return change_words(self.change)


def change_words(change: int | None) -> str:
    """'Down 3 points: a meaningful improvement', 'Up 1 point', 'No change', '' (no change to tell)."""
    if change is None:
        return ""
    if change == 0:
        return "No change"
    points = "point" if abs(change) == 1 else "points"
    words = f"{'Down' if change < 0 else 'Up'} {abs(change)} {points}"
    if abs(change) >= MEANINGFUL_CHANGE:
        words += ": a meaningful " + ("improvement" if change < 0 else "worsening")
    return words


def steps(points: list[PainPoint]) -> list[PainStep]:
    """The scores in time order, each with its change since the one before."""
    ordered = sorted(points, key=lambda p: p.at)
    return [PainStep(p, None if i == 0 else p.score - ordered[i - 1].score) for i, p in enumerate(ordered)]


def summary(points: list[PainPoint]) -> str:
    """One sentence on the whole course: first score, latest score, and whether the change is meaningful."""
    ordered = steps(points)
    if not ordered:
        return "No pain scores yet."
    first, last = ordered[0].point, ordered[-1].point
    if len(ordered) == 1:
        return f"One pain score so far: {first.score} out of {SCALE_MAX} ({_day(first.at)})."
    change = last.score - first.score
    words = change_words(change) if change else "no change"
    return (
        f"Pain went from {first.score} ({_day(first.at)}) to {last.score} ({_day(last.at)}) "
        f"over {len(ordered)} scores: {words[0].lower() + words[1:]}."
        f" A change of {MEANINGFUL_CHANGE} points or more is meaningful."
    )


def _day(at: dt.datetime) -> str:
    """'3 Mar 2026'."""
    return f"{at.day} {at:%b %Y}"


def _x(index: int, count: int) -> float:
    """Where the index-th score sits across the plot (evenly spaced sessions)."""
    inner = WIDTH - LEFT - RIGHT
    return LEFT + (inner / 2 if count == 1 else inner * index / (count - 1))


def _y(score: int) -> float:
    """Where a score sits up the plot (0 at the bottom, 10 at the top)."""
    inner = HEIGHT - TOP - BOTTOM
    return TOP + inner * (SCALE_MAX - min(max(score, 0), SCALE_MAX)) / SCALE_MAX


def _n(value: float) -> str:
    """A coordinate, short."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def svg(points: list[PainPoint], chart_id: str = "pain-chart") -> Markup:
    """The chart as inline SVG: role="img" with a title and a description that say what it shows."""
    ordered = steps(points)
    title = f"Pain score (0 to {SCALE_MAX}) at each check"
    desc = (
        summary(points)
        + " "
        + " ".join(
            f"{_day(s.point.at)}, {s.point.check}: {s.point.score}"
            + (f" ({s.change_words})" if s.change is not None else "")
            + "."
            for s in ordered
        )
    )
    parts = [
        f'<svg class="pain-chart" id="{escape(chart_id)}" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc" preserveAspectRatio="xMidYMid meet">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-desc">{escape(desc)}</desc>',
    ]
    # The scale: a line and a number every 2 points.
    for score in range(0, SCALE_MAX + 1, 2):
        grid_y = _n(_y(score))
        parts.append(f'<line class="pain-chart__grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{grid_y}" y2="{grid_y}"/>')
        parts.append(
            f'<text class="pain-chart__axis" x="{LEFT - 8}" y="{grid_y}" text-anchor="end" dy="0.35em">{score}</text>'
        )
    parts.append(
        f'<text class="pain-chart__axis" x="12" y="{_n(TOP + (HEIGHT - TOP - BOTTOM) / 2)}" text-anchor="middle" '
        f'transform="rotate(-90 12 {_n(TOP + (HEIGHT - TOP - BOTTOM) / 2)})">Pain (0-{SCALE_MAX})</text>'
    )
    count = len(ordered)
    coords = [(_x(i, count), _y(s.point.score)) for i, s in enumerate(ordered)]
    # The segments: a meaningful change is drawn thick; the number beside its point says so too.
    for i in range(1, count):
        (x1, y1), (x2, y2) = coords[i - 1], coords[i]
        kind = " pain-chart__line--meaningful" if ordered[i].meaningful else ""
        parts.append(f'<line class="pain-chart__line{kind}" x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2)}" y2="{_n(y2)}"/>')
    # Date labels: as many as fit without overlapping (about 70 units each), always the last.
    every = max(1, -(-count * 70 // (WIDTH - LEFT - RIGHT)))
    for i, (step, (x, y)) in enumerate(zip(ordered, coords, strict=True)):
        if step.meaningful:
            # A diamond, not a dot, with the change written beside it.
            d = 7
            parts.append(
                f'<path class="pain-chart__point pain-chart__point--meaningful" '
                f'd="M{_n(x)} {_n(y - d)} L{_n(x + d)} {_n(y)} L{_n(x)} {_n(y + d)} L{_n(x - d)} {_n(y)} Z"/>'
            )
            sign = "−" if step.change is not None and step.change < 0 else "+"
            label_y = y - 12 if y > TOP + 20 else y + 20
            parts.append(
                f'<text class="pain-chart__change" x="{_n(x)}" y="{_n(label_y)}" text-anchor="middle">'
                f"{sign}{abs(step.change or 0)}</text>"
            )
        else:
            parts.append(f'<circle class="pain-chart__point" cx="{_n(x)}" cy="{_n(y)}" r="4.5"/>')
        if i % every == 0 or i == count - 1:
            parts.append(
                f'<text class="pain-chart__axis" x="{_n(x)}" y="{HEIGHT - BOTTOM + 18}" text-anchor="middle">'
                f"{escape(f'{step.point.at.day} {step.point.at:%b}')}</text>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every piece of text in it is escaped above)
