"""The ports carrier tracking needs: shipments, their scan history, webhook receipts and secrets.

A tracking unit of work is an ordinary unit of work (its `orders` repository is what ingest
writes through) with a shipments repository on the same transaction, so a scan, the shipment's
new status and the `shipment.delivered` order event it causes commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ordertrail.services.ports import UnitOfWork

# A shipment's history is read whole to fold it; no real parcel comes near this many scans.
HISTORY_SCANS_MAX = 2_000


@dataclass(frozen=True, slots=True)
class ShipmentRecord:
    """A shipment's current tracking state: one row of `shipments`."""

    tenant_id: str
    shipment_id: str
    order_id: str
    carrier: str
    tracking_number: str
    status: str
    reason: str
    created_at: datetime
    provider: str | None = None
    raw_code: str | None = None
    raw_text: str | None = None
    root_cause: str | None = None
    last_scan_at: datetime | None = None
    last_update_at: datetime | None = None
    estimated_delivery_at: datetime | None = None
    delivered_at: datetime | None = None
    # The `shipment.delivered` order event this shipment's delivery was ingested as.
    delivery_event_id: str | None = None


@dataclass(frozen=True, slots=True)
class StoredScan:
    """One row of the append-only `shipment_scans`: the raw scan beside its canonical reading."""

    tenant_id: str
    scan_key: str
    provider: str
    carrier: str
    tracking_number: str
    raw_code: str
    raw_subcode: str | None
    raw_text: str
    scanned_at: datetime
    location: str | None
    signed_by: str | None
    estimated_delivery_at: datetime | None
    status: str
    reason: str
    mapping_version: int | None
    received_at: datetime


@dataclass(frozen=True, slots=True)
class WebhookReceipt:
    """One accepted webhook delivery, keyed per tenant and provider by the SHA-256 of its body."""

    tenant_id: str
    provider: str
    body_sha256: str
    received_at: datetime
    scans: int


class ShipmentRepository(Protocol):
    def register(self, *, shipment: ShipmentRecord) -> bool:
        """Insert a shipment unless one with its (tenant, carrier, tracking number) exists."""
        ...

    def find(self, *, tenant_id: str, tracking_numbers: Collection[str]) -> list[ShipmentRecord]:
        """The shipments with these tracking numbers (any carrier); locked on PostgreSQL."""
        ...

    def get(self, *, tenant_id: str, shipment_id: str) -> ShipmentRecord | None: ...

    def save(self, *, shipment: ShipmentRecord) -> None:
        """Store a registered shipment's new tracking state."""
        ...

    def append_scans(self, *, scans: Sequence[StoredScan]) -> set[str]:
        """Append the scans whose (tenant, scan key) is new; return the keys that went in."""
        ...

    def history(self, *, tenant_id: str, tracking_number: str, limit: int) -> list[StoredScan]:
        """A tracking number's scans, oldest first by carrier time, at most `limit`."""
        ...

    def record_receipt(self, *, receipt: WebhookReceipt) -> bool:
        """Record a webhook delivery; False when the same body was already recorded."""
        ...


class TrackingUnitOfWork(UnitOfWork, Protocol):
    shipments: ShipmentRepository


TrackingUnitOfWorkFactory = Callable[[], TrackingUnitOfWork]


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    """Where one tenant receives one provider's webhooks, and the secret that signs them."""

    tenant_id: str
    provider: str
    token: str
    secret: str
    updated_at: datetime
    updated_by: str


class CarrierSecretStore(Protocol):
    """Per tenant and provider webhook secrets. Secrets are written and used, never listed."""

    def put(self, *, endpoint: WebhookEndpoint) -> WebhookEndpoint:
        """Set the secret; the token of an existing endpoint is kept so its URL stays valid."""
        ...

    def by_token(self, *, provider: str, token: str) -> WebhookEndpoint | None: ...

    def delete(self, *, tenant_id: str, provider: str) -> bool: ...
