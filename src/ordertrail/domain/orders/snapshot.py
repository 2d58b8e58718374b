"""The order's state as plain JSON data, for the current-state projection and for replays."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from ordertrail.domain.orders.order import Order
from ordertrail.domain.orders.parts import QUANTITY_FIELDS, Line, Shipment
from ordertrail.domain.orders.status import OrderStatus


def _ts(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _dt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def order_to_state(order: Order) -> dict[str, Any]:
    """Return the order as JSON-ready data; `order_from_state` inverts it exactly.

    The data is a copy: it shares no mutable part with the order, so it stays as it was when
    the order changes later (a caller may keep it as the "before" of a change).
    """
    return {
        "customer_id": order.customer_id,
        "currency": order.currency,
        "shipping_terms": order.shipping_terms,
        "package_id": order.package_id,
        "placed_at": _ts(order.placed_at),
        "last_occurred_at": _ts(order.last_occurred_at),
        "confirmed": order.confirmed,
        "lines": [
            {
                "line_id": line.line_id,
                "sku": line.sku,
                "unit_price_minor": line.unit_price_minor,
                **line.quantities(),
                "stock_as_of": _ts(line.stock_as_of),
            }
            for line in order.lines.values()
        ],
        "shipments": [
            {
                "shipment_id": s.shipment_id,
                "carrier": s.carrier,
                "tracking_number": s.tracking_number,
                "lines": dict(s.lines),
                "delivered": dict(s.delivered),
                "dispatched_at": _ts(s.dispatched_at),
                "delivered_at": _ts(s.delivered_at),
                "estimated_delivery_at": _ts(s.estimated_delivery_at),
                "proof_of_delivery": copy.deepcopy(s.proof_of_delivery),
            }
            for s in order.shipments.values()
        ],
        "holds": dict(order.holds),
        "disputes": copy.deepcopy(order.disputes),
        "invoiced_minor": order.invoiced_minor,
        "credited_minor": order.credited_minor,
        "document_ids": sorted(order.document_ids),
    }


def order_from_state(
    *, tenant_id: str, order_id: str, status: str, version: int, state: dict[str, Any]
) -> Order:
    """Rebuild an order from its projection row, checking its invariants on the way in."""
    lines = {
        item["line_id"]: Line(
            line_id=item["line_id"],
            sku=item["sku"],
            unit_price_minor=item["unit_price_minor"],
            stock_as_of=_dt(item["stock_as_of"]),
            **{name: item[name] for name in QUANTITY_FIELDS},
        )
        for item in state["lines"]
    }
    shipments = {
        item["shipment_id"]: Shipment(
            shipment_id=item["shipment_id"],
            carrier=item["carrier"],
            tracking_number=item["tracking_number"],
            lines=dict(item["lines"]),
            delivered=dict(item["delivered"]),
            dispatched_at=datetime.fromisoformat(item["dispatched_at"]),
            delivered_at=_dt(item["delivered_at"]),
            estimated_delivery_at=_dt(item["estimated_delivery_at"]),
            proof_of_delivery=copy.deepcopy(item["proof_of_delivery"]),
        )
        for item in state["shipments"]
    }
    order = Order(
        tenant_id=tenant_id,
        order_id=order_id,
        customer_id=state["customer_id"],
        currency=state["currency"],
        shipping_terms=state["shipping_terms"],
        package_id=state["package_id"],
        placed_at=datetime.fromisoformat(state["placed_at"]),
        last_occurred_at=datetime.fromisoformat(state["last_occurred_at"]),
        lines=lines,
        status=OrderStatus(status),
        version=version,
        confirmed=state["confirmed"],
        shipments=shipments,
        holds=dict(state["holds"]),
        disputes=copy.deepcopy(state["disputes"]),
        invoiced_minor=state["invoiced_minor"],
        credited_minor=state["credited_minor"],
        document_ids=set(state["document_ids"]),
    )
    order.check_invariants()
    return order
