"""The report documents and their CSV, over the in-memory fake filled with tests/reports/rows.py."""

from __future__ import annotations

import csv
import io

import pytest

from ordertrail.adapters.memory.report_queries import MemoryReportQueries
from ordertrail.services import reports
from ordertrail.services.report_csv import csv_text, decimal_text, filename_of
from ordertrail.services.report_ports import JournalFilter
from ordertrail.services.reports import InvalidReportRequest
from tests.reports.rows import acme_entries, ledger_rows


@pytest.fixture
def queries() -> MemoryReportQueries:
    memory = MemoryReportQueries()
    for table, rows in ledger_rows().items():
        memory.add(table, rows)
    return memory


def rows_of(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_the_waterfall_by_contract_expects_schedules_by_month_and_goods_at_fulfilment(queries):
    body = reports.waterfall_report(
        queries=queries, tenant_id="acme", group_by="contract", first_period="2026-12", periods=3
    ).body
    assert body["periods"] == ["2026-12", "2027-01", "2027-02"]
    assert [
        (r["contract_id"], r["currency"], r["amounts_minor"], r["later_minor"],
         r["unscheduled_minor"], r["total_minor"])
        for r in body["rows"]
    ] == [
        ("ctr-B", "EUR", [5000, 5000, 5000], 15000, 0, 30000),
        ("ctr-A", "USD", [10000, 10000, 10000], 80000, 40000, 150000),
    ]  # fmt: skip
    assert [(t["currency"], t["total_minor"]) for t in body["totals"]] == [
        ("EUR", 30000),
        ("USD", 150000),
    ]
    assert (body["rows_total"], body["truncated"]) == (2, False)


def test_the_waterfall_csv_carries_minor_units_and_decimals_and_a_total_per_currency(queries):
    document = reports.waterfall_report(
        queries=queries, tenant_id="acme", group_by="customer", first_period="2026-12", periods=1
    )
    assert filename_of(document) == "waterfall-acme-2026-12.csv"
    assert rows_of(csv_text(document)) == [
        ["customer_id", "currency", "2026-12_minor", "2026-12", "later_minor", "later",
         "unscheduled_minor", "unscheduled", "total_minor", "total", "obligations"],
        ["CUST-2", "EUR", "5000", "50.00", "25000", "250.00", "0", "0.00", "30000", "300.00", "1"],
        ["CUST-1", "USD", "10000", "100.00", "100000", "1000.00", "40000", "400.00", "150000",
         "1500.00", "2"],
        ["total", "EUR", "5000", "50.00", "25000", "250.00", "0", "0.00", "30000", "300.00", "1"],
        ["total", "USD", "10000", "100.00", "100000", "1000.00", "40000", "400.00", "150000",
         "1500.00", "2"],
    ]  # fmt: skip


def test_the_rollforward_ties_each_closing_to_the_trial_balance_of_the_position_accounts(queries):
    body = reports.rollforward_report(
        queries=queries, tenant_id="acme", first_period="2026-11", last_period="2026-12"
    ).body
    figures = [
        (li["period"], li["currency"], li["opening_minor"], li["billed_minor"],
         li["recognized_minor"], li["adjustments_minor"], li["closing_minor"])
        for li in body["lines"]
    ]  # fmt: skip
    assert figures == [
        ("2026-11", "EUR", 0, 0, 30000, 0, -30000),
        ("2026-11", "USD", 170000, 0, 60000, 4000, 114000),
        ("2026-12", "EUR", -30000, 30000, 5000, 5000, 0),
        ("2026-12", "USD", 114000, 0, 0, 0, 114000),
    ]
    assert body["lines"][1]["adjustments_by_kind"] == {"return": 4000}
    assert body["lines"][2]["adjustments_by_kind"] == {"reversal": 5000}
    for line in body["lines"]:
        tb = reports.trial_balance(
            queries=queries, tenant_id="acme", period=None, as_of=line["period"]
        ).body
        balance = {
            (li["account"], li["currency"]): li["debit_minor"] - li["credit_minor"]
            for li in tb["lines"]
        }
        currency = line["currency"]
        assert line["closing_liabilities_minor"] == -balance.get(
            ("contract_liabilities", currency), 0
        )
        assert line["closing_assets_minor"] == balance.get(("contract_assets", currency), 0)
        assert line["closing_minor"] == (
            line["closing_liabilities_minor"] - line["closing_assets_minor"]
        )


def test_the_rpo_bands_the_twelve_months_after_as_of(queries):
    body = reports.rpo_report(queries=queries, tenant_id="acme", as_of="2026-11").body
    assert body["within_12_months"] == {"from": "2026-12", "to": "2027-11"}
    assert [
        (r["contract_id"], r["within_12_months_minor"], r["beyond_12_months_minor"],
         r["unscheduled_minor"], r["total_minor"])
        for r in body["rows"]
    ] == [("ctr-B", 30000, 0, 0, 30000), ("ctr-A", 110000, 0, 40000, 150000)]  # fmt: skip


def test_the_trial_balance_has_debit_and_credit_columns_that_sum_to_zero(queries):
    document = reports.trial_balance(
        queries=queries, tenant_id="acme", period=None, as_of="2026-12"
    )
    body = document.body
    assert [(li["currency"], li["gl_code"], li["debit_minor"], li["credit_minor"])
            for li in body["lines"]] == [
        ("EUR", "1200", 30000, 0),
        ("EUR", "4200", 0, 30000),
        ("USD", "1200", 170000, 0),
        ("USD", "2300", 0, 114000),
        ("USD", "4000", 0, 46000),
        ("USD", "4100", 0, 10000),
    ]  # fmt: skip
    assert [t["difference_minor"] for t in body["totals"]] == [0, 0]
    assert rows_of(csv_text(document))[-1] == [
        "total", "", "", "", "USD", "170000", "1700.00", "170000", "1700.00",
    ]  # fmt: skip
    assert filename_of(document) == "trial-balance-acme-2026-12.csv"


def test_the_journal_document_and_its_csv_show_every_posting(queries):
    document = reports.journal_page(
        queries=queries,
        tenant_id="acme",
        filters=JournalFilter(kind="invoice"),
        limit=10,
        cursor=None,
    )
    [first, _second] = document.body["items"]
    assert first["postings"][0] == {
        "line_no": 1,
        "account": "receivables",
        "amount_minor": 170000,
        "debit_minor": 170000,
        "credit_minor": 0,
        "currency": "USD",
        "contract_id": "ctr-A",
        "obligation_id": None,
        "customer_id": "CUST-1",
        "cause_event_id": "inv-A1",
    }
    lines = rows_of(csv_text(document))
    assert len(lines) == 1 + 4
    assert lines[2][7:] == [
        "2", "contract_liabilities", "ctr-A", "", "CUST-1", "USD", "-170000", "-1700.00", "0",
        "0.00", "170000", "1700.00", "",
    ]  # fmt: skip


def test_an_entry_names_the_entries_that_reverse_it(queries):
    wrong = next(e for e in acme_entries() if e.cause_event_id == "ctr-B:recognition:2026-12-03")
    document = reports.journal_entry(queries=queries, tenant_id="acme", entry_id=wrong.entry_id)
    assert document is not None
    assert len(document["reversed_by"]) == 1
    assert (
        reports.journal_entry(queries=queries, tenant_id="globex", entry_id=wrong.entry_id) is None
    )


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda q: reports.waterfall_report(queries=q, tenant_id="acme", group_by="sku",
                                            first_period="2026-11", periods=3), "invalid_group_by"),
        (lambda q: reports.waterfall_report(queries=q, tenant_id="acme", group_by="contract",
                                            first_period="2026-13", periods=3), "invalid_period"),
        (lambda q: reports.waterfall_report(queries=q, tenant_id="acme", group_by="contract",
                                            first_period="2026-11", periods=0), "invalid_range"),
        (lambda q: reports.rollforward_report(queries=q, tenant_id="acme",
                                              first_period="2026-11", last_period="2026-10"),
         "invalid_range"),
        (lambda q: reports.trial_balance(queries=q, tenant_id="acme", period="2026-11",
                                         as_of="2026-11"), "invalid_range"),
        (lambda q: reports.journal_page(queries=q, tenant_id="acme", filters=JournalFilter(),
                                        limit=5, cursor="xyz"), "invalid_cursor"),
    ],
)  # fmt: skip
def test_bad_parameters_are_refused_with_a_code(queries, call, code):
    with pytest.raises(InvalidReportRequest) as refused:
        call(queries)
    assert refused.value.code == code


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [(12345, "USD", "123.45"), (-5, "EUR", "-0.05"), (1500, "JPY", "1500"), (-1, "KWD", "-0.001")],
)
def test_decimals_follow_the_currency_exponent(amount, currency, text):
    assert decimal_text(amount, currency) == text
