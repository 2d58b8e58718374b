"""One planner per event type: validate against the order, then describe the change as a Plan.

Planners never mutate the order; they return replacement lines and a commit step that `Order.apply`
runs only after the lifecycle table has accepted the resulting status.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from ordertrail.domain.orders import events as ev
from ordertrail.domain.orders.events import OrderEvent
from ordertrail.domain.orders.parts import Line, Plan, Shipment, refuse
from ordertrail.domain.orders.status import OrderStatus

if TYPE_CHECKING:
    from ordertrail.domain.orders.order import Order

AMENDABLE = frozenset(
    {
        OrderStatus.PENDING,
        OrderStatus.CONFIRMED,
        OrderStatus.BACKORDERED,
        OrderStatus.PARTIALLY_FULFILLED,
        OrderStatus.FULFILLED,
        OrderStatus.PARTIALLY_DELIVERED,
    }
)


def _cap_gauges(line: Line) -> Line:
    """Keep allocation and backorder within what is still active and unshipped."""
    line.allocated = min(line.allocated, line.active)
    line.backordered = min(line.backordered, line.unshipped)
    return line


def _sum_by_line(items: list[ev.LineQuantity], order: Order) -> dict[str, int]:
    wanted: dict[str, int] = {}
    for item in items:
        order.line(item.line_id)
        wanted[item.line_id] = wanted.get(item.line_id, 0) + item.quantity
    return wanted


# ---- one planner per event type -----------------------------------------------------------------


def _confirm(order: Order, event: OrderEvent) -> Plan:
    order._refuse_if_cancelled(event)
    return Plan(confirmed=True, effect="recorded" if order.confirmed else "applied")


def _amend(order: Order, event: OrderEvent) -> Plan:
    payload = event.payload
    assert isinstance(payload, ev.OrderAmended)
    if order.status not in AMENDABLE:
        raise refuse(
            "amendment_not_allowed",
            f"order {order.order_id} is {order.status}; amend a {order.status} order by placing "
            "a new one",
        )
    plan = Plan()
    for amended in payload.lines:
        if amended.line_id in plan.lines:
            raise refuse("duplicate_line", f"line {amended.line_id} appears twice")
        existing = order.lines.get(amended.line_id)
        if existing is None:
            if amended.sku is None or amended.unit_price_minor is None:
                raise refuse(
                    "new_line_incomplete",
                    f"new line {amended.line_id} needs a sku and a unit_price_minor",
                )
            plan.lines[amended.line_id] = Line(
                line_id=amended.line_id,
                sku=amended.sku,
                unit_price_minor=amended.unit_price_minor,
                ordered=amended.quantity,
            )
            continue
        if amended.sku is not None and amended.sku != existing.sku:
            raise refuse("sku_mismatch", f"line {amended.line_id} is sku {existing.sku}")
        if amended.quantity < existing.shipped + existing.cancelled:
            raise refuse(
                "quantity_below_shipped",
                f"line {amended.line_id} has {existing.shipped} shipped and "
                f"{existing.cancelled} cancelled; it cannot be amended to {amended.quantity}",
            )
        updated = replace(existing, ordered=amended.quantity)
        if amended.unit_price_minor is not None:
            updated.unit_price_minor = amended.unit_price_minor
        plan.lines[amended.line_id] = _cap_gauges(updated)
    return plan


def _cancel(order: Order, event: OrderEvent) -> Plan:
    payload = event.payload
    assert isinstance(payload, ev.OrderCancelled)
    order._refuse_if_cancelled(event)
    if payload.lines is None:
        wanted = {line_id: line.unshipped for line_id, line in order.lines.items()}
    else:
        wanted = _sum_by_line(payload.lines, order)
    if not any(wanted.values()):
        raise refuse("nothing_to_cancel", f"order {order.order_id} has no unshipped units")
    plan = Plan()
    for line_id, quantity in wanted.items():
        line = order.lines[line_id]
        if quantity > line.unshipped:
            raise refuse(
                "quantity_exceeds_unshipped",
                f"line {line_id} has {line.unshipped} unshipped units; cannot cancel {quantity}",
            )
        if quantity:
            plan.lines[line_id] = _cap_gauges(replace(line, cancelled=line.cancelled + quantity))
    return plan


def _is_stale(line: Line, occurred_at: datetime) -> bool:
    return line.stock_as_of is not None and occurred_at < line.stock_as_of


def _allocate(order: Order, event: OrderEvent) -> Plan:
    payload = event.payload
    assert isinstance(payload, ev.LineAllocated)
    order._refuse_if_cancelled(event)
    plan = Plan(effect="superseded")
    for line_id, quantity in _sum_by_line(payload.lines, order).items():
        line = order.lines[line_id]
        if _is_stale(line, event.occurred_at):
            continue
        if line.allocated + quantity > line.active:
            raise refuse(
                "quantity_exceeds_open",
                f"line {line_id} has {line.active - line.allocated} units left to allocate",
            )
        plan.lines[line_id] = replace(
            line,
            allocated=line.allocated + quantity,
            backordered=max(0, line.backordered - quantity),
            stock_as_of=event.occurred_at,
        )
        plan.effect = "applied"
    return plan


def _backorder(order: Order, event: OrderEvent) -> Plan:
    payload = event.payload
    assert isinstance(payload, ev.LineBackordered)
    order._refuse_if_cancelled(event)
    plan = Plan(effect="superseded")
    for line_id, quantity in _sum_by_line(payload.lines, order).items():
        line = order.lines[line_id]
        if _is_stale(line, event.occurred_at):
            continue
        if quantity > line.unshipped:
            raise refuse(
                "quantity_exceeds_unshipped",
                f"line {line_id} has {line.unshipped} unshipped units; cannot backorder {quantity}",
            )
        plan.lines[line_id] = replace(line, backordered=quantity, stock_as_of=event.occurred_at)
        plan.effect = "applied"
    return plan


def _dispatch(order: Order, event: OrderEvent) -> Plan:
    payload = event.payload
    assert isinstance(payload, ev.ShipmentDispatched)
    order._refuse_if_cancelled(event)
    if payload.shipment_id in order.shipments:
        raise refuse("duplicate_shipment", f"shipment {payload.shipment_id} already dispatched")
    wanted = _sum_by_line(payload.lines, order)
    plan = Plan()
    for line_id, quantity in wanted.items():
        line = order.lines[line_id]
        if quantity > line.unshipped:
            raise refuse(
                "quantity_exceeds_unshipped",
                f"line {line_id} has {line.unshipped} units left to ship; cannot ship {quantity}",
            )
        shipped = replace(line, shipped=line.shipped + quantity)
        if line.stock_as_of is None or event.occurred_at >= line.stock_as_of:
            shipped.stock_as_of = event.occurred_at
        plan.lines[line_id] = _cap_gauges(shipped)

    def commit() -> None:
        order.shipments[payload.shipment_id] = Shipment(
            shipment_id=payload.shipment_id,
            carrier=payload.carrier,
            tracking_number=payload.tracking_number,
            lines=wanted,
            dispatched_at=event.occurred_at,
            estimated_delivery_at=payload.estimated_delivery_at,
        )

    plan.commit = commit
    return plan


def _deliver(order: Order, event: OrderEvent) -> Plan:
    payload = event.payload
    assert isinstance(payload, ev.ShipmentDelivered)
    shipment = order.shipments.get(payload.shipment_id)
    if shipment is None:
        raise refuse(
            "unknown_shipment",
            f"shipment {payload.shipment_id} has not been dispatched on order {order.order_id}",
        )
    if payload.lines is None:
        wanted = {line_id: shipment.undelivered(line_id) for line_id in shipment.lines}
        wanted = {line_id: qty for line_id, qty in wanted.items() if qty}
    else:
        wanted = _sum_by_line(payload.lines, order)
    plan = Plan()
    for line_id, quantity in wanted.items():
        if quantity > shipment.undelivered(line_id):
            raise refuse(
                "quantity_exceeds_shipped",
                f"shipment {shipment.shipment_id} carries {shipment.undelivered(line_id)} "
                f"undelivered units of line {line_id}; cannot deliver {quantity}",
            )
        line = order.lines[line_id]
        plan.lines[line_id] = replace(line, delivered=line.delivered + quantity)
    if not wanted:
        plan.effect = "recorded"
    proof = payload.proof_of_delivery

    def commit() -> None:
        for line_id, quantity in wanted.items():
            shipment.delivered[line_id] = shipment.delivered.get(line_id, 0) + quantity
        if shipment.delivered_at is None or event.occurred_at > shipment.delivered_at:
            shipment.delivered_at = event.occurred_at
        if proof is not None:
            shipment.proof_of_delivery = proof.model_dump(mode="json", exclude_none=True)

    plan.commit = commit
    return plan


def _accept(order: Order, event: OrderEvent) -> Plan:
    payload = event.payload
    assert isinstance(payload, ev.DeliveryAccepted)
    if payload.lines is None:
        # "Everything delivered" means what the customer still holds: returned units are not
        # accepted by a blanket acceptance, though an explicit one may name them.
        wanted = {
            line_id: qty
            for line_id, line in order.lines.items()
            if (qty := line.delivered - line.returned - line.accepted) > 0
        }
    else:
        wanted = _sum_by_line(payload.lines, order)
    plan = Plan(effect="applied" if wanted else "recorded")
    for line_id, quantity in wanted.items():
        line = order.lines[line_id]
        if line.accepted + quantity > line.delivered:
            raise refuse(
                "quantity_exceeds_delivered",
                f"line {line_id} has {line.delivered - line.accepted} delivered units not yet "
                f"accepted; cannot accept {quantity}",
            )
        plan.lines[line_id] = replace(line, accepted=line.accepted + quantity)
    return plan


def _receive_return(order: Order, event: OrderEvent) -> Plan:
    payload = event.payload
    assert isinstance(payload, ev.ReturnReceived)
    order._new_document("return", payload.return_id)
    plan = Plan()
    for line_id, quantity in _sum_by_line(payload.lines, order).items():
        line = order.lines[line_id]
        if line.returned + quantity > line.delivered:
            raise refuse(
                "quantity_exceeds_delivered",
                f"line {line_id} has {line.delivered - line.returned} delivered units not yet "
                f"returned; cannot return {quantity}",
            )
        plan.lines[line_id] = replace(line, returned=line.returned + quantity)
    plan.commit = lambda: order.document_ids.add(f"return:{payload.return_id}")
    return plan


def _check_billed_lines(order: Order, lines: list[ev.BilledLine] | None) -> None:
    for billed in lines or ():
        order.line(billed.line_id)


def _invoice(order: Order, event: OrderEvent) -> Plan:
    payload = event.payload
    assert isinstance(payload, ev.InvoiceIssued)
    order._new_document("invoice", payload.invoice_id)
    if payload.currency != order.currency:
        raise refuse("currency_mismatch", f"order is in {order.currency}, not {payload.currency}")
    _check_billed_lines(order, payload.lines)

    def commit() -> None:
        order.document_ids.add(f"invoice:{payload.invoice_id}")
        order.invoiced_minor += payload.amount_minor

    return Plan(commit=commit)


def _credit(order: Order, event: OrderEvent) -> Plan:
    payload = event.payload
    assert isinstance(payload, ev.CreditNoteIssued)
    order._new_document("credit_note", payload.credit_note_id)
    if payload.currency != order.currency:
        raise refuse("currency_mismatch", f"order is in {order.currency}, not {payload.currency}")
    _check_billed_lines(order, payload.lines)
    if payload.invoice_id is not None and f"invoice:{payload.invoice_id}" not in order.document_ids:
        raise refuse(
            "unknown_invoice",
            f"credit note {payload.credit_note_id} names invoice {payload.invoice_id}, "
            f"which order {order.order_id} does not have",
        )
    if order.credited_minor + payload.amount_minor > order.invoiced_minor:
        raise refuse(
            "credit_exceeds_invoiced",
            f"credits would reach {order.credited_minor + payload.amount_minor} minor units, "
            f"more than the {order.invoiced_minor} invoiced",
        )

    def commit() -> None:
        order.document_ids.add(f"credit_note:{payload.credit_note_id}")
        order.credited_minor += payload.amount_minor

    return Plan(commit=commit)


def _place_hold(order: Order, event: OrderEvent) -> Plan:
    payload = event.payload
    assert isinstance(payload, ev.HoldPlaced)
    if payload.hold_id in order.holds:
        raise refuse("duplicate_hold", f"hold {payload.hold_id} is already in place")
    return Plan(commit=lambda: order.holds.__setitem__(payload.hold_id, payload.reason_code))


def _release_hold(order: Order, event: OrderEvent) -> Plan:
    payload = event.payload
    assert isinstance(payload, ev.HoldReleased)
    if payload.hold_id not in order.holds:
        raise refuse("unknown_hold", f"hold {payload.hold_id} is not in place")

    def commit() -> None:
        del order.holds[payload.hold_id]

    return Plan(commit=commit)


def _open_dispute(order: Order, event: OrderEvent) -> Plan:
    payload = event.payload
    assert isinstance(payload, ev.DisputeOpened)
    if payload.dispute_id in order.disputes:
        raise refuse("duplicate_dispute", f"dispute {payload.dispute_id} is already open")
    for line_id in payload.lines or ():
        order.line(line_id)
    record = {"reason_code": payload.reason_code, "lines": list(payload.lines or ())}
    return Plan(commit=lambda: order.disputes.__setitem__(payload.dispute_id, record))


def _close_dispute(order: Order, event: OrderEvent) -> Plan:
    payload = event.payload
    assert isinstance(payload, ev.DisputeClosed)
    if payload.dispute_id not in order.disputes:
        raise refuse("unknown_dispute", f"dispute {payload.dispute_id} is not open")

    def commit() -> None:
        del order.disputes[payload.dispute_id]

    return Plan(commit=commit)


# Event type -> planner. Every type in the schema registry but order.placed must appear here.
PLANNERS: dict[str, Callable[[Order, OrderEvent], Plan]] = {
    "order.confirmed": _confirm,
    "order.amended": _amend,
    "order.cancelled": _cancel,
    "line.allocated": _allocate,
    "line.backordered": _backorder,
    "shipment.dispatched": _dispatch,
    "shipment.delivered": _deliver,
    "delivery.accepted": _accept,
    "return.received": _receive_return,
    "invoice.issued": _invoice,
    "credit_note.issued": _credit,
    "hold.placed": _place_hold,
    "hold.released": _release_hold,
    "dispute.opened": _open_dispute,
    "dispute.closed": _close_dispute,
}

if set(PLANNERS) | {"order.placed"} != set(ev.CURRENT_VERSION):
    raise RuntimeError("every event type needs exactly one planner")
