"""reports: journal indexes for the listing's keyset order, the cause filter and reversals

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 17:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_journal_entries_tenant_id_posted_on_entry_id", ["tenant_id", "posted_on", "entry_id"]),
    ("ix_journal_entries_tenant_id_cause_event_id", ["tenant_id", "cause_event_id"]),
    ("ix_journal_entries_tenant_id_reverses", ["tenant_id", "reverses"]),
)


def upgrade() -> None:
    with op.batch_alter_table("journal_entries", schema=None) as batch_op:
        for name, columns in INDEXES:
            batch_op.create_index(batch_op.f(name), columns, unique=False)


def downgrade() -> None:
    with op.batch_alter_table("journal_entries", schema=None) as batch_op:
        for name, _columns in reversed(INDEXES):
            batch_op.drop_index(batch_op.f(name))
