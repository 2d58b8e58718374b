"""revenue obligations leave room on each page, so the close's balance updates stay HOT

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27 17:30:00.000000

The month-end close updates every open over-time obligation's balances; none of the columns it
changes is indexed, so PostgreSQL can update in place on the same page (a heap-only tuple)
without touching the table's four indexes, but only if the page has room. A fill factor of 80
keeps a fifth of each page free for that. SQLite has no such setting.
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE revenue_obligations SET (fillfactor = 80)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE revenue_obligations RESET (fillfactor)")
