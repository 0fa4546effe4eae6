"""The clinic's own details: name, phone, address and time zone

Revision ID: 0006
Revises: 0005
Created: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import screening.models

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create clinic_settings (one row, written by setup and the admin's settings page)."""
    op.create_table(
        "clinic_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("updated_at", screening.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    """Drop clinic_settings."""
    op.drop_table("clinic_settings")
