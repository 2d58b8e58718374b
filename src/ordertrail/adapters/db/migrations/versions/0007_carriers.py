"""carrier tracking: shipments, append-only shipment scans, webhook receipts and endpoints

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 17:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ordertrail.adapters.db.migrations.append_only import forbid_update_and_delete

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "shipments",
        sa.Column("tenant_id", sa.String(length=63), nullable=False),
        sa.Column("shipment_id", sa.String(length=128), nullable=False),
        sa.Column("order_id", sa.String(length=128), nullable=False),
        sa.Column("carrier", sa.String(length=64), nullable=False),
        sa.Column("tracking_number", sa.String(length=128), nullable=False),
        sa.Column(
            "provider",
            sa.String(length=32),
            nullable=True,
            comment="The provider of the latest scan.",
        ),
        sa.Column(
            "status", sa.String(length=32), nullable=False, comment="Canonical ShipmentStatus."
        ),
        sa.Column(
            "reason", sa.String(length=32), nullable=False, comment="Canonical StatusReason."
        ),
        sa.Column("raw_code", sa.String(length=128), nullable=True),
        sa.Column("raw_text", sa.Text(), nullable=True),
        sa.Column("root_cause", sa.String(length=32), nullable=True),
        sa.Column(
            "last_scan_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="Carrier time of the latest scan.",
        ),
        sa.Column(
            "last_update_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="When the latest scan arrived.",
        ),
        sa.Column("estimated_delivery_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivery_event_id", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "shipment_id", name=op.f("pk_shipments")),
        sa.UniqueConstraint(
            "tenant_id",
            "carrier",
            "tracking_number",
            name=op.f("uq_shipments_tenant_id_carrier_tracking_number"),
        ),
        comment="Each shipment's current tracking state, derived from its scans.",
    )
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_shipments_tenant_id_tracking_number"),
            ["tenant_id", "tracking_number"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_shipments_tenant_id_status_last_update_at"),
            ["tenant_id", "status", "last_update_at"],
            unique=False,
        )

    op.create_table(
        "shipment_scans",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=63), nullable=False),
        sa.Column(
            "scan_key",
            sa.String(length=64),
            nullable=False,
            comment="SHA-256 of the scan's identity.",
        ),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("carrier", sa.String(length=64), nullable=False),
        sa.Column("tracking_number", sa.String(length=128), nullable=False),
        sa.Column("raw_code", sa.String(length=128), nullable=False),
        sa.Column("raw_subcode", sa.String(length=128), nullable=True),
        sa.Column("raw_text", sa.Text(), nullable=False),
        sa.Column("scanned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("location", sa.String(length=500), nullable=True),
        sa.Column("signed_by", sa.String(length=500), nullable=True),
        sa.Column("estimated_delivery_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("mapping_version", sa.Integer(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipment_scans")),
        sa.UniqueConstraint(
            "tenant_id", "scan_key", name=op.f("uq_shipment_scans_tenant_id_scan_key")
        ),
        comment="Append-only: every carrier scan as received, beside its canonical status.",
    )
    with op.batch_alter_table("shipment_scans", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_shipment_scans_tenant_id_tracking_number_scanned_at"),
            ["tenant_id", "tracking_number", "scanned_at"],
            unique=False,
        )

    op.create_table(
        "carrier_webhook_receipts",
        sa.Column("tenant_id", sa.String(length=63), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("body_sha256", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("scans", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant_id", "provider", "body_sha256", name=op.f("pk_carrier_webhook_receipts")
        ),
        comment="Accepted webhook deliveries: a redelivered body is answered as a duplicate.",
    )
    op.create_table(
        "carrier_webhook_endpoints",
        sa.Column("tenant_id", sa.String(length=63), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column(
            "token",
            sa.String(length=64),
            nullable=False,
            comment="The URL path segment naming the tenant.",
        ),
        sa.Column(
            "secret",
            sa.Text(),
            nullable=False,
            comment="The provider's signing secret; never listed.",
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "provider", name=op.f("pk_carrier_webhook_endpoints")),
        sa.UniqueConstraint(
            "provider", "token", name=op.f("uq_carrier_webhook_endpoints_provider_token")
        ),
        comment="Per tenant and provider: the webhook URL token and the signing secret.",
    )
    forbid_update_and_delete(("shipment_scans",))


def downgrade() -> None:
    op.drop_table("carrier_webhook_endpoints")
    op.drop_table("carrier_webhook_receipts")
    with op.batch_alter_table("shipment_scans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shipment_scans_tenant_id_tracking_number_scanned_at"))
    op.drop_table("shipment_scans")
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shipments_tenant_id_status_last_update_at"))
        batch_op.drop_index(batch_op.f("ix_shipments_tenant_id_tracking_number"))
    op.drop_table("shipments")
