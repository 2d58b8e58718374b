"""revenue obligations are keyed by contract: obligation ids are unique within a contract only

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27 17:15:00.000000

The domain names an obligation after its line and component ("1/unit"), so two contracts both
have a "1/unit". The primary key becomes (tenant_id, contract_id, obligation_id); an index on
(tenant_id, obligation_id) keeps lookups by obligation id alone cheap.
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("revenue_obligations", schema=None) as batch_op:
        batch_op.drop_constraint("pk_revenue_obligations", type_="primary")
        batch_op.create_primary_key(
            "pk_revenue_obligations", ["tenant_id", "contract_id", "obligation_id"]
        )
        batch_op.create_index(
            batch_op.f("ix_revenue_obligations_tenant_id_obligation_id"),
            ["tenant_id", "obligation_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("revenue_obligations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_revenue_obligations_tenant_id_obligation_id"))
        batch_op.drop_constraint("pk_revenue_obligations", type_="primary")
        batch_op.create_primary_key("pk_revenue_obligations", ["tenant_id", "obligation_id"])
