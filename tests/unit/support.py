"""Small helpers for domain tests: parse builder envelopes into events and apply them."""

from __future__ import annotations

from typing import Any

from ordertrail.domain.orders import Change, Order, OrderEvent, parse_event
from tests.builders import envelope, placed
from tests.conftest import NOW


def parsed(raw: dict[str, Any]) -> OrderEvent:
    """Parse a builder envelope as ingest would, with the suite's fixed "now"."""
    return parse_event(raw, now=NOW)


def event(event_type: str, payload: dict[str, Any], **kw: Any) -> OrderEvent:
    return parsed(envelope(event_type, payload, **kw))


def new_order(**kw: Any) -> Order:
    """A placed order; by default lines 1 (2 x WIDGET) and 2 (1 x GADGET) in USD."""
    order, _ = Order.place(parsed(placed(**kw)))
    return order


def apply_all(order: Order, *events: OrderEvent) -> list[Change]:
    return [order.apply(e) for e in events]


def lq(**lines: int) -> list[dict[str, Any]]:
    """Line quantities: lq(l1=2, l2=1) -> [{"line_id": "1", "quantity": 2}, ...]."""
    return [{"line_id": k.removeprefix("l"), "quantity": v} for k, v in lines.items()]


def confirm(**kw: Any) -> OrderEvent:
    return event("order.confirmed", {}, **kw)


def dispatch(shipment_id: str, lines: list[dict[str, Any]], **kw: Any) -> OrderEvent:
    payload = {
        "shipment_id": shipment_id,
        "carrier": "ups",
        "tracking_number": f"1Z{shipment_id}",
        "lines": lines,
    }
    return event("shipment.dispatched", payload, source="wms", **kw)


def deliver(shipment_id: str, lines: list[dict[str, Any]] | None = None, **kw: Any) -> OrderEvent:
    payload: dict[str, Any] = {"shipment_id": shipment_id}
    if lines is not None:
        payload["lines"] = lines
    return event("shipment.delivered", payload, source="carrier:ups", **kw)


def accept(lines: list[dict[str, Any]] | None = None, **kw: Any) -> OrderEvent:
    return event("delivery.accepted", {} if lines is None else {"lines": lines}, **kw)


def return_(return_id: str, lines: list[dict[str, Any]], **kw: Any) -> OrderEvent:
    return event("return.received", {"return_id": return_id, "lines": lines}, **kw)


def cancel(lines: list[dict[str, Any]] | None = None, **kw: Any) -> OrderEvent:
    payload: dict[str, Any] = {"reason": "customer asked"}
    if lines is not None:
        payload["lines"] = lines
    return event("order.cancelled", payload, **kw)


def amend(lines: list[dict[str, Any]], **kw: Any) -> OrderEvent:
    return event("order.amended", {"reason": "customer asked", "lines": lines}, **kw)


def allocate(lines: list[dict[str, Any]], **kw: Any) -> OrderEvent:
    return event("line.allocated", {"lines": lines}, source="wms", **kw)


def backorder(lines: list[dict[str, Any]], **kw: Any) -> OrderEvent:
    return event("line.backordered", {"lines": lines}, source="wms", **kw)


def invoice(
    invoice_id: str,
    amount_minor: int,
    currency: str = "USD",
    lines: list[dict[str, Any]] | None = None,
    **kw: Any,
) -> OrderEvent:
    payload: dict[str, Any] = {
        "invoice_id": invoice_id,
        "amount_minor": amount_minor,
        "currency": currency,
    }
    if lines is not None:
        payload["lines"] = lines
    return event("invoice.issued", payload, source="billing", **kw)


def credit(
    credit_note_id: str,
    amount_minor: int,
    currency: str = "USD",
    invoice_id: str | None = None,
    **kw: Any,
) -> OrderEvent:
    payload: dict[str, Any] = {
        "credit_note_id": credit_note_id,
        "amount_minor": amount_minor,
        "currency": currency,
        "reason": "goodwill",
    }
    if invoice_id is not None:
        payload["invoice_id"] = invoice_id
    return event("credit_note.issued", payload, source="billing", **kw)


def hold(hold_id: str, **kw: Any) -> OrderEvent:
    return event("hold.placed", {"hold_id": hold_id, "reason_code": "credit_check"}, **kw)


def release(hold_id: str, **kw: Any) -> OrderEvent:
    return event("hold.released", {"hold_id": hold_id}, **kw)


def open_dispute(dispute_id: str, lines: list[str] | None = None, **kw: Any) -> OrderEvent:
    payload: dict[str, Any] = {"dispute_id": dispute_id, "reason_code": "damaged"}
    if lines is not None:
        payload["lines"] = lines
    return event("dispute.opened", payload, source="service-desk", **kw)


def close_dispute(dispute_id: str, **kw: Any) -> OrderEvent:
    payload = {"dispute_id": dispute_id, "outcome": "rejected"}
    return event("dispute.closed", payload, source="service-desk", **kw)
