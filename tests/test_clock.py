"""The one clock: aware UTC, and frozen where a test says so."""

from __future__ import annotations

import datetime as dt

import pytest

from screening import clock
from screening.models import utcnow


def test_now_is_aware_utc():
    """Times carry their zone, so they compare with stored ones."""
    assert clock.now().tzinfo is dt.UTC
    assert clock.today() == clock.now().date()


def test_frozen_moves_every_now_and_today():
    """Inside the block the app's clock (and the models' timestamps) stand still."""
    at = dt.datetime(2030, 1, 2, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-2)))
    with clock.frozen(at):
        assert clock.now() == at
        assert clock.today() == dt.date(2030, 1, 3)  # the UTC date
        assert utcnow() == at
    assert clock.now() != at


def test_frozen_refuses_a_naive_time():
    """A naive time would compare wrongly with stored aware ones."""
    with pytest.raises(ValueError), clock.frozen(dt.datetime(2030, 1, 1)):
        pass
