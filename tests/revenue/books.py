"""A revenue handler over in-memory storage, and milestone messages built by hand."""

from __future__ import annotations

from datetime import timedelta
from itertools import count
from typing import Any, cast

import orjson

from ordertrail.adapters.clock import FixedClock
from ordertrail.adapters.memory import MemoryStorage
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
