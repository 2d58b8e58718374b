"""Builders for valid events, so each test states only what it is about."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count
from typing import Any

from ordertrail.domain.orders import CURRENT_VERSION
from tests.conftest import T0

_ids = count(1)


def envelope(
    event_type: str,
    payload: dict[str, Any],
    *,
    order_id: str = "SO-1",
    tenant_id: str = "acme",
    source: str = "oms",
    event_id: str | None = None,
    schema_version: int | None = None,
    at: datetime | None = None,
    minutes: int = 0,
) -> dict[str, Any]:
    """A complete inbound envelope; `minutes` offsets occurred_at from T0."""
    occurred = (at or T0) + timedelta(minutes=minutes)
    return {
        "event_id": event_id or f"evt-{next(_ids):06d}",
        "type": event_type,
        "schema_version": schema_version or CURRENT_VERSION[event_type],
        "tenant_id": tenant_id,
        "source": source,
        "occurred_at": occurred.isoformat().replace("+00:00", "Z"),
        "order_id": order_id,
        "payload": payload,
    }


def placed(
    *,
    order_id: str = "SO-1",
    lines: list[tuple[str, str, int, int]] | None = None,
    currency: str = "USD",
    **kw: Any,
) -> dict[str, Any]:
    """order.placed with lines given as (line_id, sku, quantity, unit_price_minor)."""
    lines = lines or [("1", "WIDGET", 2, 1500), ("2", "GADGET", 1, 4000)]
    return envelope(
        "order.placed",
        {
            "customer_id": "CUST-1",
            "currency": currency,
            "lines": [
                {"line_id": line_id, "sku": s, "quantity": q, "unit_price_minor": p}
                for line_id, s, q, p in lines
            ],
        },
        order_id=order_id,
        **kw,
    )


def qty(**lines: int) -> list[dict[str, Any]]:
    """Line quantities from keyword arguments: qty(l1=2) -> [{"line_id": "1", "quantity": 2}]."""
    return [{"line_id": k.removeprefix("l"), "quantity": v} for k, v in lines.items()]


def dispatched(shipment_id: str, lines: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
    return envelope(
        "shipment.dispatched",
        {
            "shipment_id": shipment_id,
            "carrier": "ups",
            "tracking_number": f"1Z{shipment_id}",
            "lines": lines,
        },
        source="wms",
        **kw,
    )


def delivered(
    shipment_id: str, lines: list[dict[str, Any]] | None = None, **kw: Any
) -> dict[str, Any]:
    payload: dict[str, Any] = {"shipment_id": shipment_id}
    if lines is not None:
        payload["lines"] = lines
    return envelope("shipment.delivered", payload, source="carrier:ups", **kw)
