"""event pipeline: per-order and per-lane indexes, the milestone log consumer's table

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("queue_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_queue_messages_lane_tenant_id_order_id_id"),
            ["lane", "tenant_id", "order_id", "id"],
            unique=False,
        )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outbox_lane_published_at_id"),
            ["lane", "published_at", "id"],
            unique=False,
        )
    op.create_table(
        "milestone_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("tenant_id", sa.String(length=63), nullable=False),
        sa.Column("consumer", sa.String(length=100), nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("order_id", sa.String(length=128), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("lane", sa.String(length=16), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When ingest wrote the outbox row.",
        ),
        sa.Column(
            "handled_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When the consumer handled it.",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_milestone_log")),
        comment="The milestone log consumer: each milestone handled, with its end-to-end lag.",
    )
    with op.batch_alter_table("milestone_log", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_milestone_log_tenant_id_order_id_id"),
            ["tenant_id", "order_id", "id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_milestone_log_lane_handled_at"), ["lane", "handled_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("milestone_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_milestone_log_lane_handled_at"))
        batch_op.drop_index(batch_op.f("ix_milestone_log_tenant_id_order_id_id"))
    op.drop_table("milestone_log")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_lane_published_at_id"))
    with op.batch_alter_table("queue_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_queue_messages_lane_tenant_id_order_id_id"))
