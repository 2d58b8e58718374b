"""Report queries: the SQL adapter on SQLite and PostgreSQL gives what the in-memory fake gives.

Rows go in through the agreed revenue tables (tests/reports/rows.py); every query is asserted
against the same expected figures on every implementation.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import Engine, insert

from ordertrail.adapters.db.engine import make_engine
from ordertrail.adapters.db.report_queries import SqlReportQueries
from ordertrail.adapters.db.tables import metadata
from ordertrail.adapters.memory.report_queries import MemoryReportQueries
from ordertrail.domain.revenue.reports import PositionMovement
from ordertrail.services.report_ports import JournalFilter, ReportQueries
from tests.conftest import truncate_postgres
from tests.reports.rows import acme_entries, ledger_rows


def fill_sql(engine: Engine) -> None:
    rows = ledger_rows()
    # Entries and their postings in one transaction, as PostgreSQL's balance check requires.
    with engine.begin() as connection:
        for table in ("gl_accounts", "journal_entries", "journal_postings", "revenue_obligations"):
            connection.execute(insert(metadata.tables[table]), rows[table])


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def reports(request: pytest.FixtureRequest) -> Iterator[ReportQueries]:
    if request.param == "memory":
        memory = MemoryReportQueries()
        for table, rows in ledger_rows().items():
            memory.add(table, rows)
        yield memory
        return
    if request.param == "sqlite":
        engine = request.getfixturevalue("sqlite_engine")
    else:
        engine = make_engine(request.getfixturevalue("postgres_url"))
        truncate_postgres(engine)
    fill_sql(engine)
    yield SqlReportQueries(engine)
    if request.param == "postgres":
        engine.dispose()


ENTRIES = {entry.cause_event_id: entry for entry in acme_entries()}


def causes(page_entries) -> list[str]:
    return [entry.cause_event_id for entry in page_entries]


def test_obligation_positions_are_the_active_ones_with_something_deferred_in_key_order(reports):
    positions = list(reports.obligation_positions(tenant_id="acme"))
    assert [(p.contract_id, p.obligation_id, p.deferred_minor) for p in positions] == [
        ("ctr-A", "1/support", 110000),
        ("ctr-A", "2/unit", 40000),
        ("ctr-B", "1/sub", 30000),
    ]
    support = positions[0]
    assert (support.schedule_first_period, support.schedule_amounts_minor[:2]) == (
        2026 * 12 + 10,
        (10000, 10000),
    )
    assert (support.customer_id, support.currency, support.timing) == ("CUST-1", "USD", "over_time")
    assert positions[1].schedule_amounts_minor == ()


def test_position_movements_sum_the_position_accounts_by_period_currency_and_kind(reports):
    assert reports.position_movements(tenant_id="acme", through_period="2026-12") == [
        PositionMovement("2026-10", "USD", "invoice", "contract_liabilities", -170000),
        PositionMovement("2026-11", "EUR", "recognition", "contract_assets", 30000),
        PositionMovement("2026-11", "USD", "close", "contract_liabilities", 10000),
        PositionMovement("2026-11", "USD", "recognition", "contract_liabilities", 50000),
        PositionMovement("2026-11", "USD", "return", "contract_liabilities", -4000),
        PositionMovement("2026-12", "EUR", "invoice", "contract_assets", -30000),
        PositionMovement("2026-12", "EUR", "recognition", "contract_assets", 5000),
        PositionMovement("2026-12", "EUR", "reversal", "contract_assets", -5000),
    ]
    assert len(reports.position_movements(tenant_id="acme", through_period="2026-11")) == 5


def test_account_totals_of_one_period_and_through_a_period_carry_the_chart_names(reports):
    in_november = reports.account_totals(tenant_id="acme", period="2026-11", through_period=None)
    assert [(t.currency, t.account, t.amount_minor) for t in in_november] == [
        ("EUR", "contract_assets", 30000),
        ("EUR", "revenue_licences", -30000),
        ("USD", "contract_liabilities", 56000),
        ("USD", "revenue_goods", -46000),
        ("USD", "revenue_services", -10000),
    ]
    assert (in_november[0].name, in_november[0].kind, in_november[0].gl_code) == (
        "Contract assets (unbilled revenue)",
        "asset",
        "1250",
    )
    through = reports.account_totals(tenant_id="acme", period=None, through_period="2026-12")
    assert [(t.currency, t.account, t.amount_minor) for t in through] == [
        ("EUR", "contract_assets", 0),
        ("EUR", "receivables", 30000),
        ("EUR", "revenue_licences", -30000),
        ("EUR", "revenue_subscriptions", 0),
        ("USD", "contract_liabilities", -114000),
        ("USD", "receivables", 170000),
        ("USD", "revenue_goods", -46000),
        ("USD", "revenue_services", -10000),
    ]


def test_the_journal_pages_by_posting_date_with_postings_in_line_order(reports):
    seen, cursor, pages = [], None, 0
    while True:
        page = reports.journal(tenant_id="acme", filters=JournalFilter(), limit=3, cursor=cursor)
        seen += page.entries
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert pages == 3
    assert [e.posted_on for e in seen] == sorted(e.posted_on for e in seen)
    assert causes(seen) == [
        "inv-A1", "dlv-A1", "dlv-B1", "ret-A1", "close:2026-11", "inv-B1",
        "ctr-B:recognition:2026-12-03", "fix-B1",
    ]  # fmt: skip
    first = seen[0]
    assert (first.entry_id, first.kind, first.period, first.occurred_on) == (
        ENTRIES["inv-A1"].entry_id,
        "invoice",
        "2026-10",
        date(2026, 10, 20),
    )
    assert [(p.line_no, p.account, p.amount_minor, p.customer_id) for p in first.postings] == [
        (1, "receivables", 170000, "CUST-1"),
        (2, "contract_liabilities", -170000, "CUST-1"),
    ]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (JournalFilter(account="receivables"), ["inv-A1", "inv-B1"]),
        (JournalFilter(obligation_id="1/sub"), ["ctr-B:recognition:2026-12-03", "fix-B1"]),
        (JournalFilter(kind="invoice"), ["inv-A1", "inv-B1"]),
        (JournalFilter(period="2026-12"), ["inv-B1", "ctr-B:recognition:2026-12-03", "fix-B1"]),
        (JournalFilter(contract_id="ctr-A"), ["inv-A1", "dlv-A1", "ret-A1", "close:2026-11"]),
        (JournalFilter(cause_event_id="dlv-B1"), ["dlv-B1"]),
        (JournalFilter(contract_id="ctr-A", account="revenue_goods"), ["dlv-A1", "ret-A1"]),
        (JournalFilter(contract_id="ctr-G"), []),
    ],
)
def test_journal_filters_combine(reports, filters, expected):
    page = reports.journal(tenant_id="acme", filters=filters, limit=50, cursor=None)
    assert (causes(page.entries), page.next_cursor) == (expected, None)


def test_a_cursor_the_api_did_not_issue_is_refused(reports):
    with pytest.raises(ValueError, match="not one this API issued"):
        reports.journal(tenant_id="acme", filters=JournalFilter(), limit=5, cursor="bm9wZQ")


def test_one_entry_with_its_postings_and_its_reversals_within_the_tenant(reports):
    wrong = ENTRIES["ctr-B:recognition:2026-12-03"]
    found = reports.journal_entry(tenant_id="acme", entry_id=wrong.entry_id)
    assert found is not None
    assert [(p.account, p.amount_minor, p.obligation_id) for p in found.postings] == [
        ("contract_assets", 5000, "1/sub"),
        ("revenue_subscriptions", -5000, "1/sub"),
    ]
    assert reports.reversals_of(tenant_id="acme", entry_id=wrong.entry_id) == [
        ENTRIES["fix-B1"].entry_id
    ]
    assert ENTRIES["fix-B1"].reverses == wrong.entry_id
    assert reports.journal_entry(tenant_id="globex", entry_id=wrong.entry_id) is None
    assert reports.reversals_of(tenant_id="globex", entry_id=wrong.entry_id) == []


def test_nothing_crosses_tenants(reports):
    page = reports.journal(tenant_id="globex", filters=JournalFilter(), limit=50, cursor=None)
    assert causes(page.entries) == ["inv-G1"]
    assert [p.obligation_id for p in reports.obligation_positions(tenant_id="globex")] == ["1/unit"]
    totals = reports.account_totals(tenant_id="globex", period=None, through_period="2026-12")
    assert {(t.account, t.amount_minor) for t in totals} == {
        ("receivables", 999),
        ("contract_liabilities", -999),
    }
