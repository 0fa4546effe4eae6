"""Visits: patients, their booked visits, the personal links to a visit's questionnaire,
and the API keys practice-management systems push bookings with (migration 0007)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, JSONType, UTCDateTime, utcnow


class Patient(Base):
    """A patient of the clinic: who they are, how to reach them, the clinic's own reference."""

    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_ref: Mapped[str | None] = mapped_column(String(64), unique=True)  # the clinic's own (PMS) id
    given_name: Mapped[str] = mapped_column(String(120))
    family_name: Mapped[str] = mapped_column(String(120))
    birth_date: Mapped[dt.date] = mapped_column(Date)
    phone: Mapped[str] = mapped_column(String(40), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    language: Mapped[str | None] = mapped_column(String(16))
    search_name: Mapped[str] = mapped_column(String(255), index=True)  # casefolded "given family"
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    visits: Mapped[list[Visit]] = relationship(back_populates="patient", order_by="Visit.starts_at")


class Visit(Base):
    """One booked visit: when, with whom, for what, and which questionnaire comes before it."""

    __tablename__ = "visits"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)  # UTC; shown in clinic time
    clinician: Mapped[str] = mapped_column(String(120), default="")
    treatment: Mapped[str] = mapped_column(String(120), default="acupuncture")
    kind: Mapped[str] = mapped_column(String(12))  # first | later
    questionnaire_id: Mapped[str] = mapped_column(String(64))  # acupuncture-low-back-pain | follow-up
    status: Mapped[str] = mapped_column(String(12), default="booked")  # booked | cancelled
    external_id: Mapped[str | None] = mapped_column(String(64), unique=True)  # a PMS booking id
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    patient: Mapped[Patient] = relationship(back_populates="visits")

    __table_args__ = (Index("ix_visits_starts_at_status", "starts_at", "status"),)


class VisitLink(Base):
    """A personal link to a visit's questionnaire. The token carries only this row's id and
    a random nonce, signed; the nonce is stored hashed, so reissue and revoke are one write."""

    __tablename__ = "visit_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))  # screening | aftercare
    nonce_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex of the nonce
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    opened_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    identified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    failures: Mapped[int] = mapped_column(default=0)  # wrong dates of birth
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class ApiKey(Base):
    """A key a practice-management system uses to push bookings; only its hash is kept."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)  # shown to admins to tell keys apart
    key_hash: Mapped[str] = mapped_column(String(64))  # sha256 hex of the whole key
    scopes: Mapped[list] = mapped_column(JSONType, default=list)  # e.g. ["visits:write", "visits:read"]
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
