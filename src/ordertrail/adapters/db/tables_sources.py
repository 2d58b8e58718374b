"""Synchronisation modes' schema: one row per configured source of a tenant, with its schedule.

A source with no row is event-driven. A batch source's `next_run_at` is when the scheduler runs
it next (moved ahead by a claim while a run is under way).
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, PrimaryKeyConstraint, String, Table, Text

from ordertrail.adapters.db.tables import UtcDateTime, _tenant, metadata

sync_sources = Table(
    "sync_sources",
    metadata,
    _tenant(),
    Column("source", String(64), nullable=False, comment="The events' `source` field."),
    Column("mode", String(16), nullable=False, comment="event | batch"),
    Column("interval_s", Integer, nullable=True, comment="Batch only: seconds between runs."),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("updated_by", String(128), nullable=False),
    Column("last_run_at", UtcDateTime, nullable=True),
    Column("next_run_at", UtcDateTime, nullable=True, comment="Null unless batch."),
    Column("last_run_summary", Text, nullable=True),
    PrimaryKeyConstraint("tenant_id", "source"),
    # The scheduler's one query across tenants: the due batch sources.
    Index(None, "next_run_at"),
    comment="Per-source synchronisation mode: event-driven, or batch imports on a schedule.",
)
