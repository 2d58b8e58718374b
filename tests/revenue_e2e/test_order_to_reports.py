"""From order events over HTTP to the revenue reports, on SQLite and PostgreSQL.

A catalog posted to the catalog API, one order's life sent through `POST /v1/events`, the relay
and the revenue consumer run in-process, the November close over HTTP, then every report over
HTTP. The figures, worked by hand (USD, amounts in cents; the tenant's time zone is UTC):

Catalog: WIDGET is goods, control passes per shipping terms (here FOB destination: at delivery),
SSP 100.00. SUPPORT is 12 months of service, ratable by equal months from the contract's start,
SSP 1,200.00.

- 11-02 SO-77 placed: line 1, 4 WIDGET at 100.00. No entry: an order is not yet a contract.
- 11-02 confirmed: contract ctr-SO-77 opens; 1/unit is allocated 40,000 (price = SSP).
- 11-03 4 units dispatched. No entry: under FOB destination control passes at delivery.
- 11-05 3 units delivered. recognition: Dr contract assets 30,000 / Cr revenue goods 30,000
  (3/4 of 40,000; nothing is billed yet, so the position is a contract asset).
- 11-06 invoice 400.00. invoice: Dr receivables 40,000 / Cr contract assets 30,000 (back to 0)
  / Cr contract liabilities 10,000.
- 11-09 amended: line 1 to 5 units, line 2 added (1 SUPPORT at 1,200.00). No entry. Line 1
  changes, so it is not a separate contract; what remains is distinct, so it is prospective
  (ASC 606-10-25-13(a)): 1/unit stops at its 30,000, and the remainder shares the unrecognized
  10,000 plus the 10,000 and 120,000 the change adds, 140,000, on SSP at 11-09: two widgets
  (SSP 20,000) -> 1/unit@v2 20,000; support (SSP 120,000) -> 2/support 120,000, 12 x 10,000
  from November 2026 to October 2027.
- 11-12 1 unit returned. The open 1/unit@v2 has transferred none, so the unit goes back to 1/unit
  at its average of 10,000; no expected returns were configured, so revenue reverses. return:
  Dr revenue goods 10,000 / Cr contract liabilities 10,000 (owed back to the customer).
- 11-30 close of 2026-11: support's November share. close: Dr contract liabilities 10,000 /
  Cr revenue services 10,000.

Trial balance through 2026-11: receivables Dr 40,000; contract liabilities Cr 10,000 (10,000 +
10,000 - 10,000); revenue goods Cr 20,000 (30,000 - 10,000); revenue services Cr 10,000; contract
assets nets to 0 and is not shown. Debits 40,000 = credits 40,000.

Rollforward 2026-11: opening 0 + billed 40,000 - recognized 40,000 (30,000 delivery + 10,000
close) + adjustments 10,000 (the return) = closing 10,000 = contract liabilities 10,000 - contract
assets 0.

Waterfall from 2026-12, 12 periods: 2/support has 110,000 left, 10,000 in each of 2026-12 to
2027-10 and nothing in 2027-11 (its twelfth month was November 2026); 1/unit@v2 has 20,000 for two
widgets not yet delivered, "at fulfilment". RPO at the end of 2026-11: 110,000 within twelve months
(2026-12 to 2027-11), 0 beyond, 20,000 at fulfilment, 130,000 in all.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ordertrail.bootstrap import Ordertrail
from ordertrail.domain.ledger import entry_id_for
from ordertrail.entrypoints.api import create_app
from ordertrail.services.relay import relay_round
from tests.conftest import make_principal
from tests.pipeline.support import consume, run

TENANT = "acme"
SINCE = date(2026, 1, 1)
ORDER = "SO-77"
CONTRACT = "ctr-SO-77"


def catalog() -> list[tuple[str, dict[str, Any]]]:
    """The catalog as an accountant posts it: (endpoint, body) per template version and SSP."""
    since = SINCE.isoformat()
    goods = {
        "component": "unit",
        "nature": "goods",
        "timing": "point_in_time",
        "trigger": "control_transfer",
    }
    support = {
        "component": "support",
        "nature": "service",
        "timing": "over_time",
        "method": "ratable_monthly_equal",
        "term_months": 12,
    }
    return [
        ("templates", {"sku": "WIDGET", "effective_from": since, "templates": [goods]}),
        ("templates", {"sku": "SUPPORT", "effective_from": since, "templates": [support]}),
        ("ssp", {"sku": "WIDGET", "component": "unit", "currency": "USD",
                 "effective_from": since, "unit_ssp_minor": 10000}),
        ("ssp", {"sku": "SUPPORT", "component": "support", "currency": "USD",
                 "effective_from": since, "unit_ssp_minor": 120000}),
    ]  # fmt: skip


def event(
    event_id: str, event_type: str, day: int, payload: dict[str, Any], *, source: str = "oms"
) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "type": event_type,
        "schema_version": 2 if event_type == "order.placed" else 1,
        "tenant_id": TENANT,
        "source": source,
        "occurred_at": f"2026-11-{day:02d}T10:00:00Z",
        "order_id": ORDER,
        "payload": payload,
    }


def order_life() -> list[dict[str, Any]]:
    widgets = {"line_id": "1", "sku": "WIDGET", "quantity": 4, "unit_price_minor": 10000}
    return [
        event("e2e-01", "order.placed", 2, {
            "customer_id": "CUST-7", "currency": "USD", "shipping_terms": "fob_destination",
            "lines": [widgets]}),
        event("e2e-02", "order.confirmed", 2, {}),
        event("e2e-03", "shipment.dispatched", 3, {
            "shipment_id": "S1", "carrier": "ups", "tracking_number": "1ZE2E0001",
            "lines": [{"line_id": "1", "quantity": 4}]}, source="wms"),
        event("e2e-04", "shipment.delivered", 5, {
            "shipment_id": "S1", "lines": [{"line_id": "1", "quantity": 3}]},
            source="carrier:ups"),
        event("e2e-05", "invoice.issued", 6, {
            "invoice_id": "INV-77", "amount_minor": 40000, "currency": "USD"}, source="billing"),
        event("e2e-06", "order.amended", 9, {"reason": "one more widget and a year of support",
            "lines": [{"line_id": "1", "quantity": 5},
                      {"line_id": "2", "sku": "SUPPORT", "quantity": 1,
                       "unit_price_minor": 120000}]}),
        event("e2e-07", "return.received", 12, {
            "return_id": "R1", "lines": [{"line_id": "1", "quantity": 1}]},
            source="service-desk"),
    ]  # fmt: skip


def pump(app: Ordertrail) -> None:
    """Relay the outbox and run both lanes' consumers until nothing moves, as serve's embedded
    workers would."""
    for _ in range(50):
        published = run(
            relay_round(
                outbox=app.pipeline.outbox,
                publisher=app.pipeline.broker,
                config=app.pipeline.relay,
                clock=app.clock,
            )
        )
        critical, bulk = consume(app), consume(app, lane="bulk")
        if not any(published.values()) and critical.received == bulk.received == 0:
            return
    pytest.fail("the pipeline did not settle in 50 rounds")


@pytest.fixture
def books(app: Ordertrail) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """The catalog and the order's life sent over HTTP, the pipeline run, November closed over
    HTTP; a revenue accountant's client to read the books."""
    _, sender = make_principal(app, tenant_id=TENANT, roles=("integration",))
    _, controller = make_principal(app, tenant_id=TENANT, roles=("controller",))
    _, reader = make_principal(app, tenant_id=TENANT, roles=("revenue_accountant",))
    accountant = {"Authorization": f"Bearer {reader}"}
    with TestClient(create_app(app)) as client:
        for kind, body in catalog():
            added = client.post(f"/v1/revenue/catalog/{kind}", json=body, headers=accountant)
            assert added.status_code == 201, added.text
        for body in order_life():
            sent = client.post(
                "/v1/events", json=body, headers={"Authorization": f"Bearer {sender}"}
            )
            assert (sent.status_code, sent.json()["outcome"]) == (201, "applied"), sent.text
        pump(app)
        closed = client.post(
            "/v1/ledger/periods/2026-11/close", headers={"Authorization": f"Bearer {controller}"}
        )
        assert closed.status_code == 200, closed.text
        yield client, accountant


