"""One submission: why it was flagged, every answer, and its reviews."""

from __future__ import annotations

from .blueprint import bp


@bp.get("/submissions/<reference>")
def record(reference: str) -> str:
    """One submission (to be built)."""
    return reference
