"""audit trail: hash chain records, chain heads, signed checkpoints

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-27 17:50:00.000000

audit_records and audit_checkpoints are append-only: the database refuses UPDATE and DELETE.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ordertrail.adapters.db.migrations.append_only import forbid_update_and_delete

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

APPEND_ONLY = ("audit_records", "audit_checkpoints")


def upgrade() -> None:
    op.create_table(
        "audit_records",
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("cause", sa.String(300), nullable=True),
        sa.Column("body", sa.Text(), nullable=False, comment="Canonical JSON, hashed as stored."),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "seq", name=op.f("pk_audit_records")),
        comment="Append-only: each tenant's hash chain of revenue events (docs/security/audit.md).",
    )
    op.create_index(
        op.f("ix_audit_records_tenant_id_subject"), "audit_records", ["tenant_id", "subject"]
    )
    op.create_index(
        op.f("ix_audit_records_tenant_id_cause"), "audit_records", ["tenant_id", "cause"]
    )
    op.create_table(
        "audit_heads",
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_audit_heads")),
        comment="Each chain's last seq and hash; locked by appenders so appends serialize.",
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "signature", sa.Text(), nullable=True, comment="Base64 Ed25519, when a key is set."
        ),
        sa.Column("key_id", sa.String(16), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "seq", name=op.f("pk_audit_checkpoints")),
        comment="Append-only: chain head and length at a moment, signed when a key is configured.",
    )
    forbid_update_and_delete(APPEND_ONLY)


def downgrade() -> None:
    op.drop_table("audit_checkpoints")
    op.drop_table("audit_heads")
    op.drop_index(op.f("ix_audit_records_tenant_id_cause"), table_name="audit_records")
    op.drop_index(op.f("ix_audit_records_tenant_id_subject"), table_name="audit_records")
    op.drop_table("audit_records")
