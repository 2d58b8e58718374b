"""The audit trail's schema: the per-tenant hash chain, its heads and its checkpoints.

audit_records and audit_checkpoints are append-only (the database refuses UPDATE and DELETE,
migration 0013). audit_heads holds one row per tenant, the chain's last seq and hash: appenders
lock it, so concurrent appends to one tenant's chain serialize and seq stays gapless.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, PrimaryKeyConstraint, String, Table, Text

from ordertrail.adapters.db.tables import UtcDateTime, _tenant, metadata

AUDIT_APPEND_ONLY_TABLES = ("audit_records", "audit_checkpoints")
"""Tables whose rows the database refuses to UPDATE or DELETE (migration 0013)."""

audit_records = Table(
    "audit_records",
    metadata,
    _tenant(),
    Column("seq", BigInteger, nullable=False),
    Column("kind", String(64), nullable=False),
    Column("subject", String(300), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("cause", String(300), nullable=True),
    Column("body", Text, nullable=False, comment="Canonical JSON, hashed as stored."),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    PrimaryKeyConstraint("tenant_id", "seq"),
    Index(None, "tenant_id", "subject"),
    Index(None, "tenant_id", "cause"),
    comment="Append-only: each tenant's hash chain of revenue events (docs/security/audit.md).",
)

audit_heads = Table(
    "audit_heads",
    metadata,
    _tenant(),
    Column("seq", BigInteger, nullable=False),
    Column("head_hash", String(64), nullable=False),
    PrimaryKeyConstraint("tenant_id"),
    comment="Each chain's last seq and hash; locked by appenders so appends serialize.",
)

audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    _tenant(),
    Column("seq", BigInteger, nullable=False),
    Column("head_hash", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("signature", Text, nullable=True, comment="Base64 Ed25519, when a key is set."),
    Column("key_id", String(16), nullable=True),
    PrimaryKeyConstraint("tenant_id", "seq"),
    comment="Append-only: chain head and length at a moment, signed when a key is configured.",
)
