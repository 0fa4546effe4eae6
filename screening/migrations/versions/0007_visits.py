"""Visits: patients, their visits, personal links and API keys

Revision ID: 0007
Revises: 0006
Created: 2026-11-29

- patients: who the patient is (name, date of birth, contact, the clinic's reference).
- visits: a booked visit (when, clinician, treatment, first or later session), with the
  questionnaire that comes before it and an optional practice-management booking id.
- visit_links: personal links (only the nonce's hash is kept), with the identity-check
  failures and lockout.
- api_keys: keys for a practice-management system (only the key's hash is kept).
- submissions.visit_id and drafts.visit_id: the visit a screening belongs to.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import screening.models

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the tables and add the visit to submissions and drafts."""
    json_type = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
    utc = screening.models.UTCDateTime(timezone=True)
    op.create_table(
        "patients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_ref", sa.String(length=64), nullable=True),
        sa.Column("given_name", sa.String(length=120), nullable=False),
        sa.Column("family_name", sa.String(length=120), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("search_name", sa.String(length=255), nullable=False),
        sa.Column("created_at", utc, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("clinic_ref"),
    )
    op.create_index("ix_patients_search_name", "patients", ["search_name"])
    op.create_table(
        "visits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", utc, nullable=False),
        sa.Column("clinician", sa.String(length=120), nullable=False),
        sa.Column("treatment", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("questionnaire_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", utc, nullable=False),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("external_id"),
    )
    op.create_index("ix_visits_patient_id", "visits", ["patient_id"])
    op.create_index("ix_visits_starts_at", "visits", ["starts_at"])
    op.create_index("ix_visits_starts_at_status", "visits", ["starts_at", "status"])
    op.create_table(
        "visit_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("nonce_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", utc, nullable=False),
        sa.Column("expires_at", utc, nullable=False),
        sa.Column("revoked_at", utc, nullable=True),
        sa.Column("opened_at", utc, nullable=True),
        sa.Column("identified_at", utc, nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", utc, nullable=True),
        sa.ForeignKeyConstraint(["visit_id"], ["visits.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("nonce_hash"),
    )
    op.create_index("ix_visit_links_visit_id", "visit_links", ["visit_id"])
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", json_type, nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", utc, nullable=False),
        sa.Column("revoked_at", utc, nullable=True),
        sa.Column("last_used_at", utc, nullable=True),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("prefix"),
    )
    bind = op.get_bind()
    for table in ("submissions", "drafts"):
        if bind.dialect.name == "sqlite":
            # SQLite adds a foreign key only by copying the table, which loses its triggers
            # (the queue counts on submissions): they are put back exactly as they were.
            saved = _sqlite_triggers(table)
            with op.batch_alter_table(table, schema=None) as batch_op:
                batch_op.add_column(sa.Column("visit_id", sa.Integer(), nullable=True))
                batch_op.create_foreign_key(f"fk_{table}_visit_id", "visits", ["visit_id"], ["id"], ondelete="SET NULL")
            for statement in saved:
                op.execute(statement)
        else:
            op.add_column(table, sa.Column("visit_id", sa.Integer(), nullable=True))
            op.create_foreign_key(f"fk_{table}_visit_id", table, "visits", ["visit_id"], ["id"], ondelete="SET NULL")
        op.create_index(f"ix_{table}_visit_id", table, ["visit_id"])


def _sqlite_triggers(table: str) -> list[str]:
    """The statements that create a SQLite table's triggers."""
    query = sa.text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t ORDER BY name")
    return list(op.get_bind().execute(query, {"t": table}).scalars())


def downgrade() -> None:
    """Drop the visit columns and the tables."""
    bind = op.get_bind()
    for table in ("drafts", "submissions"):
        op.drop_index(f"ix_{table}_visit_id", table_name=table)
        if bind.dialect.name == "sqlite":
            # SQLite cannot drop a column with a foreign key in place: the batch copies the
            # table, which loses its triggers, so they are put back as they were.
            saved = _sqlite_triggers(table)
            with op.batch_alter_table(table, schema=None) as batch_op:
                batch_op.drop_column("visit_id")
            for statement in saved:
                op.execute(statement)
        else:
            op.drop_constraint(f"fk_{table}_visit_id", table, type_="foreignkey")
            op.drop_column(table, "visit_id")
    op.drop_table("api_keys")
    op.drop_index("ix_visit_links_visit_id", table_name="visit_links")
    op.drop_table("visit_links")
    op.drop_index("ix_visits_starts_at_status", table_name="visits")
    op.drop_index("ix_visits_starts_at", table_name="visits")
    op.drop_index("ix_visits_patient_id", table_name="visits")
    op.drop_table("visits")
    op.drop_index("ix_patients_search_name", table_name="patients")
    op.drop_table("patients")
