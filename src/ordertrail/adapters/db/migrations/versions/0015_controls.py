"""revenue controls: holds, versioned recognition rules, the gate's order state, decisions

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-27 17:40:00.000000

recognition_decisions is append-only: the database refuses UPDATE and DELETE.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ordertrail.adapters.db.migrations.append_only import forbid_update_and_delete

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
AT = sa.DateTime(timezone=True)
APPEND_ONLY = ("recognition_decisions",)


def _tenant() -> sa.Column[str]:
    return sa.Column("tenant_id", sa.String(63), nullable=False)


def upgrade() -> None:
    op.create_table(
        "revenue_holds",
        _tenant(),
        sa.Column("hold_id", sa.String(64), nullable=False),
        sa.Column("order_id", sa.String(128), nullable=False),
        sa.Column("line_id", sa.String(128), nullable=True),
        sa.Column("obligation_id", sa.String(128), nullable=True),
        sa.Column("contract_id", sa.String(128), nullable=True),
        sa.Column("reason_code", sa.String(64), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("source_ref", sa.String(128), nullable=True),
        sa.Column("placed_by", sa.String(200), nullable=False),
        sa.Column("placed_at", AT, nullable=False),
        sa.Column("released_by", sa.String(200), nullable=True),
        sa.Column("released_at", AT, nullable=True),
        sa.Column("approval_id", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "hold_id", name=op.f("pk_revenue_holds")),
        comment="Holds that block recognition on an order, a line or an obligation until released.",
    )
    op.create_index(
        op.f("ix_revenue_holds_tenant_id_order_id"), "revenue_holds", ["tenant_id", "order_id"]
    )
    op.create_index(
        op.f("ix_revenue_holds_tenant_id_released_at_placed_at"),
        "revenue_holds",
        ["tenant_id", "released_at", "placed_at"],
    )
    op.create_table(
        "recognition_rules",
        _tenant(),
        sa.Column("rule_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False, comment="The rule as canonical JSON."),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("proposed_by", sa.String(200), nullable=False),
        sa.Column("proposed_at", AT, nullable=False),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("approved_by", sa.String(200), nullable=True),
        sa.Column("approved_at", AT, nullable=True),
        sa.PrimaryKeyConstraint(
            "tenant_id", "rule_id", "version", name=op.f("pk_recognition_rules")
        ),
        comment="Versioned recognition rules, active once a second person approves a version.",
    )
    op.create_table(
        "recognition_gate_orders",
        _tenant(),
        sa.Column("order_id", sa.String(128), nullable=False),
        sa.Column(
            "state", sa.Text(), nullable=False, comment="Body, facts and released counts as JSON."
        ),
        sa.Column("pending", sa.Boolean(), nullable=False),
        sa.Column("updated_at", AT, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "order_id", name=op.f("pk_recognition_gate_orders")),
        comment="The recognition gate's state per order: what is known and what was released.",
    )
    op.create_index(
        op.f("ix_recognition_gate_orders_pending_tenant_id"),
        "recognition_gate_orders",
        ["pending", "tenant_id"],
    )
    op.create_table(
        "recognition_decisions",
        sa.Column("seq", ID, autoincrement=True, nullable=False),
        _tenant(),
        sa.Column("order_id", sa.String(128), nullable=False),
        sa.Column("contract_id", sa.String(128), nullable=False),
        sa.Column("obligation_id", sa.String(128), nullable=False),
        sa.Column("line_id", sa.String(128), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(300), nullable=False),
        sa.Column("rule_id", sa.String(64), nullable=True),
        sa.Column("rule_version", sa.Integer(), nullable=True),
        sa.Column("fallback", sa.Boolean(), nullable=False),
        sa.Column("facts", sa.Text(), nullable=False, comment="The facts the rule saw, as JSON."),
        sa.Column("counts", sa.Text(), nullable=False, comment="The counts released, as JSON."),
        sa.Column("cause", sa.String(300), nullable=True),
        sa.Column("decided_at", AT, nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_recognition_decisions")),
        comment="Append-only: every recognition decision, its rule version, facts and outcome.",
    )
    op.create_index(
        op.f("ix_recognition_decisions_tenant_id_contract_id_obligation_id_seq"),
        "recognition_decisions",
        ["tenant_id", "contract_id", "obligation_id", "seq"],
    )
    op.create_index(
        op.f("ix_recognition_decisions_tenant_id_order_id_seq"),
        "recognition_decisions",
        ["tenant_id", "order_id", "seq"],
    )
    op.create_index(
        op.f("ix_recognition_decisions_tenant_id_fallback_seq"),
        "recognition_decisions",
        ["tenant_id", "fallback", "seq"],
    )
    forbid_update_and_delete(APPEND_ONLY)


def downgrade() -> None:
    op.drop_table("recognition_decisions")
    op.drop_table("recognition_gate_orders")
    op.drop_table("recognition_rules")
    op.drop_table("revenue_holds")
