"""A Hypothesis strategy for event histories: plausible often enough to reach deep statuses.

It keeps a shadow of each order (applying what it generates) only to choose quantities and ids
that are valid often enough; tests then check their properties on fresh orders or stores.
"""

from __future__ import annotations

import copy
from datetime import timedelta
from itertools import count
from typing import Any

from hypothesis import strategies as st

from ordertrail.domain.orders import EventRejected, Order, parse_event
from tests.conftest import NOW, T0

ORDER_IDS = ("SO-1", "SO-2", "SO-3")
# How often each kind of event is drawn once the order exists: the lifecycle path is favoured
# so that delivered, completed and returned orders are common.
KINDS = (
    ("order.confirmed", 2),
    ("order.amended", 1),
    ("order.cancelled", 1),
    ("line.allocated", 1),
    ("line.backordered", 1),
    ("shipment.dispatched", 5),
    ("shipment.delivered", 5),
    ("delivery.accepted", 3),
    ("return.received", 2),
    ("invoice.issued", 1),
    ("credit_note.issued", 1),
    ("hold.placed", 1),
    ("hold.released", 1),
    ("dispute.opened", 1),
    ("dispute.closed", 1),
    ("order.placed", 1),
    ("schema.invalid", 1),
)
WEIGHTED_KINDS = tuple(kind for kind, weight in KINDS for _ in range(weight))


def _envelope(event_type: str, payload: dict[str, Any], *, ids: Any, order_id: str, minutes: int):
    return {
        "event_id": f"e{next(ids):05d}",
        "type": event_type,
        "schema_version": 2 if event_type == "order.placed" else 1,
        "tenant_id": "acme",
        "source": "oms",
        "occurred_at": (T0 + timedelta(minutes=minutes)).isoformat(),
        "order_id": order_id,
        "payload": payload,
    }


def _line_quantities(draw, order: Order | None, *, field: str | None, most: int = 3):
    """Line quantities that fit `field`'s headroom usually, and any small number sometimes."""
    line_ids = sorted(order.lines) if order else ["1"]
    chosen = draw(st.lists(st.sampled_from([*line_ids, "9"]), min_size=1, max_size=2, unique=True))
    result = []
    for line_id in chosen:
        line = order.lines.get(line_id) if order else None
        room = 0
        if line is not None and field is not None:
            room = {
                "unshipped": line.unshipped,
                "unallocated": line.active - line.allocated,
                "undelivered": line.delivered - line.returned,
                "unaccepted": line.delivered - line.accepted,
            }[field]
        if room > 0 and draw(st.integers(0, 4)):
            quantity = draw(st.integers(1, room))
        else:
            quantity = draw(st.integers(1, most))
        result.append({"line_id": line_id, "quantity": quantity})
    return result


