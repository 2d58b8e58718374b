"""The revenue handler with in-memory storage: what each milestone message does."""

from __future__ import annotations

from datetime import date

import pytest

from ordertrail.domain.revenue import CombinationRule, NoTemplate
from ordertrail.services.close import run_close
from ordertrail.services.revenue_ports import RevenueSettings
from tests.conftest import NOW
from tests.revenue.books import ORDER, SHIPPED, Books, line, message
from tests.revenue.support import TENANT


def test_confirmation_opens_the_contract_with_its_obligations_and_posts_nothing() -> None:
    books = Books()
    books.handle(message("order.placed", ORDER), message("order.confirmed", ORDER, minutes=1))
    stored = books.contract()
    assert [ob.obligation_id for ob in stored.state.obligations] == ["1/unit", "2/support"]
    assert books.kinds() == []


def test_a_shipment_without_confirmation_opens_the_contract_and_recognizes() -> None:
    books = Books()
    books.handle(message("order.placed", ORDER), message("shipment.dispatched", SHIPPED))
    assert books.contract() is not None
    assert books.kinds() == ["recognition"]


def test_the_same_message_again_posts_nothing_more() -> None:
    books = Books()
    shipped = message("shipment.dispatched", SHIPPED)
    books.handle(shipped, shipped)
    assert books.kinds() == ["recognition"]


def test_a_tenant_without_a_catalog_has_no_revenue_yet() -> None:
    books = Books(catalog=False)
    books.handle(message("order.confirmed", ORDER))
    assert books.contract() is None


def test_an_unknown_sku_fails_the_message() -> None:
    books = Books()
    with pytest.raises(NoTemplate):
        books.handle(message("order.confirmed", [line("1", "MYSTERY", 100, 1)]))


def test_orders_of_one_package_combine_into_one_contract() -> None:
    books = Books(settings=RevenueSettings(combination=CombinationRule(window_days=30)))
    books.handle(
        message("order.confirmed", [line("1", "WIDGET", 1500, 2)], package_id="P1"),
        message(
            "order.confirmed",
            [line("1", "SUPPORT", 12000, 1)],
            order_id="SO-2",
            package_id="P1",
            minutes=5,
        ),
    )
    stored = books.contract()
    assert stored.state.terms.order_ids == ("SO-1", "SO-2")
    assert [v.reason for v in stored.state.versions][-1].startswith("orders combined")
    with books.uow() as uow:
        assert uow.revenue.contract_of_order(tenant_id=TENANT, order_id="SO-2") == "ctr-SO-1"


def test_an_order_cancelled_before_anything_moved_cancels_the_contract() -> None:
    books = Books()
    books.handle(
        message("order.confirmed", ORDER),
        message("order.cancelled", ORDER, minutes=1, payload={"reason": "customer"}),
    )
    assert books.contract().status == "cancelled"
    assert books.kinds() == []


def test_an_amendment_is_a_new_version_with_its_treatment_recorded() -> None:
    books = Books()
    books.handle(
        message("order.confirmed", ORDER),
        message("shipment.dispatched", SHIPPED, minutes=1),
        message(
            "order.amended",
            [*SHIPPED, line("3", "WIDGET", 1500, 1)],
            minutes=2,
            payload={"reason": "one more"},
        ),
    )
    with books.uow() as uow:
        versions = uow.revenue.versions(tenant_id=TENANT, contract_id="ctr-SO-1")
    assert [v.version.version for v in versions] == [1, 2]
    assert versions[1].decision is not None
    assert versions[1].version.treatment == versions[1].decision.treatment


def test_a_credit_note_before_any_transfer_lowers_the_price_without_touching_revenue() -> None:
    books = Books()
    books.handle(
        message("order.confirmed", ORDER),
        message("invoice.issued", ORDER, minutes=1, payload={"amount_minor": 15000}),
        message("credit_note.issued", ORDER, minutes=2, payload={"amount_minor": 1000}),
    )
    assert books.kinds() == ["credit_note", "invoice"]
    state = books.contract().state
    assert sum(ob.allocated_minor for ob in state.obligations) == 15000 - 1000
    assert sum(ob.posted.revenue for ob in state.obligations) == 0


def test_a_fact_dated_in_a_closed_month_posts_on_the_first_open_day_keeping_its_date() -> None:
    books = Books()
    books.handle(message("order.confirmed", ORDER))
    run_close(uow_factory=books.uow, tenant_id=TENANT, period="2026-11", actor="t", now=lambda: NOW)
    books.handle(message("shipment.dispatched", SHIPPED, minutes=1))
    with books.uow() as uow:
        [late] = [e for e in uow.ledger.entries(tenant_id=TENANT) if e.kind == "recognition"]
    assert (late.occurred_on, late.posted_on) == (date(2026, 11, 2), date(2026, 12, 1))
    assert late.period == "2026-12"
