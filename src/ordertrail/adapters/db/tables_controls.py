"""The revenue controls' schema: holds, rule versions, the gate's per-order state, decisions.

recognition_decisions is append-only (the database refuses UPDATE and DELETE): a decision is
evidence of why revenue was or was not recognized, so it is never rewritten.
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
)

from ordertrail.adapters.db.tables import Sequence64, UtcDateTime, _tenant, metadata

CONTROLS_APPEND_ONLY_TABLES = ("recognition_decisions",)

revenue_holds = Table(
    "revenue_holds",
    metadata,
    _tenant(),
    Column("hold_id", String(64), nullable=False),
    Column("order_id", String(128), nullable=False),
    Column("line_id", String(128), nullable=True),
    Column("obligation_id", String(128), nullable=True),
    Column("contract_id", String(128), nullable=True),
    Column("reason_code", String(64), nullable=False),
    Column("source", String(16), nullable=False),
    Column("source_ref", String(128), nullable=True),
    Column("placed_by", String(200), nullable=False),
    Column("placed_at", UtcDateTime, nullable=False),
    Column("released_by", String(200), nullable=True),
    Column("released_at", UtcDateTime, nullable=True),
    Column("approval_id", String(64), nullable=True),
    PrimaryKeyConstraint("tenant_id", "hold_id"),
    Index(None, "tenant_id", "order_id"),
    Index(None, "tenant_id", "released_at", "placed_at"),
    comment="Holds that block recognition on an order, a line or an obligation until released.",
)

recognition_rules = Table(
    "recognition_rules",
    metadata,
    _tenant(),
    Column("rule_id", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("definition", Text, nullable=False, comment="The rule as canonical JSON."),
    Column("status", String(16), nullable=False),
    Column("proposed_by", String(200), nullable=False),
    Column("proposed_at", UtcDateTime, nullable=False),
    Column("request_id", String(64), nullable=True),
    Column("approved_by", String(200), nullable=True),
    Column("approved_at", UtcDateTime, nullable=True),
    PrimaryKeyConstraint("tenant_id", "rule_id", "version"),
    comment="Versioned recognition rules, active once a second person approves a version.",
)

recognition_gate_orders = Table(
    "recognition_gate_orders",
    metadata,
    _tenant(),
    Column("order_id", String(128), nullable=False),
    Column("state", Text, nullable=False, comment="Body, facts and released counts as JSON."),
    Column("pending", Boolean, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "order_id"),
    Index(None, "pending", "tenant_id"),
    # The re-evaluation job takes the least recently judged pending orders first (rotation).
    Index(None, "pending", "updated_at"),
    comment="The recognition gate's state per order: what is known and what was released.",
)

recognition_decisions = Table(
    "recognition_decisions",
    metadata,
    Column("seq", Sequence64, primary_key=True, autoincrement=True),
    _tenant(),
    Column("order_id", String(128), nullable=False),
    Column("contract_id", String(128), nullable=False),
    Column("obligation_id", String(128), nullable=False),
    Column("line_id", String(128), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("reason", String(300), nullable=False),
    Column("rule_id", String(64), nullable=True),
    Column("rule_version", Integer, nullable=True),
    Column("fallback", Boolean, nullable=False),
    Column("facts", Text, nullable=False, comment="The facts the rule saw, as JSON."),
    Column("counts", Text, nullable=False, comment="The counts released, as JSON."),
    Column("cause", String(300), nullable=True),
    Column("decided_at", UtcDateTime, nullable=False),
    Index(None, "tenant_id", "contract_id", "obligation_id", "seq"),
    Index(None, "tenant_id", "order_id", "seq"),
    Index(None, "tenant_id", "fallback", "seq"),
    comment="Append-only: every recognition decision, its rule version, facts and outcome.",
)

amendment_thresholds = Table(
    "amendment_thresholds",
    metadata,
    _tenant(),
    Column("currency", String(3), nullable=False),
    Column("absolute_minor", BigInteger, nullable=True),
    Column("percent_bp", Integer, nullable=True),
    Column("updated_by", String(200), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "currency"),
    comment="Per currency: amendments moving the order value this much wait for approval.",
)

parked_amendments = Table(
    "parked_amendments",
    metadata,
    _tenant(),
    Column("event_id", String(128), nullable=False),
    Column("order_id", String(128), nullable=False),
    Column("body", Text, nullable=False, comment="The order.amended milestone, as JSON."),
    Column("currency", String(3), nullable=False),
    Column("impact_minor", BigInteger, nullable=False),
    Column("request_id", String(64), nullable=False),
    Column("parked_at", UtcDateTime, nullable=False),
    Column("posted_at", UtcDateTime, nullable=True),
    PrimaryKeyConstraint("tenant_id", "event_id"),
    comment="Amendments above the threshold, waiting for an approved amendment.post request.",
)
