"""Dual approval's schema: one row per request, written when requested and once when decided.

Not append-only: the decision is an update of the row's status (guarded by `status =
'requested'`), and the audit chain keeps both steps immutably.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, PrimaryKeyConstraint, String, Table, Text

from ordertrail.adapters.db.tables import UtcDateTime, _tenant, metadata

approval_requests = Table(
    "approval_requests",
    metadata,
    _tenant(),
    Column("request_id", String(64), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("subject", String(300), nullable=False),
    Column("payload", Text, nullable=False, comment="JSON: the executor's arguments."),
    Column("reason", String(500), nullable=False),
    Column("requester", String(200), nullable=False),
    Column("requester_owner", String(200), nullable=True),
    Column("requested_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column(
        "status", String(16), nullable=False, comment="requested|approved|rejected|expired|failed"
    ),
    Column("decided_by", String(200), nullable=True),
    Column("decided_by_owner", String(200), nullable=True),
    Column("decided_at", UtcDateTime, nullable=True),
    Column("decision_note", String(500), nullable=True),
    Column("result", Text, nullable=True, comment="JSON: what the executor did, or its error."),
    PrimaryKeyConstraint("tenant_id", "request_id"),
    # The listing's keyset order, newest first.
    Index(None, "tenant_id", "requested_at", "request_id"),
    # The expiry job's query across tenants: open requests by expiry.
    Index(None, "status", "expires_at"),
    comment="Requests for overrides that take effect only when a second person approves.",
)
