"""The first half of an order's story: placement, holds, confirmation, amendments, stock."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from ordertrail.adapters.traffic import catalog
from ordertrail.adapters.traffic.fulfilment import after_sales, ship
from ordertrail.adapters.traffic.story import (
    DAY_S,
    HOUR_S,
    LINES_COUNT_WEIGHTS,
    QUANTITY_WEIGHTS,
    WAREHOUSES,
    PlannedLine,
    Step,
    Story,
    after,
    chance,
    iso,
    pick,
    quantities,
)


def order_story(
    rng: random.Random, *, order_id: str, number: int, customer_id: str, placed_at: datetime
) -> Story:
    """Tell one order's story from placement to after-sales, as timed steps."""
    currency, _share, rate = rng.choices(
        catalog.CURRENCIES, weights=[c[1] for c in catalog.CURRENCIES]
    )[0]
    story = Story(order_id=order_id, number=number, currency=currency)
    _place(rng, story, customer_id=customer_id, at=placed_at, rate=rate)
    if chance(rng, "hold"):
        _hold(rng, story, at=placed_at)
    at = placed_at
    if not chance(rng, "unconfirmed"):
        at = after(rng, at, low_s=300, high_s=4 * HOUR_S)
        story.add(at, "order.confirmed", "oms", {"confirmed_by": "order desk"})
    if chance(rng, "cancel_whole"):
        reason = rng.choice(catalog.CANCEL_REASONS)
        story.add(
            after(rng, at, low_s=HOUR_S, high_s=2 * DAY_S),
            "order.cancelled",
            "oms",
            {"reason": reason},
        )
        return story
    if chance(rng, "amend"):
        at = _amend(rng, story, at=at, rate=rate)
    if chance(rng, "cancel_part"):
        at = _cancel_part(rng, story, at=at)
    waves, settled_at = _stock(rng, story, at=after(rng, at, low_s=600, high_s=8 * HOUR_S))
    delivered_at = ship(rng, story, waves=waves)
    if delivered_at is not None:
        after_sales(rng, story, at=max(delivered_at, settled_at))
    return story


def _place(
    rng: random.Random, story: Story, *, customer_id: str, at: datetime, rate: float
) -> None:
    products = rng.sample(catalog.PRODUCTS, pick(rng, LINES_COUNT_WEIGHTS))
    b2b = chance(rng, "b2b")
    for index, (sku, description, usd_cents) in enumerate(products, start=1):
        quantity = rng.randint(10, 48) if b2b else pick(rng, QUANTITY_WEIGHTS)
        price = catalog.price_in(usd_cents=usd_cents, currency=story.currency, rate=rate)
        story.lines[str(index)] = PlannedLine(sku, description, price, quantity, quantity)
    if chance(rng, "legacy_v1"):
        story.steps.append(
            Step(at, "order.placed", "erp:legacy", _placed_v1(story, customer_id), 1)
        )
        return
    story.add(
        at,
        "order.placed",
        "oms",
        {
            "customer_id": customer_id,
            "currency": story.currency,
            "shipping_terms": "fob_shipping_point"
            if chance(rng, "fob_shipping_point")
            else "fob_destination",
            "lines": [
                {
                    "line_id": line_id,
                    "sku": line.sku,
                    "quantity": line.active,
                    "unit_price_minor": line.price_minor,
                    "description": line.description,
                }
                for line_id, line in story.lines.items()
            ],
        },
    )


def _placed_v1(story: Story, customer_id: str) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "currency": story.currency,
        "lines": [
            {
                "line_id": line_id,
                "sku": line.sku,
                "quantity": line.active,
                "unit_price": catalog.decimal_text(
                    amount_minor=line.price_minor, currency=story.currency
                ),
            }
            for line_id, line in story.lines.items()
        ],
    }


def _hold(rng: random.Random, story: Story, *, at: datetime) -> None:
    hold_id = f"HOLD-{story.number}-1"
    placed = after(rng, at, low_s=60, high_s=1800)
    reason = rng.choice(catalog.HOLD_REASONS)
    story.add(placed, "hold.placed", "billing", {"hold_id": hold_id, "reason_code": reason})
    if chance(rng, "hold_released"):
        released = after(rng, placed, low_s=2 * HOUR_S, high_s=3 * DAY_S)
        note = "cleared by credit control"
        story.add(released, "hold.released", "billing", {"hold_id": hold_id, "note": note})


