"""Several questionnaires: which one a draft answers, the patient's name for a draft started
for a known patient, and the earlier answers a submission's rules looked at

Revision ID: 0008
Revises: 0007
Created: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add drafts.questionnaire_id, drafts.patient_name and submissions.earlier (all nullable)."""
    op.add_column("drafts", sa.Column("questionnaire_id", sa.String(length=64), nullable=True))
    op.add_column("drafts", sa.Column("patient_name", sa.String(length=200), nullable=True))
    earlier = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
    op.add_column("submissions", sa.Column("earlier", earlier, nullable=True))


def downgrade() -> None:
    """Drop the three columns (in place: SQLite 3.35+ drops a column without copying the
    table, so the queue-count triggers on submissions stay)."""
    op.drop_column("submissions", "earlier")
    op.drop_column("drafts", "patient_name")
    op.drop_column("drafts", "questionnaire_id")
