"""Indexes the report queries need on the journal, beyond those the revenue schema declares.

The journal listing pages by (posted_on, entry_id), filters by cause event, and an entry's page
names the entries that reverse it; each is one index range scan, tenant first (migration 0009).
"""

from __future__ import annotations

from sqlalchemy import Index

from ordertrail.adapters.db.tables_revenue import journal_entries

_e = journal_entries.c

Index(None, _e.tenant_id, _e.posted_on, _e.entry_id)
Index(None, _e.tenant_id, _e.cause_event_id)
Index(None, _e.tenant_id, _e.reverses)