def _amend(rng: random.Random, story: Story, *, at: datetime, rate: float) -> datetime:
    at = after(rng, at, low_s=600, high_s=DAY_S)
    in_order = {line.sku for line in story.lines.values()}
    spare = [p for p in catalog.PRODUCTS if p[0] not in in_order]
    if spare and chance(rng, "amend_adds_line"):
        sku, description, usd_cents = rng.choice(spare)
        line_id = str(len(story.lines) + 1)
        price = catalog.price_in(usd_cents=usd_cents, currency=story.currency, rate=rate)
        quantity = pick(rng, QUANTITY_WEIGHTS)
        story.lines[line_id] = PlannedLine(sku, description, price, quantity, quantity)
        amended = {"line_id": line_id, "sku": sku, "quantity": quantity, "unit_price_minor": price}
        reason = "customer added an item"
    else:
        line_id = rng.choice(list(story.lines))
        line = story.lines[line_id]
        quantity = max(1, line.active + rng.choice((-2, -1, 1, 2, 3)))
        if quantity == line.active:
            quantity += 1
        line.active = quantity
        line.ordered_max = max(line.ordered_max, quantity)
        amended = {"line_id": line_id, "quantity": quantity}
        reason = "customer changed quantity"
    story.add(at, "order.amended", "oms", {"reason": reason, "lines": [amended]})
    return at


def _cancel_part(rng: random.Random, story: Story, *, at: datetime) -> datetime:
    """Cancel some units of one line, always leaving something on the order."""
    # Part of a line with units to spare, else (every line has one unit) a whole line but the
    # first; a one-line, one-unit order has nothing to cancel in part.
    candidates = [i for i, line in story.lines.items() if line.active > 1] or (
        list(story.lines)[1:]
    )
    if not candidates:
        return at
    line_id = rng.choice(candidates)
    line = story.lines[line_id]
    quantity = rng.randint(1, line.active - 1) if line.active > 1 else line.active
    line.active -= quantity
    at = after(rng, at, low_s=600, high_s=DAY_S)
    payload = {"reason": "customer request", "lines": [{"line_id": line_id, "quantity": quantity}]}
    story.add(at, "order.cancelled", "oms", payload)
    return at


def _stock(
    rng: random.Random, story: Story, *, at: datetime
) -> tuple[list[tuple[datetime, dict[str, int]]], datetime]:
    """Allocate stock, backordering some; return the shipping waves and when stock settled."""
    active = {line_id: line.active for line_id, line in story.lines.items() if line.active}
    backordered: dict[str, int] = {}
    if chance(rng, "backorder"):
        line_id = rng.choice(list(active))
        backordered[line_id] = rng.randint(1, active[line_id])
    available = {i: q - backordered.get(i, 0) for i, q in active.items()}
    warehouse = rng.choice(WAREHOUSES)
    if any(available.values()):
        allocated = {"lines": quantities(available), "warehouse_id": warehouse}
        story.add(at, "line.allocated", "wms", allocated)
    waves = [(at, available)]
    if not backordered:
        return waves, at
    waiting = after(rng, at, low_s=30, high_s=300)
    expected = iso(waiting + timedelta(days=rng.randint(3, 10)))
    payload = {"lines": quantities(backordered), "expected_at": expected}
    story.add(waiting, "line.backordered", "wms", payload)
    settled = after(rng, waiting, low_s=DAY_S, high_s=6 * DAY_S)
    if chance(rng, "backorder_cancelled"):
        for line_id, quantity in backordered.items():
            story.lines[line_id].active -= quantity
        reason = "backordered units cancelled at the customer's request"
        payload = {"reason": reason, "lines": quantities(backordered)}
        story.add(settled, "order.cancelled", "oms", payload)
        return waves, settled
    story.add(
        settled,
        "line.allocated",
        "wms",
        {"lines": quantities(backordered), "warehouse_id": warehouse},
    )
    return [*waves, (settled, backordered)], settled