def _payload(draw, kind: str, order: Order | None, serial: int) -> dict[str, Any]:  # noqa: PLR0911, PLR0912
    if kind == "order.placed":
        n = draw(st.integers(1, 3))
        lines = [
            {
                "line_id": str(i + 1),
                "sku": f"SKU{i + 1}",
                "quantity": draw(st.integers(1, 3)),
                "unit_price_minor": draw(st.integers(0, 5000)),
            }
            for i in range(n)
        ]
        if draw(st.integers(0, 15)) == 0:
            lines.append(dict(lines[0]))  # duplicate line id
        return {"customer_id": "C1", "currency": "USD", "lines": lines}
    if kind == "order.confirmed":
        return {}
    if kind == "order.amended":
        line_ids = sorted(order.lines) if order else ["1"]
        if draw(st.integers(0, 3)) == 0:
            new = {"line_id": f"n{serial}", "quantity": draw(st.integers(1, 3))}
            if draw(st.integers(0, 5)):
                new |= {"sku": "NEW", "unit_price_minor": 100}
            return {"reason": "r", "lines": [new]}
        line_id = draw(st.sampled_from(line_ids))
        return {"reason": "r", "lines": [{"line_id": line_id, "quantity": draw(st.integers(1, 4))}]}
    if kind == "order.cancelled":
        if draw(st.booleans()):
            return {"reason": "r"}
        return {"reason": "r", "lines": _line_quantities(draw, order, field="unshipped", most=2)}
    if kind == "line.allocated":
        return {"lines": _line_quantities(draw, order, field="unallocated")}
    if kind == "line.backordered":
        return {"lines": _line_quantities(draw, order, field="unshipped")}
    if kind == "shipment.dispatched":
        shipment_id = draw(st.sampled_from([f"S{serial}", f"S{serial}", "S1"]))
        if order is not None and draw(st.integers(0, 2)):
            lines = [
                {"line_id": line_id, "quantity": line.unshipped}
                for line_id, line in sorted(order.lines.items())
                if line.unshipped
            ]
            if lines and draw(st.booleans()):
                lines = lines[: draw(st.integers(1, len(lines)))]
            if lines:
                return {
                    "shipment_id": shipment_id,
                    "carrier": "ups",
                    "tracking_number": "1Z",
                    "lines": lines,
                }
        return {
            "shipment_id": shipment_id,
            "carrier": "ups",
            "tracking_number": "1Z",
            "lines": _line_quantities(draw, order, field="unshipped"),
        }
    if kind == "shipment.delivered":
        known = sorted(order.shipments) if order else []
        shipment_id = draw(st.sampled_from(known)) if known and draw(st.integers(0, 5)) else "S0"
        if draw(st.integers(0, 3)):
            return {"shipment_id": shipment_id}
        lines = [{"line_id": "1", "quantity": draw(st.integers(1, 2))}]
        return {"shipment_id": shipment_id, "lines": lines}
    if kind == "delivery.accepted":
        if draw(st.booleans()):
            return {}
        return {"lines": _line_quantities(draw, order, field="unaccepted")}
    if kind == "return.received":
        return_id = f"R{serial}" if draw(st.integers(0, 5)) else "R-dup"
        held = (
            [
                {"line_id": line_id, "quantity": line.delivered - line.returned}
                for line_id, line in sorted(order.lines.items())
                if line.delivered > line.returned
            ]
            if order is not None
            else []
        )
        if held and draw(st.booleans()):
            return {"return_id": return_id, "lines": held}  # everything the customer holds
        return {"return_id": return_id, "lines": _line_quantities(draw, order, field="undelivered")}
    if kind == "invoice.issued":
        currency = "USD" if draw(st.integers(0, 5)) else "EUR"
        return {
            "invoice_id": f"I{serial % 4}",
            "amount_minor": draw(st.integers(0, 10_000)),
            "currency": currency,
        }
    if kind == "credit_note.issued":
        return {
            "credit_note_id": f"C{serial % 4}",
            "amount_minor": draw(st.integers(1, 10_000)),
            "currency": "USD",
            "reason": "r",
        }
    if kind in ("hold.placed", "hold.released"):
        hold_id = draw(st.sampled_from(["H1", "H2"]))
        return (
            {"hold_id": hold_id, "reason_code": "x"}
            if kind == "hold.placed"
            else {"hold_id": hold_id}
        )
    if kind == "dispute.opened":
        return {"dispute_id": draw(st.sampled_from(["D1", "D2"])), "reason_code": "x"}
    if kind == "dispute.closed":
        return {"dispute_id": draw(st.sampled_from(["D1", "D2"])), "outcome": "upheld"}
    raise AssertionError(kind)


def _shadow_apply(shadows: dict[str, Order], raw: dict[str, Any]) -> None:
    try:
        event = parse_event(raw, now=NOW)
        order = shadows.get(event.order_id)
        if order is None:
            shadows[event.order_id], _ = Order.place(event)
        else:
            order.apply(event)
    except EventRejected:
        pass


@st.composite
def histories(draw, *, steps_max: int = 40) -> list[dict[str, Any]]:
    """A list of raw envelopes for up to three orders, in arrival order."""
    order_ids = ORDER_IDS[: draw(st.integers(1, 3))]
    shadows: dict[str, Order] = {}
    ids = count(1)
    clock = 0
    raws: list[dict[str, Any]] = []
    for serial in range(draw(st.integers(1, steps_max))):
        if raws and draw(st.integers(0, 19)) == 0:
            # A resend: the same event again, or its id reused with another payload.
            previous = copy.deepcopy(draw(st.sampled_from(raws)))
            if draw(st.booleans()):
                previous["source"] = "wms"
            raws.append(previous)
            continue
        order_id = draw(st.sampled_from(order_ids))
        order = shadows.get(order_id)
        kind = "order.placed" if order is None and draw(st.integers(0, 5)) else None
        kind = kind or draw(st.sampled_from(WEIGHTED_KINDS))
        clock += draw(st.integers(0, 30))
        late = draw(st.integers(0, 4)) == 0
        minutes = clock - draw(st.integers(1, 90)) if late else clock
        if kind == "schema.invalid":
            raw = _envelope(
                "shipment.dispatched", {"lines": []}, ids=ids, order_id=order_id, minutes=minutes
            )
        else:
            payload = _payload(draw, kind, order, serial)
            raw = _envelope(kind, payload, ids=ids, order_id=order_id, minutes=minutes)
        raws.append(raw)
        _shadow_apply(shadows, raw)
    return raws
