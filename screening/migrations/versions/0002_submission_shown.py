"""Store the ids of the questions each submission's patient was shown

Revision ID: 0002
Revises: 0001
Created: 2026-11-30 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add submissions.shown (nullable: older submissions did not store it)."""
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "shown", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=True
            )
        )


def downgrade() -> None:
    """Drop submissions.shown."""
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_column("shown")
