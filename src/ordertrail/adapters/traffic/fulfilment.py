"""The second half of an order's story: parcels, invoices, deliveries and after-sales."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from ordertrail.adapters.traffic import catalog
from ordertrail.adapters.traffic.story import (
    DAY_S,
    DISPUTE_CREDIT_SHARE,
    DISPUTE_OUTCOME_WEIGHTS,
    HOUR_S,
    PARCELS_COUNT_WEIGHTS,
    Story,
    after,
    chance,
    iso,
    pick,
    quantities,
)


def _parcels(rng: random.Random, units: dict[str, int]) -> list[dict[str, int]]:
    """Split a wave's units into 1-3 parcels of contiguous units (lines may span parcels)."""
    flat = [line_id for line_id, quantity in units.items() for _ in range(quantity)]
    count = min(len(flat), pick(rng, PARCELS_COUNT_WEIGHTS))
    cuts = sorted(rng.sample(range(1, len(flat)), count - 1)) if count > 1 else []
    parcels = []
    for start, end in zip([0, *cuts], [*cuts, len(flat)], strict=True):
        parcel: dict[str, int] = {}
        for line_id in flat[start:end]:
            parcel[line_id] = parcel.get(line_id, 0) + 1
        parcels.append(parcel)
    return parcels


def ship(
    rng: random.Random, story: Story, *, waves: list[tuple[datetime, dict[str, int]]]
) -> datetime | None:
    """Dispatch, invoice and deliver every wave; return when the last unit was delivered."""
    number = 0
    last_delivery: datetime | None = None
    for ready_at, units in waves:
        if not any(units.values()):
            continue
        at = ready_at
        for parcel in _parcels(rng, {i: q for i, q in units.items() if q}):
            number += 1
            at = after(rng, at, low_s=2 * HOUR_S, high_s=2 * DAY_S)
            delivered = _parcel(rng, story, parcel=parcel, number=number, at=at)
            last_delivery = delivered if last_delivery is None else max(last_delivery, delivered)
    return last_delivery


