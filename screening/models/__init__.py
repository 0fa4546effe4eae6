"""The stored records: submissions, the questionnaire versions they answered, drafts,
reviews, accounts, the audit log and the clinic's settings.

The rest have their own modules, and every model is importable from here: `base` (the
declarative base, column types and defaults), `visits` (patients, visits, personal links,
API keys) and `outbox` (messages waiting to be sent). Importing this package registers
every table on `Base.metadata`, which Alembic compares with the migrations.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

# Outcomes in triage order, stored as a rank so the queue sorts on an index (the vocabulary's).
from ..questionnaire.vocabulary import OUTCOME_RANK as OUTCOME_RANK
from .base import REFERENCE_ALPHABET, Base, JSONType, UTCDateTime, new_reference, new_token, utcnow
from .outbox import OutboxDisabledTarget, OutboxMessage
from .visits import ApiKey, Patient, Visit, VisitLink

__all__ = [
    "OUTCOME_RANK",
    "REFERENCE_ALPHABET",
    "REVIEW_OUTCOMES",
    "ApiKey",
    "AuditEvent",
    "Base",
    "ClinicSettings",
    "Draft",
    "JSONType",
    "OutboxDisabledTarget",
    "OutboxMessage",
    "Patient",
    "QuestionnaireVersion",
    "QueueCount",
    "RateLimitCounter",
    "Review",
    "SignInThrottle",
    "Submission",
    "UTCDateTime",
    "User",
    "Visit",
    "VisitLink",
    "new_reference",
    "new_token",
    "utcnow",
]


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
    # The ids of the questions the patient was shown, in the order asked (None: sent
    # before this was stored, so the record works it out from the answers).
    shown: Mapped[list | None] = mapped_column(JSONType)
    outcome: Mapped[str] = mapped_column(String(16))
    outcome_rank: Mapped[int]
    urgent_advice: Mapped[str | None] = mapped_column(String(32))
    # False: sent early, because an answer was urgent, before every question was answered.
    complete: Mapped[bool] = mapped_column(Boolean, default=True)
    # The patient's earlier answers the questionnaire's rules looked at, by the name they
    # use ({"first_visit.cancer_history": "yes"}); None when it names none (migration 0008).
    earlier: Mapped[dict | None] = mapped_column(JSONType)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Who the patient is, copied from the answers for the queue and its name filter.
    patient_name: Mapped[str | None] = mapped_column(String(200))
    name_key: Mapped[str | None] = mapped_column(String(200))  # lower-cased, for prefix search
    # The latest review, denormalised for the queue; the full history is in `reviews`.
    review_state: Mapped[str] = mapped_column(String(16), default="new")  # new | reviewed | erased
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    review_outcome: Mapped[str | None] = mapped_column(String(16))
    erased_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The visit this screening was for (None: a walk-in from the open start page).
    # Indexed by ix_submissions_visit, below.
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id", ondelete="SET NULL"))
    # The language the patient answered in, a BCP 47 tag (None: the clinic's) (migration 0010).
    language: Mapped[str | None] = mapped_column(String(16))

    reviews: Mapped[list[Review]] = relationship(
        back_populates="submission", order_by="Review.at", cascade="all, delete-orphan", passive_deletes=True
    )
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])

    __table_args__ = (
        # The triage queue: urgent first, newest first; keyset paging walks this index.
        Index("ix_submissions_queue", "outcome_rank", "created_at", "id"),
        Index("ix_submissions_state_queue", "review_state", "outcome_rank", "created_at", "id"),
        Index("ix_submissions_created", "created_at"),
        Index("ix_submissions_name", "name_key"),
        # A visit's screenings and checks, by time (Today, the course); partial, because a
        # clinic's walk-ins have no visit and would make one huge NULL key (migration 0011).
        Index(
            "ix_submissions_visit",
            "visit_id",
            "created_at",
            "id",
            sqlite_where=text("visit_id IS NOT NULL"),
            postgresql_where=text("visit_id IS NOT NULL"),
        ),
    )


class QueueCount(Base):
    """How many submissions there are per UTC day, review state and outcome.

    Kept by database triggers on `submissions` (migration 0003), in the same transaction
    as every insert, review, erasure and purge, whoever writes: the app, the seed loader
    or an operator. The queue reads its counts here instead of counting a million rows.
    """

    __tablename__ = "queue_counts"

    # Keyed state first: the counts are read grouped by state and outcome, in key order.
    review_state: Mapped[str] = mapped_column(String(16), primary_key=True)
    outcome_rank: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD, UTC
    n: Mapped[int]


# Review outcomes a clinician can record, in the order offered.
REVIEW_OUTCOMES = {
    "cleared": "Cleared for needling",
    "contacted": "Contacted patient",
    "referred": "Referred",
    "other": "Other",
}


class Review(Base):
    """A clinician's review of a submission: what they decided, and a short note."""

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    outcome: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")

    submission: Mapped[Submission] = relationship(back_populates="reviews")
    user: Mapped[User] = relationship()


