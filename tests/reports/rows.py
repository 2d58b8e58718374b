"""A small ledger as rows of the agreed revenue tables: what the contract suite and the service
tests insert, into SQL and into the in-memory fake alike.

Two tenants. acme has two contracts:
- ctr-A (CUST-1, USD): invoiced 1,700.00 on 2026-10-20; a keyboard (1/unit, 500.00) delivered on
  2026-11-05; a year of support (1/support, 1,200.00 from 2026-11, 100.00 a month) closed for
  November; a second keyboard line (2/unit, 400.00) not yet delivered; one unit returned on
  2026-11-20 (40.00 back to the contract liability; the refund liability was 0).
- ctr-B (CUST-2, EUR): a licence (1/licence, 300.00) delivered on 2026-11-10 before any invoice
  (a contract asset), invoiced on 2026-12-01; a subscription (1/sub, 6 x 50.00 from 2026-12) not
  started; an erroneous recognition reversed in December.
globex has one invoice, to prove that nothing crosses tenants.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from ordertrail.domain.ledger import (
    ALL_OPEN,
    DEFAULT_CHART_ROWS,
    JournalEntry,
    Posting,
    journal_entry,
    period_index,
    reverse_entry,
)
from tests.conftest import NOW

CUSTOMERS = {"ctr-A": "CUST-1", "ctr-B": "CUST-2", "ctr-G": "CUST-9"}
CURRENCIES = {"ctr-A": "USD", "ctr-B": "EUR", "ctr-G": "USD"}


def entry(
    kind: str,
    contract: str,
    on: str,
    *legs: tuple[str, int],
    obligation: str | None = None,
    cause: str | None = None,
) -> JournalEntry:
    cause = cause or f"{contract}:{kind}:{on}"
    postings = [
        Posting(account, amount, CURRENCIES[contract], contract, obligation, cause)
        for account, amount in legs
    ]
    return journal_entry(
        kind=kind,
        contract_id=contract,
        obligation_id=obligation,
        cause_event_id=cause,
        occurred_on=date.fromisoformat(on),
        postings=postings,
        calendar=ALL_OPEN,
    )


def acme_entries() -> list[JournalEntry]:
    wrong = entry(
        "recognition", "ctr-B", "2026-12-03", ("contract_assets", 5000),
        ("revenue_subscriptions", -5000), obligation="1/sub",
    )  # fmt: skip
    return [
        entry("invoice", "ctr-A", "2026-10-20", ("receivables", 170000),
              ("contract_liabilities", -170000), cause="inv-A1"),
        entry("recognition", "ctr-A", "2026-11-05", ("contract_liabilities", 50000),
              ("revenue_goods", -50000), obligation="1/unit", cause="dlv-A1"),
        entry("close", "ctr-A", "2026-11-30", ("contract_liabilities", 10000),
              ("revenue_services", -10000), obligation="1/support", cause="close:2026-11"),
        entry("return", "ctr-A", "2026-11-20", ("revenue_goods", 4000),
              ("contract_liabilities", -4000), obligation="1/unit", cause="ret-A1"),
        entry("recognition", "ctr-B", "2026-11-10", ("contract_assets", 30000),
              ("revenue_licences", -30000), obligation="1/licence", cause="dlv-B1"),
        entry("invoice", "ctr-B", "2026-12-01", ("receivables", 30000),
              ("contract_assets", -30000), cause="inv-B1"),
        wrong,
        reverse_entry(wrong, cause_event_id="fix-B1", occurred_on=date(2026, 12, 4),
                      calendar=ALL_OPEN),
    ]  # fmt: skip


def globex_entries() -> list[JournalEntry]:
    return [
        entry("invoice", "ctr-G", "2026-11-02", ("receivables", 999),
              ("contract_liabilities", -999), cause="inv-G1"),
    ]  # fmt: skip


def entry_rows(tenant_id: str, entries: list[JournalEntry]) -> dict[str, list[dict[str, Any]]]:
    heads, lines = [], []
    for item in entries:
        heads.append(
            {
                "tenant_id": tenant_id,
                "entry_id": item.entry_id,
                "kind": item.kind,
                "contract_id": item.contract_id,
                "obligation_id": item.obligation_id,
                "cause_event_id": item.cause_event_id,
                "occurred_on": item.occurred_on,
                "posted_on": item.posted_on,
                "period": item.period,
                "reverses": item.reverses,
                "memo": item.memo,
                "recorded_at": NOW,
            }
        )
        for line_no, posting in enumerate(item.postings, start=1):
            lines.append(
                {
                    "tenant_id": tenant_id,
                    "entry_id": item.entry_id,
                    "line_no": line_no,
                    "account": posting.account,
                    "amount_minor": posting.amount_minor,
                    "currency": posting.currency,
                    "contract_id": posting.contract_id,
                    "obligation_id": posting.obligation_id,
                    "customer_id": CUSTOMERS[posting.contract_id],
                    "cause_event_id": posting.cause_event_id,
                    "period": item.period,
                    "posted_on": item.posted_on,
                }
            )
    return {"journal_entries": heads, "journal_postings": lines}


def obligation(
    tenant_id: str,
    contract: str,
    obligation_id: str,
    *,
    timing: str,
    allocated: int,
    recognized: int,
    schedule: tuple[str, list[int]] | None = None,
    active: bool = True,
    deferred: int | None = None,
) -> dict[str, Any]:
    nature = "goods" if timing == "point_in_time" else "service"
    return {
        "tenant_id": tenant_id,
        "obligation_id": obligation_id,
        "contract_id": contract,
        "customer_id": CUSTOMERS[contract],
        "sku": f"SKU-{obligation_id.split('/')[1].upper()}",
        "component": obligation_id.split("/")[1],
        "nature": nature,
        "timing": timing,
        "trigger": "delivery" if timing == "point_in_time" else None,
        "method": None if timing == "point_in_time" else "ratable_monthly_equal",
        "currency": CURRENCIES[contract],
        "revenue_account": "revenue_goods" if nature == "goods" else "revenue_services",
        "allocated_minor": allocated,
        "recognized_minor": recognized,
        "refund_liability_minor": 0,
        "return_asset_minor": 0,
        "cost_of_sales_minor": 0,
        "inventory_minor": 0,
        "deferred_minor": allocated - recognized if deferred is None else deferred,
        "billed_minor": None,
        "quantity": 1,
        "transferred_units": 1 if timing == "point_in_time" and recognized else 0,
        "returned_units": 0,
        "service_start": None if schedule is None else date.fromisoformat(schedule[0] + "-01"),
        "service_end": None,
        "schedule_first_period": None if schedule is None else period_index(schedule[0]),
        "schedule_amounts": None if schedule is None else json.dumps(schedule[1]),
        "ratable_through": None,
        "progress_done": 0,
        "progress_total": 0,
        "active": active,
        "updated_at": NOW,
    }


def acme_obligations() -> list[dict[str, Any]]:
    return [
        obligation("acme", "ctr-A", "1/unit", timing="point_in_time", allocated=50000,
                   recognized=46000, deferred=0),
        obligation("acme", "ctr-A", "1/support", timing="over_time", allocated=120000,
                   recognized=10000, schedule=("2026-11", [10000] * 12)),
        obligation("acme", "ctr-A", "2/unit", timing="point_in_time", allocated=40000,
                   recognized=0),
        obligation("acme", "ctr-B", "1/licence", timing="point_in_time", allocated=30000,
                   recognized=30000),
        obligation("acme", "ctr-B", "1/sub", timing="over_time", allocated=30000, recognized=0,
                   schedule=("2026-12", [5000] * 6)),
        obligation("acme", "ctr-B", "0/old", timing="over_time", allocated=100, recognized=0,
                   schedule=("2026-12", [100]), active=False),
    ]  # fmt: skip


def ledger_rows() -> dict[str, list[dict[str, Any]]]:
    """Every row of the scenario, by table, in an order that satisfies the foreign keys."""
    accounts = [
        {"tenant_id": tenant, "code": code, "name": name, "kind": kind, "gl_code": gl,
         "active": True, "created_at": NOW}
        for tenant in ("acme", "globex")
        for code, name, kind, gl in DEFAULT_CHART_ROWS
    ]  # fmt: skip
    acme, globex = entry_rows("acme", acme_entries()), entry_rows("globex", globex_entries())
    other = obligation("globex", "ctr-G", "1/unit", timing="point_in_time", allocated=999,
                       recognized=0)  # fmt: skip
    return {
        "gl_accounts": accounts,
        "journal_entries": acme["journal_entries"] + globex["journal_entries"],
        "journal_postings": acme["journal_postings"] + globex["journal_postings"],
        "revenue_obligations": [*acme_obligations(), other],
    }
