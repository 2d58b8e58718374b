"""amendment thresholds, parked amendments; pending gate orders by last judgement

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-27 18:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "amendment_thresholds",
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("absolute_minor", sa.BigInteger(), nullable=True),
        sa.Column("percent_bp", sa.Integer(), nullable=True),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.Column("updated_at", AT, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "currency", name=op.f("pk_amendment_thresholds")),
        comment="Per currency: amendments moving the order value this much wait for approval.",
    )
    op.create_table(
        "parked_amendments",
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("order_id", sa.String(128), nullable=False),
        sa.Column(
            "body", sa.Text(), nullable=False, comment="The order.amended milestone, as JSON."
        ),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("impact_minor", sa.BigInteger(), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("parked_at", AT, nullable=False),
        sa.Column("posted_at", AT, nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "event_id", name=op.f("pk_parked_amendments")),
        comment="Amendments above the threshold, waiting for an approved amendment.post request.",
    )

    op.create_index(
        op.f("ix_recognition_gate_orders_pending_updated_at"),
        "recognition_gate_orders",
        ["pending", "updated_at"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_recognition_gate_orders_pending_updated_at"),
        table_name="recognition_gate_orders",
    )
    op.drop_table("parked_amendments")
    op.drop_table("amendment_thresholds")
