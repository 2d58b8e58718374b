"""carrier polling: per tracked parcel, its cadence tier, next poll time and last error

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 17:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "carrier_poll_state",
        sa.Column("tenant_id", sa.String(length=63), nullable=False),
        sa.Column("carrier", sa.String(length=64), nullable=False),
        sa.Column("tracking_number", sa.String(length=128), nullable=False),
        sa.Column(
            "provider",
            sa.String(length=32),
            nullable=False,
            comment="The tracking API that polls it.",
        ),
        sa.Column(
            "credential",
            sa.String(length=64),
            nullable=False,
            comment="Which of the provider's keys.",
        ),
        sa.Column(
            "status",
            sa.String(length=32),
            nullable=True,
            comment="The shipment status last seen.",
        ),
        sa.Column(
            "tier",
            sa.String(length=16),
            nullable=False,
            comment="Cadence tier: urgent|moving|waiting|done.",
        ),
        sa.Column(
            "next_poll_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="Null: not polled again.",
        ),
        sa.Column("attempts", sa.Integer(), nullable=False, comment="Consecutive failed polls."),
        sa.Column("last_polled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant_id", "carrier", "tracking_number", name=op.f("pk_carrier_poll_state")
        ),
        comment="Carrier polling: per tracked parcel, its cadence tier, next poll and last error.",
    )
    with op.batch_alter_table("carrier_poll_state", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_carrier_poll_state_next_poll_at"), ["next_poll_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("carrier_poll_state", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_carrier_poll_state_next_poll_at"))
    op.drop_table("carrier_poll_state")
