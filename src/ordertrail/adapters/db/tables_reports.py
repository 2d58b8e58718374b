"""Indexes the report queries need on the journal, beyond those the revenue schema declares.

The journal listing pages by (posted_on, entry_id), filters by cause event, and an entry's page
names the entries that reverse it; each is one index range scan, tenant first (migration 0009).

tables.py imports this module at its end, which happens *before* tables_revenue has defined its
tables whenever a process imports tables_revenue first (it imports tables for `metadata`). So the
indexes are added when the journal_entries table attaches to the metadata, or at once if it
already has.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Index, MetaData, Table, event

from ordertrail.adapters.db.tables import metadata

TABLE = "journal_entries"
INDEXED = (("tenant_id", "posted_on", "entry_id"), ("tenant_id", "cause_event_id"),
           ("tenant_id", "reverses"))  # fmt: skip


def _add_indexes(table: Table) -> None:
    for columns in INDEXED:
        Index(None, *(table.c[name] for name in columns))


@event.listens_for(Table, "after_parent_attach")
def _on_attach(table: Any, parent: Any) -> None:
    if isinstance(parent, MetaData) and parent is metadata and table.name == TABLE:
        _add_indexes(table)


if TABLE in metadata.tables:
    _add_indexes(metadata.tables[TABLE])
