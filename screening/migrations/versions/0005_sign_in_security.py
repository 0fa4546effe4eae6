"""Sign-in security: two-factor columns, temporary passwords, throttling, an append-only audit log

Revision ID: 0005
Revises: 0003
Created: 2026-11-29

- users: `temporary_until` (an admin-given password must be changed, and expires),
  `totp_secret`, `totp_last_step` and `recovery_codes` (two-factor sign-in).
- sign_in_throttle: failed sign-ins per hashed key (screening/review/throttle.py).
- audit_events becomes append-only in the database itself: a trigger refuses every
  UPDATE and DELETE, whoever sends it (the app, a bug, an injected statement). On
  PostgreSQL the table's owner can still drop the trigger; docs/security.md gives the
  grants for an app role that cannot.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import screening.models

revision = "0005"
down_revision = "0003"
branch_labels = None
depends_on = None

REFUSAL = "the audit log is append-only"
SQLITE_TRIGGERS = [
    f"CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events"
    f" BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END"
    for verb in ("UPDATE", "DELETE")
]
PG_FUNCTION = f"""
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '{REFUSAL}' USING ERRCODE = 'insufficient_privilege';
END $$"""
PG_TRIGGER = (
    "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events"
    " FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()"
)


def upgrade() -> None:
    """Add the columns and the table; make the audit log append-only."""
    json_type = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("temporary_until", screening.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("totp_secret", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("totp_last_step", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("recovery_codes", json_type, nullable=False, server_default="[]"))
    op.create_table(
        "sign_in_throttle",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("since", sa.Double(), nullable=False),
        sa.Column("wait_until", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        op.execute(PG_TRIGGER)
    else:
        for trigger in SQLITE_TRIGGERS:
            op.execute(trigger)


def downgrade() -> None:
    """Drop the triggers, the table and the columns."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION audit_events_append_only()")
    else:
        op.execute("DROP TRIGGER audit_events_no_update")
        op.execute("DROP TRIGGER audit_events_no_delete")
    op.drop_table("sign_in_throttle")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("recovery_codes")
        batch_op.drop_column("totp_last_step")
        batch_op.drop_column("totp_secret")
        batch_op.drop_column("temporary_until")
