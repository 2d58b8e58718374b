"""The revenue handler with in-memory storage: what each milestone message does."""

from __future__ import annotations

from datetime import timedelta
from itertools import count
from typing import Any, cast

import orjson
import pytest

from ordertrail.adapters.clock import FixedClock
from ordertrail.adapters.memory import MemoryStorage
from ordertrail.domain.revenue import CombinationRule, NoTemplate
from ordertrail.services.messaging import ConsumerUnitOfWork, Message
from ordertrail.services.revenue import RevenueHandler
from ordertrail.services.revenue_ports import RevenueSettings, RevenueUnitOfWork
from tests.conftest import NOW, T0
from tests.revenue.support import TENANT, catalog_rows

_ids = count(1)


def line(line_id: str, sku: str, price: int, ordered: int, **counts: int) -> dict[str, Any]:
    return {
        "line_id": line_id,
        "sku": sku,
        "unit_price_minor": price,
        "ordered": ordered,
        "cancelled": 0,
        "shipped": 0,
        "delivered": 0,
        "accepted": 0,
        "returned": 0,
        **counts,
    }


def message(
    event_type: str,
    lines: list[dict[str, Any]],
    *,
    order_id: str = "SO-1",
    minutes: int = 0,
    payload: dict[str, Any] | None = None,
    package_id: str | None = None,
) -> Message:
    event_id = f"evt-{next(_ids):05d}"
    body = {
        "message_id": f"{TENANT}/{event_id}",
        "tenant_id": TENANT,
        "order_id": order_id,
        "event_id": event_id,
        "event_type": event_type,
        "occurred_at": (T0 + timedelta(minutes=minutes)).isoformat(),
        "payload": payload or {},
        "order": {
            "customer_id": "CUST-1",
            "currency": "USD",
            "shipping_terms": "fob_shipping_point",
            "package_id": package_id,
            "lines": lines,
        },
    }
    return Message(
        message_id=f"{TENANT}/{event_id}",
        tenant_id=TENANT,
        order_id=order_id,
        lane="critical",
        event_type=event_type,
        body=orjson.dumps(body).decode(),
        created_at=NOW,
    )


ORDER = [line("1", "WIDGET", 1500, 2), line("2", "SUPPORT", 12000, 1)]
SHIPPED = [line("1", "WIDGET", 1500, 2, shipped=2), line("2", "SUPPORT", 12000, 1)]


class Books:
    """Memory storage with the catalog loaded, and the handler to run messages through."""

    def __init__(self, *, catalog: bool = True, settings: RevenueSettings | None = None) -> None:
        self.storage = MemoryStorage()
        self.handler = RevenueHandler(clock=FixedClock(NOW))
        with self.uow() as uow:
            for row in catalog_rows() if catalog else []:
                uow.catalog.add(tenant_id=TENANT, body=row, created_at=NOW, created_by="t")
            if settings is not None:
                uow.catalog.put_settings(tenant_id=TENANT, settings=settings, now=NOW, actor="t")
            uow.commit()

    def uow(self) -> RevenueUnitOfWork:
        return cast(RevenueUnitOfWork, self.storage.uow_factory())

    def handle(self, *messages: Message) -> None:
        for sent in messages:
            with self.uow() as uow:
                self.handler.handle(message=sent, uow=cast(ConsumerUnitOfWork, uow))
                uow.commit()

    def kinds(self) -> list[str]:
        with self.uow() as uow:
            return sorted(e.kind for e in uow.ledger.entries(tenant_id=TENANT))

    def contract(self, contract_id: str = "ctr-SO-1") -> Any:
        with self.uow() as uow:
            return uow.revenue.load(tenant_id=TENANT, contract_id=contract_id)


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
