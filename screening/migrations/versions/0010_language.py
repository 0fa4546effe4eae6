"""The language the patient answered in, on drafts and submissions

Revision ID: 0010
Revises: 0009
Created: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add drafts.language and submissions.language (None: the clinic's language)."""
    op.add_column("drafts", sa.Column("language", sa.String(length=16), nullable=True))
    op.add_column("submissions", sa.Column("language", sa.String(length=16), nullable=True))


def downgrade() -> None:
    """Drop the two columns (in place, so the queue-count triggers on submissions stay)."""
    op.drop_column("submissions", "language")
    op.drop_column("drafts", "language")
