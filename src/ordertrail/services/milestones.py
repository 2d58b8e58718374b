"""The milestone messages that leave through the outbox: what downstream consumers may rely on.

Revenue never reads the order tables; everything it needs travels here: the upcast event and the
order as it stands after the event (lines with prices and every quantity).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ordertrail.domain.orders import Change, Order, OrderEvent

MILESTONE_SCHEMA_VERSION = 1

# Revenue-critical facts travel on their own lane so a flood of informational updates cannot
# delay them. Anything not listed here is bulk.
CRITICAL_EVENT_TYPES = frozenset(
    {
        "order.placed",
        # Confirmation is when the order becomes an ASC 606 contract (606-10-25-1).
        "order.confirmed",
        "order.amended",
        "order.cancelled",
        "shipment.dispatched",
        "shipment.delivered",
        "delivery.accepted",
        "return.received",
        "invoice.issued",
        "credit_note.issued",
        "hold.placed",
        "hold.released",
        "dispute.opened",
        "dispute.closed",
    }
)


def lane_of(event_type: str) -> str:
    """Return the delivery lane for an event type: 'critical' or 'bulk'."""
    return "critical" if event_type in CRITICAL_EVENT_TYPES else "bulk"


def milestone_message(
    *, event: OrderEvent, order: Order, change: Change, recorded_at: datetime
) -> dict[str, Any]:
    """Build the outbox message for one applied event."""
    return {
        "message_id": f"{event.tenant_id}/{event.event_id}",
        "schema_version": MILESTONE_SCHEMA_VERSION,
        "tenant_id": event.tenant_id,
        "order_id": event.order_id,
        "event_id": event.event_id,
        "event_type": event.type,
        "source": event.source,
        "occurred_at": event.occurred_at.isoformat(),
        "recorded_at": recorded_at.isoformat(),
        "payload": event.payload.model_dump(mode="json"),
        "change": {
            "from_status": None if change.from_status is None else change.from_status.value,
            "to_status": change.to_status.value,
            "effect": change.effect,
            "late": change.late,
        },
        "order": {
            "version": order.version,
            "status": order.status.value,
            "customer_id": order.customer_id,
            "currency": order.currency,
            "shipping_terms": order.shipping_terms,
            "package_id": order.package_id,
            "on_hold": order.on_hold,
            "disputed": order.disputed,
            "lines": [
                {
                    "line_id": line.line_id,
                    "sku": line.sku,
                    "unit_price_minor": line.unit_price_minor,
                    **line.quantities(),
                }
                for line in order.lines.values()
            ],
        },
    }
