"""The one clock: every "now" and "today" in the app comes from here, so tests can move it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

_frozen: dt.datetime | None = None


def now() -> dt.datetime:
    """The current time, timezone-aware in UTC."""
    return _frozen if _frozen is not None else dt.datetime.now(dt.UTC)


def today() -> dt.date:
    """Today's date in UTC."""
    return now().date()


@contextmanager
def frozen(at: dt.datetime) -> Iterator[dt.datetime]:
    """Stop the clock at `at` (aware) inside the block; for tests."""
    global _frozen
    if at.tzinfo is None:
        raise ValueError("the clock runs in UTC: give an aware datetime")
    previous, _frozen = _frozen, at.astimezone(dt.UTC)
    try:
        yield _frozen
    finally:
        _frozen = previous
