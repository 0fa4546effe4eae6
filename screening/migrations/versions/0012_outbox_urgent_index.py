"""An index for the failed-alert banner

Revision ID: 0012
Revises: 0011
Created: 2026-11-30

The banner on the queue and Today counts urgent alerts that have not got through, on
every page view. Without an index that count read the whole outbox, which keeps every
message a clinic ever sent: 3,000 and more rows after a month of reminders.
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ix_outbox_urgent (urgent, status, next_attempt_at)."""
    op.create_index("ix_outbox_urgent", "outbox", ["urgent", "status", "next_attempt_at"])


def downgrade() -> None:
    """Drop it."""
    op.drop_index("ix_outbox_urgent", table_name="outbox")
