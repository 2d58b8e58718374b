"""imports: progress of batch-file imports, so a re-run of the same file resumes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 14:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "imports",
        sa.Column("tenant_id", sa.String(length=63), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column(
            "line_committed",
            sa.Integer(),
            nullable=False,
            comment="Every record starting on or before this line of the file is committed.",
        ),
        sa.Column("applied", sa.Integer(), nullable=False),
        sa.Column("duplicate", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("conflict", sa.Integer(), nullable=False),
        sa.Column("unparseable", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "file_sha256", name=op.f("pk_imports")),
        comment="Batch-file imports: how far each file got for each tenant, so a re-run resumes.",
    )


def downgrade() -> None:
    op.drop_table("imports")
