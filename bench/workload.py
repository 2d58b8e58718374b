"""A deterministic stream of valid order events, shaped like a day of real traffic.

Each order follows a plausible lifecycle (placed with 1-4 lines, confirmed, sometimes backordered
and allocated, shipped in one or two parcels, delivered, invoiced, often accepted, now and then
held, cancelled or partly returned and credited). Orders start a quarter of an hour apart and their
events spread over days, so a time-ordered stream interleaves many orders, as ingest sees it in
production. The same seed always gives the same events, byte for byte, and a shorter run ingests
the beginning of the same stream.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

TENANT_ID = "bench"
START_AT = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
# One order starts every quarter of an hour and lives 3-4 days, so about 340 are open at any time
# and a batch of 500 events touches a few hundred of them, whatever the length of the run.
ORDER_SPACING_S = 900
CURRENCIES = ("USD", "EUR", "GBP")
SKUS = tuple(f"SKU-{n:04d}" for n in range(1, 400))
# Some producers still send order.placed v1 (decimal prices); ingest upcasts those.
PLACED_V1_SHARE = 0.05


@dataclass(frozen=True, slots=True)
class Workload:
    """The events in the order ingest receives them, and a clock reading after the last one."""

    events: list[dict[str, Any]]
    now: datetime

    def mix(self) -> dict[str, int]:
        return dict(Counter(event["type"] for event in self.events).most_common())


def generate(*, events_count: int, seed: int, prefix: str = "") -> Workload:
    """Return the first `events_count` events, by occurrence time, of a seeded order stream."""
    rng = random.Random(seed)
    pending: list[tuple[datetime, int, int, dict[str, Any]]] = []
    chosen: list[tuple[datetime, dict[str, Any]]] = []
    for number in itertools.count():
        # Order `number` starts no earlier than this, and every later order later still: each
        # pending event before it is final in the stream's time order.
        starts_at = START_AT + timedelta(seconds=number * ORDER_SPACING_S)
        while pending and pending[0][0] < starts_at and len(chosen) < events_count:
            at, _number, _step, event = heapq.heappop(pending)
            chosen.append((at, event))
        if len(chosen) == events_count:
            break
        placed_at = starts_at + timedelta(seconds=int(rng.random() * ORDER_SPACING_S))
        order_id = f"{prefix}SO-{number:07d}"
        for step, (at, event) in enumerate(_lifecycle(rng, order_id=order_id, at=placed_at)):
            heapq.heappush(pending, (at, number, step, event))
    for position, (_at, event) in enumerate(chosen):
        event["event_id"] = f"{prefix}evt-{seed}-{position:08d}"
    return Workload(
        events=[event for _at, event in chosen], now=chosen[-1][0] + timedelta(minutes=1)
    )


def _lifecycle(
    rng: random.Random, *, order_id: str, at: datetime
) -> list[tuple[datetime, dict[str, Any]]]:
    """One order's events, each with its occurrence time, in lifecycle order."""
    out: list[tuple[datetime, dict[str, Any]]] = []

    def emit(event_type: str, payload: dict[str, Any], *, source: str, after_s: int) -> None:
        nonlocal at
        at += timedelta(seconds=after_s)
        out.append((at, _envelope(event_type, payload, order_id=order_id, source=source, at=at)))

    currency = rng.choice(CURRENCIES)
    lines = [
        (str(n), rng.choice(SKUS), rng.randint(1, 5), rng.randint(100, 50_000))
        for n in range(1, rng.randint(1, 4) + 1)
    ]
    emit("order.placed", _placed(rng, lines, currency=currency), source="oms", after_s=0)
    emit("order.confirmed", {"confirmed_by": "sales-desk"}, source="oms", after_s=_minutes(rng, 5))
    if rng.random() < 0.05:
        emit("order.cancelled", {"reason": "customer changed mind"}, source="oms", after_s=600)
        return out
    held = rng.random() < 0.05
    if held:
        payload: dict[str, Any] = {"hold_id": f"H-{order_id}", "reason_code": "credit-check"}
        emit("hold.placed", payload, source="billing", after_s=_minutes(rng, 10))
    if rng.random() < 0.10:
        backordered = [{"line_id": lines[0][0], "quantity": 1}]
        emit("line.backordered", {"lines": backordered}, source="wms", after_s=_minutes(rng, 30))
    allocation = [{"line_id": line_id, "quantity": qty} for line_id, _, qty, _ in lines]
    payload = {"lines": allocation, "warehouse_id": "WH-1"}
    emit("line.allocated", payload, source="wms", after_s=_minutes(rng, 120))
    if held:
        emit("hold.released", {"hold_id": f"H-{order_id}"}, source="billing", after_s=1800)
    # Most orders go out in one parcel; some in two, split by line.
    split = len(lines) > 1 and rng.random() < 0.25
    parcels = [lines[:1], lines[1:]] if split else [lines]
    shipments = [f"{order_id}-P{n}" for n in range(1, len(parcels) + 1)]
    for shipment_id, parcel in zip(shipments, parcels, strict=True):
        payload = {
            "shipment_id": shipment_id,
            "carrier": rng.choice(("ups", "dhl", "fedex")),
            "tracking_number": f"1Z{rng.randrange(10**12):012d}",
            "lines": [{"line_id": line_id, "quantity": qty} for line_id, _, qty, _ in parcel],
            "service_level": "ground",
        }
        emit("shipment.dispatched", payload, source="wms", after_s=_minutes(rng, 600))
    amount_minor = sum(qty * price for _, _, qty, price in lines)
    invoice = {"invoice_id": f"INV-{order_id}", "amount_minor": amount_minor, "currency": currency}
    emit("invoice.issued", invoice, source="billing", after_s=_minutes(rng, 60))
    for shipment_id in shipments:
        proof = {"signed_by": "J. Doe", "location": "front door"}
        payload = {"shipment_id": shipment_id, "proof_of_delivery": proof}
        emit("shipment.delivered", payload, source="carrier:ups", after_s=_minutes(rng, 2880))
    if rng.random() < 0.6:
        emit("delivery.accepted", {"accepted_by": "customer"}, source="oms", after_s=86_400)
    if rng.random() < 0.08:
        line_id, _, _, price = lines[0]
        returned = {"return_id": f"R-{order_id}", "lines": [{"line_id": line_id, "quantity": 1}]}
        emit("return.received", returned, source="wms", after_s=_minutes(rng, 10_000))
        credit = {
            "credit_note_id": f"CN-{order_id}",
            "amount_minor": price,
            "currency": currency,
            "reason": "returned goods",
            "invoice_id": f"INV-{order_id}",
        }
        emit("credit_note.issued", credit, source="billing", after_s=_minutes(rng, 600))
    return out