def _parcel(
    rng: random.Random, story: Story, *, parcel: dict[str, int], number: int, at: datetime
) -> datetime:
    carrier = rng.choices(catalog.CARRIERS, weights=[c.share for c in catalog.CARRIERS])[0]
    service, transit_min, transit_max = rng.choice(carrier.services)
    shipment_id = f"SH-{story.number}-{number}"
    transit_s = rng.randint(transit_min, transit_max) * DAY_S + rng.randint(-4, 6) * HOUR_S
    delivered_at = at + timedelta(seconds=max(6 * HOUR_S, transit_s))
    dispatch = {
        "shipment_id": shipment_id,
        "carrier": carrier.name,
        "tracking_number": carrier.tracking_number(rng),
        "service_level": service,
        "estimated_delivery_at": iso(at + timedelta(days=transit_max)),
        "lines": quantities(parcel),
    }
    story.add(at, "shipment.dispatched", "wms", dispatch)
    _invoice(rng, story, parcel=parcel, number=number, at=at)
    source = f"carrier:{carrier.name}"
    first_line, first_quantity = next(iter(parcel.items()))
    if first_quantity > 1 and chance(rng, "split_delivery"):
        part = {"shipment_id": shipment_id, "lines": quantities({first_line: first_quantity // 2})}
        part["proof_of_delivery"] = _proof(rng, at=delivered_at)
        story.add(delivered_at, "shipment.delivered", source, part)
        delivered_at = after(rng, delivered_at, low_s=DAY_S, high_s=2 * DAY_S)
    rest = {"shipment_id": shipment_id, "proof_of_delivery": _proof(rng, at=delivered_at)}
    story.add(delivered_at, "shipment.delivered", source, rest)
    return delivered_at


def _proof(rng: random.Random, *, at: datetime) -> dict[str, str]:
    return {
        "signed_by": rng.choice(catalog.SIGNERS),
        "delivered_at": iso(at),
        "location": rng.choice(catalog.LOCATIONS),
    }


def _billed(story: Story, units: dict[str, int]) -> list[dict[str, Any]]:
    return [
        {"line_id": i, "quantity": q, "amount_minor": q * story.lines[i].price_minor}
        for i, q in units.items()
        if q > 0
    ]


def _invoice(
    rng: random.Random, story: Story, *, parcel: dict[str, int], number: int, at: datetime
) -> None:
    """Billing invoices each parcel a few hours after it leaves (always before it arrives)."""
    lines = _billed(story, parcel)
    issued = after(rng, at, low_s=1800, high_s=5 * HOUR_S)
    invoice = {
        "invoice_id": f"INV-{story.number}-{number}",
        "amount_minor": sum(line["amount_minor"] for line in lines),
        "currency": story.currency,
        "lines": lines,
        "due_at": iso(issued + timedelta(days=30)),
    }
    story.add(issued, "invoice.issued", "billing", invoice)


def after_sales(rng: random.Random, story: Story, *, at: datetime) -> None:
    """Acceptance, returns and disputes: all after every unit was delivered and stock settled."""
    if chance(rng, "accept"):
        accepted = after(rng, at, low_s=2 * HOUR_S, high_s=4 * DAY_S)
        story.add(
            accepted, "delivery.accepted", "portal", {"accepted_by": rng.choice(catalog.SIGNERS)}
        )
    if chance(rng, "return"):
        _return(rng, story, at=at)
    elif chance(rng, "dispute"):
        _dispute(rng, story, at=at)


def _return(rng: random.Random, story: Story, *, at: datetime) -> None:
    active = {i: line.active for i, line in story.lines.items() if line.active}
    if chance(rng, "return_all"):
        units = active
    else:
        line_id = rng.choice(list(active))
        units = {line_id: rng.randint(1, active[line_id])}
    reason, condition = rng.choice(catalog.RETURN_REASONS)
    return_id = f"RMA-{story.number}-1"
    received = after(rng, at, low_s=2 * DAY_S, high_s=12 * DAY_S)
    payload = {
        "return_id": return_id,
        "lines": quantities(units),
        "reason": reason,
        "condition": condition,
    }
    story.add(received, "return.received", "wms", payload)
    lines = _billed(story, units)
    credit = {
        "credit_note_id": f"CN-{story.number}-1",
        "amount_minor": sum(line["amount_minor"] for line in lines),
        "currency": story.currency,
        "reason": f"refund for return {return_id}",
        "lines": lines,
    }
    story.add(
        after(rng, received, low_s=HOUR_S, high_s=2 * DAY_S),
        "credit_note.issued",
        "billing",
        credit,
    )


def _dispute(rng: random.Random, story: Story, *, at: datetime) -> None:
    line_id = rng.choice([i for i, line in story.lines.items() if line.active])
    dispute_id = f"DSP-{story.number}-1"
    opened = after(rng, at, low_s=DAY_S, high_s=7 * DAY_S)
    reason = rng.choice(catalog.DISPUTE_REASONS)
    payload = {"dispute_id": dispute_id, "reason_code": reason, "lines": [line_id]}
    story.add(opened, "dispute.opened", "service-desk", payload)
    closed = after(rng, opened, low_s=DAY_S, high_s=10 * DAY_S)
    outcome = pick(rng, DISPUTE_OUTCOME_WEIGHTS)
    story.add(
        closed, "dispute.closed", "service-desk", {"dispute_id": dispute_id, "outcome": outcome}
    )
    if outcome != "upheld":
        return
    line = story.lines[line_id]
    amount = max(1, int(line.active * line.price_minor * DISPUTE_CREDIT_SHARE))
    credit = {
        "credit_note_id": f"CN-{story.number}-1",
        "amount_minor": amount,
        "currency": story.currency,
        "reason": f"goodwill credit for dispute {dispute_id} ({reason})",
    }
    story.add(
        after(rng, closed, low_s=HOUR_S, high_s=DAY_S), "credit_note.issued", "billing", credit
    )
