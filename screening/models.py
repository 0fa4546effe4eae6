"""The stored records: submissions, the questionnaire versions they answered, drafts."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, TypeDecorator
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

JSONType = JSON().with_variant(JSONB(), "postgresql")

# Letters and digits that cannot be mistaken for one another when read aloud or typed.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"

# Outcomes in triage order; stored as a rank so the queue sorts on an index.
OUTCOME_RANK = {"urgent": 0, "not_suitable": 1, "review": 2, "suitable": 3}


def utcnow() -> dt.datetime:
    """The current time in UTC (passed as a function, so evaluated per row)."""
    return dt.datetime.now(dt.UTC)


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


class QuestionnaireVersion(Base):
    """A questionnaire exactly as it was, so old submissions show what was asked."""

    __tablename__ = "questionnaire_versions"

    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    questionnaire_id: Mapped[str] = mapped_column(String(64))
    definition: Mapped[dict] = mapped_column(JSONType)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Submission(Base):
    """One patient's submitted answers, with the flags and outcome worked out from them."""

    __tablename__ = "submissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True, default=new_reference)
    # The draft it came from: unique, so a double submit can never make two rows.
    draft_token: Mapped[str] = mapped_column(String(64), unique=True)
    questionnaire_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(ForeignKey("questionnaire_versions.version"))
    answers: Mapped[dict] = mapped_column(JSONType)
    derived: Mapped[dict] = mapped_column(JSONType)
    flags: Mapped[list] = mapped_column(JSONType)
    outcome: Mapped[str] = mapped_column(String(16))
    outcome_rank: Mapped[int]
    urgent_advice: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    review_state: Mapped[str] = mapped_column(String(16), default="new")

    __table_args__ = (Index("ix_submissions_queue", "outcome_rank", "created_at", "id"),)


class Draft(Base):
    """A patient's answers while they fill in the form, kept on the server.

    The browser holds only the random token, so a long pause, an expired CSRF token
    or a closed tab costs nothing.
    """

    __tablename__ = "drafts"

    token: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_token)
    answers: Mapped[dict] = mapped_column(JSONType, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id", ondelete="SET NULL"), unique=True)