def get(books: tuple[TestClient, dict[str, str]], path: str, **params: Any) -> dict[str, Any]:
    client, auth = books
    response = client.get(path, params=params, headers=auth)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def check_journal(books):
    journal = get(books, "/v1/journal", period="2026-11")
    assert journal["next_cursor"] is None
    entries = [
        (e["posted_on"], e["kind"], e["obligation_id"], e["cause_event_id"],
         {p["account"]: p["amount_minor"] for p in e["postings"]})
        for e in journal["items"]
    ]  # fmt: skip
    assert entries == [
        ("2026-11-05", "recognition", "1/unit", "e2e-04",
         {"revenue_goods": -30000, "contract_assets": 30000}),
        ("2026-11-06", "invoice", None, "e2e-05",
         {"receivables": 40000, "contract_assets": -30000, "contract_liabilities": -10000}),
        ("2026-11-12", "return", "1/unit", "e2e-07",
         {"revenue_goods": 10000, "contract_liabilities": -10000}),
        ("2026-11-30", "close", "2/support", "close:2026-11",
         {"contract_liabilities": 10000, "revenue_services": -10000}),
    ]  # fmt: skip
    # Ids derive from causes, so a replay of the same events gives the same ids.
    assert journal["items"][1]["entry_id"] == entry_id_for(
        contract_id=CONTRACT, obligation_id=None, cause_event_id="e2e-05", kind="invoice"
    )
    close = get(books, "/v1/journal", obligation_id="2/support")["items"]
    assert [e["kind"] for e in close] == ["close"]
    assert {p["customer_id"] for e in journal["items"] for p in e["postings"]} == {"CUST-7"}


