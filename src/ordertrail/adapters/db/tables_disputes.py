"""The disputes' schema: disputes and their lines, evidence, reason thresholds, webhook secrets.

dispute_evidence is append-only (the database refuses UPDATE and DELETE) and keeps the document
bytes in the row, not on disk: a document commits or rolls back with its audit record, the
tenant's rows, backups and the append-only trigger cover it, and no file can be orphaned or
swapped behind the database's back. Documents are bounded (5 MiB), so rows stay reasonable.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from ordertrail.adapters.db.tables import UtcDateTime, _tenant, metadata

DISPUTES_APPEND_ONLY_TABLES = ("dispute_evidence",)

disputes = Table(
    "disputes",
    metadata,
    _tenant(),
    Column("dispute_id", String(64), nullable=False),
    Column("order_id", String(128), nullable=False),
    Column("reason_code", String(48), nullable=False),
    Column("description", Text, nullable=False),
    Column("external_ref", String(200), nullable=True),
    Column("channel", String(16), nullable=False),
    Column("opened_by", String(200), nullable=False),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("hold_ids", Text, nullable=False, comment="The holds it placed, as a JSON list."),
    Column("status", String(16), nullable=False),
    Column("pending_request_id", String(64), nullable=True),
    Column("resolution", Text, nullable=True, comment="How it ended, as JSON."),
    Column("resolved_at", UtcDateTime, nullable=True),
    PrimaryKeyConstraint("tenant_id", "dispute_id"),
    UniqueConstraint("tenant_id", "external_ref"),
    Index(None, "tenant_id", "opened_at", "dispute_id"),
    Index(None, "tenant_id", "order_id"),
    comment="Customers' disputes of orders; their revenue is held until each is resolved.",
)

dispute_lines = Table(
    "dispute_lines",
    metadata,
    _tenant(),
    Column("dispute_id", String(64), nullable=False),
    Column("line_id", String(128), nullable=False),
    Column("position", Integer, nullable=False),
    PrimaryKeyConstraint("tenant_id", "dispute_id", "line_id"),
    comment="The order lines a dispute names (none: the whole order).",
)

dispute_evidence = Table(
    "dispute_evidence",
    metadata,
    _tenant(),
    Column("evidence_id", String(64), nullable=False),
    Column("dispute_id", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("filename", String(200), nullable=False),
    Column("media_type", String(100), nullable=False),
    Column("size_bytes", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("note", Text, nullable=False),
    Column("attached_by", String(200), nullable=False),
    Column("attached_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "evidence_id"),
    Index(None, "tenant_id", "dispute_id"),
    comment="Documents attached to disputes with their SHA-256; append-only.",
)

dispute_reasons = Table(
    "dispute_reasons",
    metadata,
    _tenant(),
    Column("code", String(48), nullable=False),
    Column("description", Text, nullable=False),
    Column("required_evidence", Text, nullable=False, comment="Evidence kinds, a JSON list."),
    Column("signer_role", String(32), nullable=False),
    Column("second_approval", Boolean, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("updated_by", String(200), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "code"),
    comment="A tenant's dispute reasons and what rejecting such a dispute requires.",
)

dispute_webhooks = Table(
    "dispute_webhooks",
    metadata,
    _tenant(),
    Column("token", String(64), nullable=False),
    Column("secret", String(500), nullable=False),
    Column("updated_by", String(200), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id"),
    UniqueConstraint("token"),
    comment="The service desk webhook's URL token and signing secret, one per tenant.",
)