class User(Base):
    """A clinician or an admin who signs in to review submissions."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-case
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="clinician")  # clinician | admin
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped on logout, deactivation and password change: every older session ends.
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A password an admin gave (a new account, a reset) must be changed at the next sign-in,
    # and stops working at this time if it never was (None: the person chose it).
    temporary_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Two-factor sign-in: the authenticator app's shared secret (base32; None: not enrolled),
    # the last 30-second step a code was accepted for (a code works once), and the
    # SHA-256 hashes of the unused one-time recovery codes.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_last_step: Mapped[int | None]
    recovery_codes: Mapped[list] = mapped_column(JSONType, default=list)

    @property
    def is_admin(self) -> bool:
        """Whether the user may manage accounts and read the audit log."""
        return self.role == "admin"

    # What Flask-Login asks of a user object.
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        """Deactivated accounts cannot sign in or stay signed in."""
        return self.active

    def get_id(self) -> str:
        """The session's user id carries the session version, so old cookies stop working."""
        return f"{self.id}:{self.session_version}"


class RateLimitCounter(Base):
    """A rate-limit counter shared by every worker (see screening/ratelimit.py)."""

    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    count: Mapped[int]
    expires_at: Mapped[float] = mapped_column(index=True)


class SignInThrottle(Base):
    """Failed sign-ins counted per key (an account from one address or device, an
    account, an address): see screening/review/throttle.py. Keys are hashed, so any
    typed email fits and no address is kept in the clear."""

    __tablename__ = "sign_in_throttle"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    # When this key's failures started counting, and before when no attempt is let through.
    since: Mapped[float]
    wait_until: Mapped[float] = mapped_column(default=0.0)


class AuditEvent(Base):
    """Who did what, to which record, when and from where. Rows are only ever added.

    No answers, passwords or tokens are ever written here: `detail` holds ids, states,
    counts and filters, and for an erasure the admin's stated reason.
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    actor: Mapped[str | None] = mapped_column(String(254), index=True)  # the email at the time
    action: Mapped[str] = mapped_column(String(40), index=True)
    reference: Mapped[str | None] = mapped_column(String(16), index=True)  # a submission, kept after erasure
    target_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    ip: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict] = mapped_column(JSONType, default=dict)


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
    # The visit whose personal link started it: the draft belongs to the visit, not a browser.
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id", ondelete="SET NULL"), index=True)
    # Which questionnaire this draft answers (None: the default one), and the patient's name
    # when it was started for a known patient (a later check need not ask it) (migration 0008).
    questionnaire_id: Mapped[str | None] = mapped_column(String(64))
    patient_name: Mapped[str | None] = mapped_column(String(200))
    # The language the patient reads the form in (the visit's, then their own choice) (migration 0010).
    language: Mapped[str | None] = mapped_column(String(16))


class ClinicSettings(Base):
    """The clinic's own details, one row: shown on every patient page, and the time zone in
    which every date and time is read and shown (see clinic.py)."""

    __tablename__ = "clinic_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str] = mapped_column(String(40), default="")
    address: Mapped[str] = mapped_column(Text, default="")
    time_zone: Mapped[str] = mapped_column(String(64), default="Europe/London")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
