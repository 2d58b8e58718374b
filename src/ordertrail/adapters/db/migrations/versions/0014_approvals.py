"""approvals: dual-approval requests, and the person owning an API key

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-27 17:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "owner", sa.String(200), nullable=True, comment="The person the key belongs to."
            )
        )
    op.create_table(
        "approval_requests",
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False, comment="JSON: the executor's arguments."),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("requester", sa.String(200), nullable=False),
        sa.Column("requester_owner", sa.String(200), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.String(16),
            nullable=False,
            comment="requested|approved|rejected|expired|failed",
        ),
        sa.Column("decided_by", sa.String(200), nullable=True),
        sa.Column("decided_by_owner", sa.String(200), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.String(500), nullable=True),
        sa.Column(
            "result", sa.Text(), nullable=True, comment="JSON: what the executor did, or its error."
        ),
        sa.PrimaryKeyConstraint("tenant_id", "request_id", name=op.f("pk_approval_requests")),
        comment="Requests for overrides that take effect only when a second person approves.",
    )
    op.create_index(
        op.f("ix_approval_requests_tenant_id_requested_at_request_id"),
        "approval_requests",
        ["tenant_id", "requested_at", "request_id"],
    )
    op.create_index(
        op.f("ix_approval_requests_status_expires_at"),
        "approval_requests",
        ["status", "expires_at"],
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_approval_requests_status_expires_at"), table_name="approval_requests")
    op.drop_index(
        op.f("ix_approval_requests_tenant_id_requested_at_request_id"),
        table_name="approval_requests",
    )
    op.drop_table("approval_requests")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("owner")
