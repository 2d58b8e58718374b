"""The tracking consumer: starts tracking a shipment when its dispatch milestone arrives.

It runs on the critical lane beside revenue. The pipeline gives consumers a tracking unit of work
(bootstrap wires it), so the shipment row commits with the consumer's inbox record: a redelivered
milestone is skipped, and registering twice is a no-op anyway (unique carrier + tracking number).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from ordertrail.services.messaging import ConsumerUnitOfWork, Message
from ordertrail.services.ports import Clock
from ordertrail.services.tracking import register_shipment
from ordertrail.services.tracking_ports import ShipmentRepository, TrackingUnitOfWork

CONSUMER = "tracking"
DISPATCHED = "shipment.dispatched"


class TrackingNotWired(RuntimeError):
    """The consumer unit of work has no shipments repository: bootstrap must provide one."""


@dataclass(frozen=True, slots=True)
class TrackingHandler:
    clock: Clock
    new_id: Callable[[], str]
    consumer: str = CONSUMER
    lanes: frozenset[str] = frozenset({"critical"})

    def handle(self, *, message: Message, uow: ConsumerUnitOfWork) -> None:
        """Register the shipment a `shipment.dispatched` milestone announces."""
        if message.event_type != DISPATCHED:
            return
        shipments: ShipmentRepository | None = getattr(uow, "shipments", None)
        if shipments is None:
            raise TrackingNotWired("the consumer unit of work carries no shipments repository")
        body = json.loads(message.body)
        payload = body["payload"]
        estimate = payload.get("estimated_delivery_at")
        tracking_uow: TrackingUnitOfWork = uow  # type: ignore[assignment]
        register_shipment(
            uow=tracking_uow,
            tenant_id=message.tenant_id,
            order_id=message.order_id,
            shipment_id=payload["shipment_id"],
            carrier=payload["carrier"],
            tracking_number=payload["tracking_number"],
            estimated_delivery_at=None if estimate is None else datetime.fromisoformat(estimate),
            now=self.clock.now(),
            new_id=self.new_id,
        )
