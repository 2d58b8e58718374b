"""revenue engine: chart, periods, catalogs, settings, contracts, obligations, journal

Journal entries, postings, contract versions and catalog rows are append-only. On PostgreSQL a
deferred constraint trigger refuses, at commit, any entry written in the transaction whose
postings do not balance per currency or number fewer than two (see BALANCE_SQL below).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 16:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ordertrail.adapters.db.migrations.append_only import forbid_update_and_delete

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

APPEND_ONLY = (
    "journal_entries",
    "journal_postings",
    "revenue_contract_versions",
    "revenue_catalog",
)

# Balanced entries, enforced by PostgreSQL at commit, in a form that costs O(1) per row.
#
# A per-row deferred constraint trigger that sums each entry's postings costs an index probe and
# a PL/pgSQL call per entry at commit: tens of seconds for the close's million entries. Instead:
# 1. a statement-level trigger on journal_entries records the keys of the entries the statement
#    inserted (its transition table) in a session temp table that empties at commit;
# 2. a statement-level trigger on journal_postings refuses postings whose entry was not inserted
#    by the same transaction (so an entry, once checked, can never gain a posting later);
# 3. one deferred constraint trigger event per transaction (its WHEN arms a transaction-local
#    setting, so only the first inserted entry queues an event) checks, at commit, every recorded
#    entry set-wise: at least two postings, and a zero sum in each currency. It then empties the
#    record and disarms, so entries inserted after a `SET CONSTRAINTS ALL IMMEDIATE` re-arm it.
# A savepoint rolled back undoes its recorded keys, its setting and its queued event together.
# Made immediate (SET CONSTRAINTS), row events would fire before their statement's keys are
# recorded, so the check refuses to run in that mode instead of checking a partial set.
BALANCE_SQL = (
    """
    CREATE OR REPLACE FUNCTION ordertrail_journal_record() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF to_regclass('pg_temp.journal_unchecked') IS NULL THEN
            CREATE TEMP TABLE journal_unchecked (
                tenant_id text NOT NULL, entry_id text NOT NULL,
                PRIMARY KEY (tenant_id, entry_id)
            ) ON COMMIT DELETE ROWS;
        END IF;
        INSERT INTO pg_temp.journal_unchecked (tenant_id, entry_id)
            SELECT tenant_id, entry_id FROM new_entries;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER journal_entries_record AFTER INSERT ON journal_entries
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ordertrail_journal_record()
    """,
    """
    CREATE OR REPLACE FUNCTION ordertrail_journal_postings_fresh() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE stale text;
    BEGIN
        IF to_regclass('pg_temp.journal_unchecked') IS NULL THEN
            SELECT entry_id INTO stale FROM new_postings LIMIT 1;
        ELSE
            SELECT p.entry_id INTO stale FROM new_postings p
            WHERE NOT EXISTS (
                SELECT 1 FROM pg_temp.journal_unchecked u
                WHERE u.tenant_id = p.tenant_id AND u.entry_id = p.entry_id
            ) LIMIT 1;
        END IF;
        IF stale IS NOT NULL THEN
            RAISE EXCEPTION 'journal entry % is not new in this transaction: postings are '
                'written with their entry, never added later', stale USING ERRCODE = '23514';
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER journal_postings_fresh AFTER INSERT ON journal_postings
    REFERENCING NEW TABLE AS new_postings
    FOR EACH STATEMENT EXECUTE FUNCTION ordertrail_journal_postings_fresh()
    """,
    """
    CREATE OR REPLACE FUNCTION ordertrail_journal_balanced() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE bad record;
    BEGIN
        IF current_setting('ordertrail.journal_armed', true) IS DISTINCT FROM '1' THEN
            RETURN NULL;
        END IF;
        -- Deferred, the arming entry was recorded when its statement ended. Made immediate,
        -- this would run before its statement's entries are recorded: refuse rather than
        -- check a partial set.
        IF to_regclass('pg_temp.journal_unchecked') IS NULL OR NOT EXISTS (
            SELECT 1 FROM pg_temp.journal_unchecked
            WHERE tenant_id = NEW.tenant_id AND entry_id = NEW.entry_id
        ) THEN
            RAISE EXCEPTION 'journal_entries_balanced is checked at commit and cannot be '
                'made immediate' USING ERRCODE = '55000';
        END IF;
        SELECT u.entry_id, coalesce(t.postings, 0) AS postings, t.balanced INTO bad
        FROM pg_temp.journal_unchecked u
        LEFT JOIN (
            SELECT s.tenant_id, s.entry_id, sum(s.postings) AS postings,
                   bool_and(s.total = 0) AS balanced
            FROM (
                SELECT p.tenant_id, p.entry_id, p.currency, count(*) AS postings,
                       sum(p.amount_minor) AS total
                FROM journal_postings p
                JOIN pg_temp.journal_unchecked k
                  ON k.tenant_id = p.tenant_id AND k.entry_id = p.entry_id
                GROUP BY p.tenant_id, p.entry_id, p.currency
            ) s
            GROUP BY s.tenant_id, s.entry_id
        ) t ON t.tenant_id = u.tenant_id AND t.entry_id = u.entry_id
        WHERE t.postings IS NULL OR t.postings < 2 OR NOT t.balanced
        LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'journal entry % is unbalanced or has fewer than two postings '
                '(% postings)', bad.entry_id, bad.postings USING ERRCODE = '23514';
        END IF;
        TRUNCATE pg_temp.journal_unchecked;
        PERFORM set_config('ordertrail.journal_armed', '0', true);
        RETURN NULL;
    END $$
    """,
    """
    CREATE CONSTRAINT TRIGGER journal_entries_balanced AFTER INSERT ON journal_entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (
        current_setting('ordertrail.journal_armed', true) IS DISTINCT FROM '1'
        AND set_config('ordertrail.journal_armed', '1', true) = '1'
    )
    EXECUTE FUNCTION ordertrail_journal_balanced()
    """,
)

DROP_BALANCE_SQL = (
    "DROP TRIGGER IF EXISTS journal_entries_balanced ON journal_entries",
    "DROP TRIGGER IF EXISTS journal_postings_fresh ON journal_postings",
    "DROP TRIGGER IF EXISTS journal_entries_record ON journal_entries",
    "DROP FUNCTION IF EXISTS ordertrail_journal_balanced()",
    "DROP FUNCTION IF EXISTS ordertrail_journal_postings_fresh()",
    "DROP FUNCTION IF EXISTS ordertrail_journal_record()",
)


def upgrade() -> None:
    op.create_table(
        "gl_accounts",
        sa.Column("tenant_id", sa.String(length=63), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("gl_code", sa.String(length=64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "code", name=op.f("pk_gl_accounts")),
        comment="Chart of accounts per tenant, seeded from the default chart on first use.",
    )
    op.create_table(
        "journal_entries",
        sa.Column("tenant_id", sa.String(length=63), nullable=False),
        sa.Column("entry_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("contract_id", sa.String(length=200), nullable=False),
        sa.Column("obligation_id", sa.String(length=128), nullable=True),
        sa.Column("cause_event_id", sa.String(length=128), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("posted_on", sa.Date(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("reverses", sa.String(length=32), nullable=True),
        sa.Column("memo", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "entry_id", name=op.f("pk_journal_entries")),
        comment="Append-only: balanced journal entries, ids derived from their causes.",
    )
    op.create_index(
        op.f("ix_journal_entries_tenant_id_contract_id"),
        "journal_entries",
        ["tenant_id", "contract_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_journal_entries_tenant_id_period"),
        "journal_entries",
        ["tenant_id", "period"],
        unique=False,
    )
    op.create_table(
        "ledger_periods",
        sa.Column("tenant_id", sa.String(length=63), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "period", name=op.f("pk_ledger_periods")),
        comment="Monthly periods 'YYYY-MM'; a month without a row is open.",
    )
    op.create_table(
        "revenue_catalog",
        sa.Column("tenant_id", sa.String(length=63), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("sku", sa.String(length=128), nullable=False),
        sa.Column("component", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("effective_to", sa.Date(), nullable=True),
        sa.Column(
            "body",
            sa.Text(),
            nullable=False,
            comment="Canonical JSON of the TemplateVersion/SspRow.",
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant_id",
            "kind",
            "sku",
            "component",
            "currency",
            "version",
            name=op.f("pk_revenue_catalog"),
        ),
        comment="Append-only: obligation templates and SSPs; a change is a new version.",
    )
    op.create_table(
        "revenue_contract_orders",
        sa.Column("tenant_id", sa.String(length=63), nullable=False),
        sa.Column("order_id", sa.String(length=128), nullable=False),
        sa.Column("contract_id", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "order_id", name=op.f("pk_revenue_contract_orders")),
        comment="Which contract each order belongs to.",
    )
    op.create_table(
        "revenue_contract_versions",
        sa.Column("tenant_id", sa.String(length=63), nullable=False),
        sa.Column("contract_id", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("treatment", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("cause_event_id", sa.String(length=128), nullable=False),
        sa.Column("transaction_price_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("body", sa.Text(), nullable=False, comment="JSON: the version and its decision."),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant_id", "contract_id", "version", name=op.f("pk_revenue_contract_versions")
        ),
        comment="Append-only: every version of every contract, with its treatment and reason.",
    )
    op.create_table(
        "revenue_contracts",
        sa.Column("tenant_id", sa.String(length=63), nullable=False),
        sa.Column("contract_id", sa.String(length=200), nullable=False),
        sa.Column("customer_id", sa.String(length=128), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("contract_version", sa.Integer(), nullable=False),
        sa.Column("row_version", sa.Integer(), nullable=False, comment="Optimistic lock."),
        sa.Column(
            "state",
            sa.Text(),
            nullable=False,
            comment="The ContractState document without the balances kept in revenue_obligations.",
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "contract_id", name=op.f("pk_revenue_contracts")),
        comment="ASC 606 contracts: one or more orders combined.",
    )
    op.create_index(
        op.f("ix_revenue_contracts_tenant_id_customer_id"),
        "revenue_contracts",
        ["tenant_id", "customer_id"],
        unique=False,
    )
    op.create_table(
        "revenue_obligations",
        sa.Column("tenant_id", sa.String(length=63), nullable=False),
        sa.Column("obligation_id", sa.String(length=128), nullable=False),
        sa.Column("contract_id", sa.String(length=200), nullable=False),
        sa.Column("customer_id", sa.String(length=128), nullable=False),
        sa.Column("sku", sa.String(length=128), nullable=False),
        sa.Column("component", sa.String(length=64), nullable=False),
        sa.Column("nature", sa.String(length=32), nullable=False),
        sa.Column("timing", sa.String(length=16), nullable=False),
        sa.Column("trigger", sa.String(length=32), nullable=True),
        sa.Column("method", sa.String(length=32), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("revenue_account", sa.String(length=64), nullable=False),
        sa.Column("allocated_minor", sa.BigInteger(), nullable=False),
        sa.Column("recognized_minor", sa.BigInteger(), nullable=False),
        sa.Column("refund_liability_minor", sa.BigInteger(), nullable=False),
        sa.Column("return_asset_minor", sa.BigInteger(), nullable=False),
        sa.Column("cost_of_sales_minor", sa.BigInteger(), nullable=False),
        sa.Column("inventory_minor", sa.BigInteger(), nullable=False),
        sa.Column("deferred_minor", sa.BigInteger(), nullable=False),
        sa.Column("billed_minor", sa.BigInteger(), nullable=True),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("transferred_units", sa.BigInteger(), nullable=False),
        sa.Column("returned_units", sa.BigInteger(), nullable=False),
        sa.Column("service_start", sa.Date(), nullable=True),
        sa.Column("service_end", sa.Date(), nullable=True),
        sa.Column("schedule_first_period", sa.Integer(), nullable=True, comment="Month index."),
        sa.Column(
            "schedule_amounts", sa.Text(), nullable=True, comment="JSON array of ints per month."
        ),
        sa.Column("ratable_through", sa.Integer(), nullable=True),
        sa.Column("progress_done", sa.BigInteger(), nullable=False),
        sa.Column("progress_total", sa.BigInteger(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "deferred_minor >= 0", name="ck_revenue_obligations_deferred_not_negative"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "obligation_id", name=op.f("pk_revenue_obligations")),
        comment="Performance obligations; authoritative for their posted balances.",
    )
    op.create_index(
        op.f("ix_revenue_obligations_tenant_id_active_timing"),
        "revenue_obligations",
        ["tenant_id", "active", "timing"],
        unique=False,
    )
    op.create_index(
        op.f("ix_revenue_obligations_tenant_id_contract_id"),
        "revenue_obligations",
        ["tenant_id", "contract_id"],
        unique=False,
    )
    op.create_table(
        "revenue_settings",
        sa.Column("tenant_id", sa.String(length=63), nullable=False),
        sa.Column(
            "body", sa.Text(), nullable=False, comment="JSON: combination, allocation, returns."
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_revenue_settings")),
        comment="A tenant's revenue policy choices.",
    )
    op.create_table(
        "journal_postings",
        sa.Column("tenant_id", sa.String(length=63), nullable=False),
        sa.Column("entry_id", sa.String(length=32), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("contract_id", sa.String(length=200), nullable=False),
        sa.Column("obligation_id", sa.String(length=128), nullable=True),
        sa.Column("customer_id", sa.String(length=128), nullable=False),
        sa.Column("cause_event_id", sa.String(length=128), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("posted_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "account"],
            ["gl_accounts.tenant_id", "gl_accounts.code"],
            name="fk_journal_postings_account",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "entry_id"],
            ["journal_entries.tenant_id", "journal_entries.entry_id"],
            name="fk_journal_postings_entry",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "entry_id", "line_no", name=op.f("pk_journal_postings")
        ),
        comment="Append-only: signed postings (debit > 0), balanced per entry and currency.",
    )
    op.create_index(
        op.f("ix_journal_postings_tenant_id_contract_id"),
        "journal_postings",
        ["tenant_id", "contract_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_journal_postings_tenant_id_obligation_id"),
        "journal_postings",
        ["tenant_id", "obligation_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_journal_postings_tenant_id_period_account"),
        "journal_postings",
        ["tenant_id", "period", "account"],
        unique=False,
    )
    forbid_update_and_delete(APPEND_ONLY)
    if op.get_bind().dialect.name == "postgresql":
        for statement in BALANCE_SQL:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in DROP_BALANCE_SQL:
            op.execute(statement)
    op.drop_index(
        op.f("ix_journal_postings_tenant_id_period_account"), table_name="journal_postings"
    )
    op.drop_index(
        op.f("ix_journal_postings_tenant_id_obligation_id"), table_name="journal_postings"
    )
    op.drop_index(op.f("ix_journal_postings_tenant_id_contract_id"), table_name="journal_postings")
    op.drop_table("journal_postings")
    op.drop_table("revenue_settings")
    op.drop_index(
        op.f("ix_revenue_obligations_tenant_id_contract_id"), table_name="revenue_obligations"
    )
    op.drop_index(
        op.f("ix_revenue_obligations_tenant_id_active_timing"), table_name="revenue_obligations"
    )
    op.drop_table("revenue_obligations")
    op.drop_index(
        op.f("ix_revenue_contracts_tenant_id_customer_id"), table_name="revenue_contracts"
    )
    op.drop_table("revenue_contracts")
    op.drop_table("revenue_contract_versions")
    op.drop_table("revenue_contract_orders")
    op.drop_table("revenue_catalog")
    op.drop_table("ledger_periods")
    op.drop_index(op.f("ix_journal_entries_tenant_id_period"), table_name="journal_entries")
    op.drop_index(op.f("ix_journal_entries_tenant_id_contract_id"), table_name="journal_entries")
    op.drop_table("journal_entries")
    op.drop_table("gl_accounts")
