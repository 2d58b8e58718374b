"""disputes: disputes and their lines, append-only evidence, reasons, webhook secrets

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-27 18:05:00.000000

dispute_evidence is append-only: the database refuses UPDATE and DELETE.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ordertrail.adapters.db.migrations.append_only import forbid_update_and_delete

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

AT = sa.DateTime(timezone=True)
APPEND_ONLY = ("dispute_evidence",)


def _tenant() -> sa.Column[str]:
    return sa.Column("tenant_id", sa.String(63), nullable=False)


def upgrade() -> None:
    op.create_table(
        "disputes",
        _tenant(),
        sa.Column("dispute_id", sa.String(64), nullable=False),
        sa.Column("order_id", sa.String(128), nullable=False),
        sa.Column("reason_code", sa.String(48), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("external_ref", sa.String(200), nullable=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("opened_by", sa.String(200), nullable=False),
        sa.Column("opened_at", AT, nullable=False),
        sa.Column(
            "hold_ids", sa.Text(), nullable=False, comment="The holds it placed, as a JSON list."
        ),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("pending_request_id", sa.String(64), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True, comment="How it ended, as JSON."),
        sa.Column("resolved_at", AT, nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "dispute_id", name=op.f("pk_disputes")),
        sa.UniqueConstraint(
            "tenant_id", "external_ref", name=op.f("uq_disputes_tenant_id_external_ref")
        ),
        comment="Customers' disputes of orders; their revenue is held until each is resolved.",
    )
    op.create_index(
        op.f("ix_disputes_tenant_id_opened_at_dispute_id"),
        "disputes",
        ["tenant_id", "opened_at", "dispute_id"],
    )
    op.create_index(op.f("ix_disputes_tenant_id_order_id"), "disputes", ["tenant_id", "order_id"])
    op.create_table(
        "dispute_lines",
        _tenant(),
        sa.Column("dispute_id", sa.String(64), nullable=False),
        sa.Column("line_id", sa.String(128), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant_id", "dispute_id", "line_id", name=op.f("pk_dispute_lines")
        ),
        comment="The order lines a dispute names (none: the whole order).",
    )
    op.create_table(
        "dispute_evidence",
        _tenant(),
        sa.Column("evidence_id", sa.String(64), nullable=False),
        sa.Column("dispute_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("media_type", sa.String(100), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("attached_by", sa.String(200), nullable=False),
        sa.Column("attached_at", AT, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "evidence_id", name=op.f("pk_dispute_evidence")),
        comment="Documents attached to disputes with their SHA-256; append-only.",
    )
    op.create_index(
        op.f("ix_dispute_evidence_tenant_id_dispute_id"),
        "dispute_evidence",
        ["tenant_id", "dispute_id"],
    )
    op.create_table(
        "dispute_reasons",
        _tenant(),
        sa.Column("code", sa.String(48), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "required_evidence",
            sa.Text(),
            nullable=False,
            comment="Evidence kinds, a JSON list.",
        ),
        sa.Column("signer_role", sa.String(32), nullable=False),
        sa.Column("second_approval", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.Column("updated_at", AT, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "code", name=op.f("pk_dispute_reasons")),
        comment="A tenant's dispute reasons and what rejecting such a dispute requires.",
    )
    op.create_table(
        "dispute_webhooks",
        _tenant(),
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("secret", sa.String(500), nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.Column("updated_at", AT, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_dispute_webhooks")),
        sa.UniqueConstraint("token", name=op.f("uq_dispute_webhooks_token")),
        comment="The service desk webhook's URL token and signing secret, one per tenant.",
    )
    forbid_update_and_delete(APPEND_ONLY)


def downgrade() -> None:
    for table in (
        "dispute_webhooks",
        "dispute_reasons",
        "dispute_evidence",
        "dispute_lines",
        "disputes",
    ):
        op.drop_table(table)
