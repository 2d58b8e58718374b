"""Carrier polling's schema: one row per tracked parcel saying when to poll it next, and why not.

The row is polling's own bookkeeping; the shipment itself (status, scans) stays in the carriers
tables, written only by the tracking service. A row whose `next_poll_at` is null is never polled
again: its shipment reached a terminal status, or it has no credential to be polled with.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, PrimaryKeyConstraint, String, Table, Text

from ordertrail.adapters.db.tables import UtcDateTime, _tenant, metadata

carrier_poll_state = Table(
    "carrier_poll_state",
    metadata,
    _tenant(),
    Column("carrier", String(64), nullable=False),
    Column("tracking_number", String(128), nullable=False),
    Column("provider", String(32), nullable=False, comment="The tracking API that polls it."),
    Column("credential", String(64), nullable=False, comment="Which of the provider's keys."),
    Column("status", String(32), nullable=True, comment="The shipment status last seen."),
    Column("tier", String(16), nullable=False, comment="Cadence tier: urgent|moving|waiting|done."),
    Column("next_poll_at", UtcDateTime, nullable=True, comment="Null: not polled again."),
    Column("attempts", Integer, nullable=False, comment="Consecutive failed polls."),
    Column("last_polled_at", UtcDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("last_error_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "carrier", "tracking_number"),
    # The poller's one query across tenants: the due rows, the longest-waiting first.
    Index(None, "next_poll_at"),
    comment="Carrier polling: per tracked parcel, its cadence tier, next poll and last error.",
)
