"""The order aggregate: one `apply` that plans, checks against the lifecycle table, then commits.

Every change is computed as a plan first (new line values and a commit step), checked against the
lifecycle table, and only then committed, so a refused event leaves the order exactly as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ordertrail.domain.orders import events as ev
from ordertrail.domain.orders.errors import InvariantViolation
from ordertrail.domain.orders.events import OrderEvent
from ordertrail.domain.orders.parts import Change, Line, Shipment, refuse, totals_of
from ordertrail.domain.orders.planners import PLANNERS
from ordertrail.domain.orders.status import (
    LIFECYCLE,
    OrderStatus,
    QuantityTotals,
    derive_status,
    is_allowed,
)


@dataclass(slots=True)
class Order:
    tenant_id: str
    order_id: str
    customer_id: str
    currency: str
    shipping_terms: str
    package_id: str | None
    placed_at: datetime
    last_occurred_at: datetime
    lines: dict[str, Line]
    status: OrderStatus = OrderStatus.PENDING
    version: int = 1
    confirmed: bool = False
    shipments: dict[str, Shipment] = field(default_factory=dict)
    holds: dict[str, str] = field(default_factory=dict)
    disputes: dict[str, dict[str, Any]] = field(default_factory=dict)
    invoiced_minor: int = 0
    credited_minor: int = 0
    document_ids: set[str] = field(default_factory=set)

    # ---- creation and application -------------------------------------------------------------

    @classmethod
    def place(cls, event: OrderEvent) -> tuple[Order, Change]:
        """Create an order from its `order.placed` event."""
        payload = event.payload
        if not isinstance(payload, ev.OrderPlacedV2):
            raise refuse("unknown_order", f"order {event.order_id} has not been placed")
        lines: dict[str, Line] = {}
        for placed in payload.lines:
            if placed.line_id in lines:
                raise refuse("duplicate_line", f"line {placed.line_id} appears twice")
            lines[placed.line_id] = Line(
                line_id=placed.line_id,
                sku=placed.sku,
                unit_price_minor=placed.unit_price_minor,
                ordered=placed.quantity,
            )
        order = cls(
            tenant_id=event.tenant_id,
            order_id=event.order_id,
            customer_id=payload.customer_id,
            currency=payload.currency,
            shipping_terms=payload.shipping_terms,
            package_id=payload.package_id,
            placed_at=event.occurred_at,
            last_occurred_at=event.occurred_at,
            lines=lines,
        )
        order.check_invariants()
        return order, Change(None, order.status, late=False, effect="applied")

    def apply(self, event: OrderEvent) -> Change:
        """Apply one lifecycle event, or raise IllegalTransition leaving the order unchanged."""
        if event.type == "order.placed":
            raise refuse("order_exists", f"order {self.order_id} was already placed")
        plan = PLANNERS[event.type](self, event)
        before = self.status
        late = event.occurred_at < self.last_occurred_at
        merged = {**self.lines, **plan.lines}
        confirmed = self.confirmed if plan.confirmed is None else plan.confirmed
        after = derive_status(totals=totals_of(merged.values()), confirmed=confirmed)
        if not is_allowed(from_status=before, to_status=after):
            raise refuse(
                "transition_not_allowed",
                f"{event.type} would move the order from {before} to {after}, "
                "which the lifecycle does not allow",
            )
        if late and LIFECYCLE[after].rank < LIFECYCLE[before].rank:
            raise refuse(
                "late_event_regresses",
                f"{event.type} occurred before the latest applied event and would move the "
                f"order back from {before} to {after}",
            )
        self.lines = merged
        self.confirmed = confirmed
        if plan.commit is not None:
            plan.commit()
        self.status = after
        self.version += 1
        self.last_occurred_at = max(self.last_occurred_at, event.occurred_at)
        self.check_invariants()
        return Change(before, after, late=late, effect=plan.effect)

    # ---- invariants -----------------------------------------------------------------------------

    def totals(self) -> QuantityTotals:
        return totals_of(self.lines.values())

    def check_invariants(self) -> None:
        """Raise InvariantViolation unless every line and the derived status are consistent."""
        for line in self.lines.values():
            line.check_invariants()
        derived = derive_status(totals=self.totals(), confirmed=self.confirmed)
        if derived != self.status:
            raise InvariantViolation(
                f"order {self.order_id}: status {self.status} but quantities say {derived}"
            )
        if self.credited_minor > self.invoiced_minor:
            raise InvariantViolation(f"order {self.order_id}: credited more than invoiced")

    # ---- queries --------------------------------------------------------------------------------

    @property
    def on_hold(self) -> bool:
        return bool(self.holds)

    @property
    def disputed(self) -> bool:
        return bool(self.disputes)

    def line(self, line_id: str) -> Line:
        try:
            return self.lines[line_id]
        except KeyError:
            raise refuse("unknown_line", f"order {self.order_id} has no line {line_id}") from None

    def _new_document(self, kind: str, document_id: str) -> None:
        key = f"{kind}:{document_id}"
        if key in self.document_ids:
            raise refuse(f"duplicate_{kind}", f"{kind} {document_id} was already recorded")

    def _refuse_if_cancelled(self, event: OrderEvent) -> None:
        if self.status == OrderStatus.CANCELLED:
            raise refuse("order_cancelled", f"{event.type} on cancelled order {self.order_id}")
