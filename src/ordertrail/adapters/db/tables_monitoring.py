"""Monitoring tables: alerts, their notifications, and the tenant-editable rules and paths.

The defaults for rules and escalation paths live in the domain (`domain/monitoring`); these tables
hold what a tenant's admin changed. Alerts are mutable (they move from open to resolved) but their
notifications are an append-only log: who was told what, through which sink, and when.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    text,
)

from ordertrail.adapters.db.tables import Sequence64, UtcDateTime, _tenant, metadata

alerts = Table(
    "alerts",
    metadata,
    Column("id", Sequence64, primary_key=True, autoincrement=True),
    _tenant(),
    Column("kind", String(32), nullable=False),
    Column("subject", String(200), nullable=False, comment="Shipment id, order id or carrier."),
    Column("severity", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("summary", String(500), nullable=False),
    Column("details", Text, nullable=False, comment="JSON: what the rule or the test saw."),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("escalation_level", Integer, nullable=False, comment="Highest level reached."),
    Column("escalated_at", UtcDateTime, nullable=True),
    Column("notified_level", Integer, nullable=False, comment="Highest level notified."),
    Column("acknowledged_at", UtcDateTime, nullable=True),
    Column("acknowledged_by", String(128), nullable=True),
    Column("resolved_at", UtcDateTime, nullable=True),
    Column("resolved_by", String(128), nullable=True),
    Column("resolution", String(16), nullable=True),
    # De-duplication: at most one unresolved alert per subject, enforced by the database, so two
    # evaluators racing each other cannot both raise it.
    Index(
        "uq_alerts_unresolved_subject",
        "tenant_id",
        "kind",
        "subject",
        unique=True,
        sqlite_where=text("resolved_at IS NULL"),
        postgresql_where=text("resolved_at IS NULL"),
    ),
    Index(None, "tenant_id", "opened_at", "id"),
    # The escalation and notification rounds scan unresolved alerts only.
    Index(None, "state", "opened_at"),
    comment="Monitoring alerts: one unresolved alert per (tenant, kind, subject).",
)

alert_notifications = Table(
    "alert_notifications",
    metadata,
    Column("id", Sequence64, primary_key=True, autoincrement=True),
    _tenant(),
    Column("alert_id", BigInteger, nullable=False),
    Column("level", Integer, nullable=False),
    Column("target_role", String(64), nullable=False),
    Column("sink", String(16), nullable=False),
    Column("outcome", String(16), nullable=False, comment="sent or failed"),
    Column("attempts", Integer, nullable=False),
    Column("error", Text, nullable=True),
    Column("notified_at", UtcDateTime, nullable=False),
    Index(None, "tenant_id", "alert_id", "id"),
    comment="Append-only: every notification of an alert, per level and sink, with its outcome.",
)

stagnation_rules = Table(
    "stagnation_rules",
    metadata,
    _tenant(),
    Column("subject_type", String(16), nullable=False),
    Column("status", String(32), nullable=False),
    Column("threshold_minutes", Integer, nullable=False),
    Column("severity", String(16), nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("updated_by", String(128), nullable=False),
    PrimaryKeyConstraint("tenant_id", "subject_type", "status"),
    comment="A tenant's stagnation rules; each replaces the default for its subject and status.",
)

escalation_levels = Table(
    "escalation_levels",
    metadata,
    _tenant(),
    Column("level", Integer, nullable=False),
    Column("delay_minutes", Integer, nullable=False),
    Column("target_role", String(64), nullable=False),
    Column("email_to", Text, nullable=False, comment="Comma-separated addresses; may be empty."),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("updated_by", String(128), nullable=False),
    PrimaryKeyConstraint("tenant_id", "level"),
    comment="A tenant's escalation path; when present it replaces the default path as a whole.",
)

APPEND_ONLY_MONITORING_TABLES = ("alert_notifications",)
