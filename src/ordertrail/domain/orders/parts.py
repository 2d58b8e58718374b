"""The parts of an order: lines with their fulfilment quantities, shipments, and change records."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ordertrail.domain.orders.errors import IllegalTransition, InvariantViolation
from ordertrail.domain.orders.status import OrderStatus, QuantityTotals

QUANTITY_FIELDS = (
    "ordered",
    "allocated",
    "backordered",
    "shipped",
    "delivered",
    "accepted",
    "returned",
    "cancelled",
)


@dataclass(slots=True)
class Line:
    """One SKU on the order and how many of its units are in each fulfilment state.

    `ordered`, `shipped`, `delivered`, `accepted`, `returned`, `cancelled` and `allocated` are
    cumulative counters; `backordered` is a gauge (units waiting for stock now), set by the latest
    stock fact by `occurred_at` so a late stock fact cannot overwrite a newer one.
    """

    line_id: str
    sku: str
    unit_price_minor: int
    ordered: int
    allocated: int = 0
    backordered: int = 0
    shipped: int = 0
    delivered: int = 0
    accepted: int = 0
    returned: int = 0
    cancelled: int = 0
    stock_as_of: datetime | None = None

    @property
    def active(self) -> int:
        return self.ordered - self.cancelled

    @property
    def unshipped(self) -> int:
        return self.active - self.shipped

    def quantities(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in QUANTITY_FIELDS}

    def check_invariants(self) -> None:
        rules = (
            (0 <= self.cancelled <= self.ordered, "cancelled within ordered"),
            (0 <= self.shipped <= self.active, "shipped within active"),
            (0 <= self.delivered <= self.shipped, "delivered within shipped"),
            (0 <= self.accepted <= self.delivered, "accepted within delivered"),
            (0 <= self.returned <= self.delivered, "returned within delivered"),
            (0 <= self.allocated <= self.active, "allocated within active"),
            (0 <= self.backordered <= self.unshipped, "backordered within unshipped"),
        )
        for holds, rule in rules:
            if not holds:
                raise InvariantViolation(f"line {self.line_id}: {rule} ({self.quantities()})")


@dataclass(slots=True)
class Shipment:
    shipment_id: str
    carrier: str
    tracking_number: str
    lines: dict[str, int]
    dispatched_at: datetime
    delivered: dict[str, int] = field(default_factory=dict)
    delivered_at: datetime | None = None
    estimated_delivery_at: datetime | None = None
    proof_of_delivery: dict[str, Any] | None = None

    def undelivered(self, line_id: str) -> int:
        return self.lines.get(line_id, 0) - self.delivered.get(line_id, 0)


@dataclass(frozen=True, slots=True)
class Change:
    """What applying one event did to the order."""

    from_status: OrderStatus | None
    to_status: OrderStatus
    late: bool
    # applied: quantities or flags changed; recorded: kept as a fact with no state change;
    # superseded: a late stock fact older than the line's newest one.
    effect: str

    @property
    def status_changed(self) -> bool:
        return self.from_status != self.to_status


@dataclass(slots=True)
class Plan:
    """A change computed but not yet made: replacement lines, flags and a commit step."""

    lines: dict[str, Line] = field(default_factory=dict)
    confirmed: bool | None = None
    commit: Callable[[], None] | None = None
    effect: str = "applied"


def refuse(code: str, message: str) -> IllegalTransition:
    return IllegalTransition(code, message)


def totals_of(lines: Iterable[Line]) -> QuantityTotals:
    active = backordered = shipped = delivered = accepted = returned = 0
    for line in lines:
        active += line.active
        backordered += line.backordered
        shipped += line.shipped
        delivered += line.delivered
        accepted += line.accepted
        returned += line.returned
    return QuantityTotals(
        active=active,
        backordered=backordered,
        shipped=shipped,
        delivered=delivered,
        accepted=accepted,
        returned=returned,
    )