def check_trial_balance(books):
    tb = get(books, "/v1/reports/trial-balance", as_of="2026-11")
    assert [(li["account"], li["debit_minor"], li["credit_minor"]) for li in tb["lines"]] == [
        ("receivables", 40000, 0),
        ("contract_liabilities", 0, 10000),
        ("revenue_goods", 0, 20000),
        ("revenue_services", 0, 10000),
    ]
    assert tb["totals"] == [
        {"currency": "USD", "debit_minor": 40000, "credit_minor": 40000, "difference_minor": 0}
    ]


def check_rollforward(books):
    [november] = get(
        books, "/v1/reports/deferred-rollforward", **{"from": "2026-11", "to": "2026-11"}
    )["lines"]
    assert november == {
        "period": "2026-11",
        "currency": "USD",
        "opening_minor": 0,
        "billed_minor": 40000,
        "recognized_minor": 40000,
        "adjustments_minor": 10000,
        "closing_minor": 10000,
        "closing_liabilities_minor": 10000,
        "closing_assets_minor": 0,
        "adjustments_by_kind": {"return": 10000},
    }


def check_waterfall(books):
    by_obligation = get(
        books, "/v1/reports/waterfall", group_by="obligation", periods=12, **{"from": "2026-12"}
    )
    assert by_obligation["periods"][0] == "2026-12"
    assert [
        (r["obligation_id"], r["amounts_minor"], r["later_minor"], r["unscheduled_minor"],
         r["total_minor"])
        for r in by_obligation["rows"]
    ] == [
        ("1/unit@v2", [0] * 12, 0, 20000, 20000),
        ("2/support", [10000] * 11 + [0], 0, 0, 110000),
    ]  # fmt: skip
    [contract] = get(books, "/v1/reports/waterfall", periods=12, **{"from": "2026-12"})["rows"]
    assert (contract["contract_id"], contract["customer_id"], contract["total_minor"]) == (
        CONTRACT,
        "CUST-7",
        130000,
    )


def check_rpo(books):
    rpo = get(books, "/v1/reports/rpo", as_of="2026-11")
    assert rpo["within_12_months"] == {"from": "2026-12", "to": "2027-11"}
    assert rpo["totals"] == [
        {
            "currency": "USD",
            "within_12_months_minor": 110000,
            "beyond_12_months_minor": 0,
            "unscheduled_minor": 20000,
            "total_minor": 130000,
            "obligations": 2,
        }
    ]


def test_order_events_become_the_journal_and_reports_worked_out_by_hand(books):
    """One run per database (the setup is the slow part), every report checked on it."""
    check_journal(books)
    check_trial_balance(books)
    check_rollforward(books)
    check_waterfall(books)
    check_rpo(books)
