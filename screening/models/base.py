"""What every stored record is built on: the declarative base, the UTC timestamp and
JSON column types, and the defaults that make ids, references and times."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from sqlalchemy import JSON, DateTime, TypeDecorator
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase

from .. import clock

JSONType = JSON().with_variant(JSONB(), "postgresql")

# Letters and digits that cannot be mistaken for one another when read aloud or typed.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def utcnow() -> dt.datetime:
    """The current time in UTC (passed as a function, so evaluated per row); see clock."""
    return clock.now()


def new_reference() -> str:
    """A short, unguessable reference such as K7QM-4XR2-PD9H (60 random bits)."""
    chars = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(12))
    return f"{chars[:4]}-{chars[4:8]}-{chars[8:]}"


def new_token() -> str:
    """A random token for a draft (256 bits)."""
    return secrets.token_urlsafe(32)


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always read back timezone-aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        """Store in UTC; a naive time is taken to be UTC already."""
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return value if dialect.name == "postgresql" or value is None else value.replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        """Read back as an aware UTC time."""
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value


class Base(DeclarativeBase):
    """Base class of the models."""
