"""Carrier tracking's schema: shipments, their append-only scan history, webhook receipts, secrets.

MONITORING reads `shipments` and `shipment_scans` (read-only) for stagnation alerts and the
root-cause report; only the tracking service writes them.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from ordertrail.adapters.db.tables import Sequence64, UtcDateTime, _tenant, metadata

CARRIERS_APPEND_ONLY_TABLES = ("shipment_scans",)
"""Tables whose rows the database refuses to UPDATE or DELETE."""

shipments = Table(
    "shipments",
    metadata,
    _tenant(),
    Column("shipment_id", String(128), nullable=False),
    Column("order_id", String(128), nullable=False),
    Column("carrier", String(64), nullable=False),
    Column("tracking_number", String(128), nullable=False),
    Column("provider", String(32), nullable=True, comment="The provider of the latest scan."),
    Column("status", String(32), nullable=False, comment="Canonical ShipmentStatus."),
    Column("reason", String(32), nullable=False, comment="Canonical StatusReason."),
    Column("raw_code", String(128), nullable=True),
    Column("raw_text", Text, nullable=True),
    Column("root_cause", String(32), nullable=True),
    Column("last_scan_at", UtcDateTime, nullable=True, comment="Carrier time of the latest scan."),
    Column("last_update_at", UtcDateTime, nullable=True, comment="When the latest scan arrived."),
    Column("estimated_delivery_at", UtcDateTime, nullable=True),
    Column("delivered_at", UtcDateTime, nullable=True),
    Column("delivery_event_id", String(128), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "shipment_id"),
    UniqueConstraint("tenant_id", "carrier", "tracking_number"),
    Index(None, "tenant_id", "tracking_number"),
    Index(None, "tenant_id", "status", "last_update_at"),
    comment="Each shipment's current tracking state, derived from its scans.",
)

shipment_scans = Table(
    "shipment_scans",
    metadata,
    Column("id", Sequence64, primary_key=True, autoincrement=True),
    _tenant(),
    Column("scan_key", String(64), nullable=False, comment="SHA-256 of the scan's identity."),
    Column("provider", String(32), nullable=False),
    Column("carrier", String(64), nullable=False),
    Column("tracking_number", String(128), nullable=False),
    Column("raw_code", String(128), nullable=False),
    Column("raw_subcode", String(128), nullable=True),
    Column("raw_text", Text, nullable=False),
    Column("scanned_at", UtcDateTime, nullable=False),
    Column("location", String(500), nullable=True),
    Column("signed_by", String(500), nullable=True),
    Column("estimated_delivery_at", UtcDateTime, nullable=True),
    Column("status", String(32), nullable=False),
    Column("reason", String(32), nullable=False),
    Column("mapping_version", Integer, nullable=True),
    Column("received_at", UtcDateTime, nullable=False),
    UniqueConstraint("tenant_id", "scan_key"),
    Index(None, "tenant_id", "tracking_number", "scanned_at"),
    comment="Append-only: every carrier scan as received, beside its canonical status.",
)

carrier_webhook_receipts = Table(
    "carrier_webhook_receipts",
    metadata,
    _tenant(),
    Column("provider", String(32), nullable=False),
    Column("body_sha256", String(64), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("scans", Integer, nullable=False),
    PrimaryKeyConstraint("tenant_id", "provider", "body_sha256"),
    comment="Accepted webhook deliveries: a redelivered body is answered as a duplicate.",
)

carrier_webhook_endpoints = Table(
    "carrier_webhook_endpoints",
    metadata,
    _tenant(),
    Column("provider", String(32), nullable=False),
    Column("token", String(64), nullable=False, comment="The URL path segment naming the tenant."),
    Column("secret", Text, nullable=False, comment="The provider's signing secret; never listed."),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("updated_by", String(128), nullable=False),
    PrimaryKeyConstraint("tenant_id", "provider"),
    UniqueConstraint("provider", "token"),
    comment="Per tenant and provider: the webhook URL token and the signing secret.",
)