def _placed(
    rng: random.Random, lines: list[tuple[str, str, int, int]], *, currency: str
) -> dict[str, Any]:
    customer_id = f"CUST-{rng.randint(1, 5000):05d}"
    if rng.random() < PLACED_V1_SHARE:
        # v1 carries decimal strings; every listed currency has two decimals.
        v1_lines = [
            {"line_id": i, "sku": s, "quantity": q, "unit_price": f"{p // 100}.{p % 100:02d}"}
            for i, s, q, p in lines
        ]
        return {"customer_id": customer_id, "currency": currency, "lines": v1_lines, "_v": 1}
    v2_lines = [
        {"line_id": i, "sku": s, "quantity": q, "unit_price_minor": p} for i, s, q, p in lines
    ]
    return {"customer_id": customer_id, "currency": currency, "lines": v2_lines}


def _minutes(rng: random.Random, most: int) -> int:
    """A delay of 1 to `most` minutes, in seconds."""
    return 60 * rng.randint(1, most)


def _envelope(
    event_type: str, payload: dict[str, Any], *, order_id: str, source: str, at: datetime
) -> dict[str, Any]:
    version = payload.pop("_v", 2 if event_type == "order.placed" else 1)
    return {
        "event_id": "",  # numbered once the stream is in time order
        "type": event_type,
        "schema_version": version,
        "tenant_id": TENANT_ID,
        "source": source,
        "occurred_at": at.isoformat().replace("+00:00", "Z"),
        "order_id": order_id,
        "payload": payload,
    }
