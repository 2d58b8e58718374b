"""A delivered scan becomes a `shipment.delivered` order event, in the tracking transaction.

The event goes through the ordinary ingest service (validation, idempotency, order transition,
outbox), so revenue hears of the delivery through the pipeline like any other fact. Its event id
is derived from the scan, so the same delivery reported again, by webhook or poll, is a duplicate.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from types import TracebackType
from typing import Any, Self

from ordertrail.domain.orders import CURRENT_VERSION
from ordertrail.domain.shipments.scans import CarrierScan
from ordertrail.services import ingest as ingest_service
from ordertrail.services.ports import OrderRepository
from ordertrail.services.results import Outcome
from ordertrail.services.tracking_ports import ShipmentRecord, TrackingUnitOfWork

DELIVERED_EVENT_TYPE = "shipment.delivered"
# Proof-of-delivery texts are ShortText in the event schema.
_TEXT_MAX = 500


def delivered_event(
    *, shipment: ShipmentRecord, scan: CarrierScan, event_id: str
) -> dict[str, Any]:
    """The `shipment.delivered` envelope a delivered scan becomes, with its proof of delivery."""
    proof = {
        "signed_by": _short(scan.signed_by),
        "delivered_at": scan.scanned_at.isoformat(),
        "location": _short(scan.location),
    }
    return {
        "event_id": event_id,
        "type": DELIVERED_EVENT_TYPE,
        "schema_version": CURRENT_VERSION[DELIVERED_EVENT_TYPE],
        "tenant_id": shipment.tenant_id,
        "source": f"carrier:{scan.provider}",
        "occurred_at": scan.scanned_at.isoformat(),
        "order_id": shipment.order_id,
        "payload": {
            "shipment_id": shipment.shipment_id,
            "proof_of_delivery": {k: v for k, v in proof.items() if v is not None},
        },
    }


def _short(text: str | None) -> str | None:
    if text is None or not text.strip():
        return None
    return text.strip()[:_TEXT_MAX]


def ingest_delivery(
    *,
    uow: TrackingUnitOfWork,
    shipment: ShipmentRecord,
    scan: CarrierScan,
    event_id: str,
    received_at: datetime,
    new_id: Callable[[], str],
) -> bool:
    """Ingest the delivery in the tracking transaction; True when the order took it."""
    envelope = delivered_event(shipment=shipment, scan=scan, event_id=event_id)
    [result] = ingest_service.ingest(
        uow_factory=lambda: _Joined(uow.orders),
        raw_events=[envelope],
        tenant_id=shipment.tenant_id,
        actor=f"carrier:{scan.provider}",
        now=received_at,
        new_id=new_id,
    )
    # A refused delivery (say, of a cancelled order) is in quarantine with its reason, where an
    # operator can replay it; the shipment still records that the carrier delivered.
    return result.outcome in {Outcome.APPLIED, Outcome.DUPLICATE}


class _Joined:
    """The tracking transaction lent to ingest: ingest writes through it and never commits it."""

    def __init__(self, orders: OrderRepository) -> None:
        self.orders = orders

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def commit(self) -> None:
        """Nothing to do: the tracking unit of work commits scans, shipment and event together."""
