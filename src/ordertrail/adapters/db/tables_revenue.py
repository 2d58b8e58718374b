"""The revenue engine's schema: chart, periods, catalogs, settings, contracts, obligations, journal.

Shared with the reports (docs/revenue/pipeline.md): reports read journal_postings (+ entries),
revenue_obligations and revenue_contracts only. revenue_obligations is authoritative for each
obligation's posted balances; a contract's state document holds everything else, so the
month-end close can move a million obligations set-wise without parsing a single document.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKeyConstraint,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from ordertrail.adapters.db.tables import UtcDateTime, _tenant, metadata

REVENUE_APPEND_ONLY_TABLES = (
    "journal_entries",
    "journal_postings",
    "revenue_contract_versions",
    "revenue_catalog",
)
"""Tables whose rows the database refuses to UPDATE or DELETE (migration 0005)."""


def _money(name: str, *, nullable: bool = False) -> Column[int]:
    return Column(name, BigInteger, nullable=nullable)


gl_accounts = Table(
    "gl_accounts",
    metadata,
    _tenant(),
    Column("code", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("gl_code", String(64), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "code"),
    comment="Chart of accounts per tenant, seeded from the default chart on first use.",
)

ledger_periods = Table(
    "ledger_periods",
    metadata,
    _tenant(),
    Column("period", String(7), nullable=False),
    Column("status", String(8), nullable=False),
    Column("closed_at", UtcDateTime, nullable=True),
    Column("closed_by", String(128), nullable=True),
    PrimaryKeyConstraint("tenant_id", "period"),
    comment="Monthly periods 'YYYY-MM'; a month without a row is open.",
)

revenue_catalog = Table(
    "revenue_catalog",
    metadata,
    _tenant(),
    Column("kind", String(8), nullable=False),
    Column("sku", String(128), nullable=False),
    Column("component", String(64), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("version", Integer, nullable=False),
    Column("effective_from", Date, nullable=False),
    Column("effective_to", Date, nullable=True),
    Column("body", Text, nullable=False, comment="Canonical JSON of the TemplateVersion/SspRow."),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(128), nullable=False),
    PrimaryKeyConstraint("tenant_id", "kind", "sku", "component", "currency", "version"),
    comment="Append-only: obligation templates and SSPs; a change is a new version.",
)

revenue_settings = Table(
    "revenue_settings",
    metadata,
    _tenant(),
    Column("body", Text, nullable=False, comment="JSON: combination, allocation, returns."),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("updated_by", String(128), nullable=False),
    PrimaryKeyConstraint("tenant_id"),
    comment="A tenant's revenue policy choices.",
)

revenue_contracts = Table(
    "revenue_contracts",
    metadata,
    _tenant(),
    Column("contract_id", String(200), nullable=False),
    Column("customer_id", String(128), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(16), nullable=False),
    Column("contract_version", Integer, nullable=False),
    Column("row_version", Integer, nullable=False, comment="Optimistic lock."),
    Column(
        "state",
        Text,
        nullable=False,
        comment="The ContractState document without the balances kept in revenue_obligations.",
    ),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "contract_id"),
    Index(None, "tenant_id", "customer_id"),
    comment="ASC 606 contracts: one or more orders combined.",
)

revenue_contract_orders = Table(
    "revenue_contract_orders",
    metadata,
    _tenant(),
    Column("order_id", String(128), nullable=False),
    Column("contract_id", String(200), nullable=False),
    PrimaryKeyConstraint("tenant_id", "order_id"),
    comment="Which contract each order belongs to.",
)

revenue_contract_versions = Table(
    "revenue_contract_versions",
    metadata,
    _tenant(),
    Column("contract_id", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("effective_on", Date, nullable=False),
    Column("treatment", String(32), nullable=False),
    Column("reason", Text, nullable=False),
    Column("cause_event_id", String(128), nullable=False),
    _money("transaction_price_minor"),
    Column("currency", String(3), nullable=False),
    Column("body", Text, nullable=False, comment="JSON: the version and its decision."),
    Column("recorded_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "contract_id", "version"),
    comment="Append-only: every version of every contract, with its treatment and reason.",
)

revenue_obligations = Table(
    "revenue_obligations",
    metadata,
    _tenant(),
    Column("obligation_id", String(128), nullable=False),
    Column("contract_id", String(200), nullable=False),
    Column("customer_id", String(128), nullable=False),
    Column("sku", String(128), nullable=False),
    Column("component", String(64), nullable=False),
    Column("nature", String(32), nullable=False),
    Column("timing", String(16), nullable=False),
    Column("trigger", String(32), nullable=True),
    Column("method", String(32), nullable=True),
    Column("currency", String(3), nullable=False),
    Column("revenue_account", String(64), nullable=False),
    _money("allocated_minor"),
    _money("recognized_minor"),
    _money("refund_liability_minor"),
    _money("return_asset_minor"),
    _money("cost_of_sales_minor"),
    _money("inventory_minor"),
    _money("deferred_minor"),
    _money("billed_minor", nullable=True),
    Column("quantity", BigInteger, nullable=False),
    Column("transferred_units", BigInteger, nullable=False),
    Column("returned_units", BigInteger, nullable=False),
    Column("service_start", Date, nullable=True),
    Column("service_end", Date, nullable=True),
    Column("schedule_first_period", Integer, nullable=True, comment="Month index."),
    Column("schedule_amounts", Text, nullable=True, comment="JSON array of ints per month."),
    Column("ratable_through", Integer, nullable=True),
    Column("progress_done", BigInteger, nullable=False),
    Column("progress_total", BigInteger, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # Obligation ids are unique within their contract only ("1/unit" in every contract).
    PrimaryKeyConstraint("tenant_id", "contract_id", "obligation_id"),
    CheckConstraint("deferred_minor >= 0", name="ck_revenue_obligations_deferred_not_negative"),
    Index(None, "tenant_id", "contract_id"),
    Index(None, "tenant_id", "active", "timing"),
    Index(None, "tenant_id", "obligation_id"),
    comment="Performance obligations; authoritative for their posted balances.",
)

journal_entries = Table(
    "journal_entries",
    metadata,
    _tenant(),
    Column("entry_id", String(32), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("contract_id", String(200), nullable=False),
    Column("obligation_id", String(128), nullable=True),
    Column("cause_event_id", String(128), nullable=False),
    Column("occurred_on", Date, nullable=False),
    Column("posted_on", Date, nullable=False),
    Column("period", String(7), nullable=False),
    Column("reverses", String(32), nullable=True),
    Column("memo", Text, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "entry_id"),
    Index(None, "tenant_id", "period"),
    Index(None, "tenant_id", "contract_id"),
    comment="Append-only: balanced journal entries, ids derived from their causes.",
)

journal_postings = Table(
    "journal_postings",
    metadata,
    _tenant(),
    Column("entry_id", String(32), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("account", String(64), nullable=False),
    _money("amount_minor"),
    Column("currency", String(3), nullable=False),
    Column("contract_id", String(200), nullable=False),
    Column("obligation_id", String(128), nullable=True),
    Column("customer_id", String(128), nullable=False),
    Column("cause_event_id", String(128), nullable=False),
    Column("period", String(7), nullable=False),
    Column("posted_on", Date, nullable=False),
    PrimaryKeyConstraint("tenant_id", "entry_id", "line_no"),
    ForeignKeyConstraint(
        ["tenant_id", "entry_id"],
        ["journal_entries.tenant_id", "journal_entries.entry_id"],
        name="fk_journal_postings_entry",
    ),
    ForeignKeyConstraint(
        ["tenant_id", "account"],
        ["gl_accounts.tenant_id", "gl_accounts.code"],
        name="fk_journal_postings_account",
    ),
    Index(None, "tenant_id", "period", "account"),
    Index(None, "tenant_id", "obligation_id"),
    Index(None, "tenant_id", "contract_id"),
    comment="Append-only: signed postings (debit > 0), balanced per entry and currency.",
)
