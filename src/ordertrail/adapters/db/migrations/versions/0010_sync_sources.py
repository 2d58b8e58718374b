"""sync sources: per-source synchronisation mode (event-driven or scheduled batch imports)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27 17:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_sources",
        sa.Column("tenant_id", sa.String(length=63), nullable=False),
        sa.Column(
            "source",
            sa.String(length=64),
            nullable=False,
            comment="The events' `source` field.",
        ),
        sa.Column("mode", sa.String(length=16), nullable=False, comment="event | batch"),
        sa.Column(
            "interval_s",
            sa.Integer(),
            nullable=True,
            comment="Batch only: seconds between runs.",
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=128), nullable=False),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "next_run_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="Null unless batch.",
        ),
        sa.Column("last_run_summary", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "source", name=op.f("pk_sync_sources")),
        comment="Per-source synchronisation mode: event-driven, or batch imports on a schedule.",
    )
    with op.batch_alter_table("sync_sources", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sync_sources_next_run_at"), ["next_run_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("sync_sources", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sync_sources_next_run_at"))
    op.drop_table("sync_sources")
