"""In-memory fakes of the tracking ports, with the SQL adapters' keys and transaction semantics.

Writes of a unit of work are staged and become visible on commit, together with the order writes
of the in-memory order unit of work it wraps; leaving without commit discards both.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Self

from ordertrail.adapters.memory import MemoryDatabase, MemoryUnitOfWork
from ordertrail.services.ports import OrderRepository
from ordertrail.services.tracking_ports import (
    ShipmentRecord,
    ShipmentRepository,
    StoredScan,
    WebhookEndpoint,
    WebhookReceipt,
)


@dataclass(slots=True)
class _Staged:
    shipments: dict[tuple[str, str], ShipmentRecord] = field(default_factory=dict)
    scans: dict[tuple[str, str], StoredScan] = field(default_factory=dict)
    receipts: set[tuple[str, str, str]] = field(default_factory=set)


class MemoryTrackingDatabase:
    """The committed tracking rows, guarded by one lock."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.shipments: dict[tuple[str, str], ShipmentRecord] = {}
        self.scans: dict[tuple[str, str], StoredScan] = {}
        self.receipts: set[tuple[str, str, str]] = set()
        self.endpoints: dict[tuple[str, str], WebhookEndpoint] = {}

    def commit(self, staged: _Staged) -> None:
        with self.lock:
            self.shipments.update(staged.shipments)
            for key, scan in staged.scans.items():
                self.scans.setdefault(key, scan)
            self.receipts |= staged.receipts


def _natural_key(record: ShipmentRecord) -> tuple[str, str, str]:
    return (record.tenant_id, record.carrier, record.tracking_number)


class MemoryShipmentRepository:
    def __init__(self, database: MemoryTrackingDatabase, staged: _Staged) -> None:
        self._database = database
        self._staged = staged

    def _visible(self) -> dict[tuple[str, str], ShipmentRecord]:
        with self._database.lock:
            return {**self._database.shipments, **self._staged.shipments}

    def register(self, *, shipment: ShipmentRecord) -> bool:
        visible = self._visible()
        key = (shipment.tenant_id, shipment.shipment_id)
        taken = {_natural_key(record) for record in visible.values()}
        if key in visible or _natural_key(shipment) in taken:
            return False
        self._staged.shipments[key] = shipment
        return True

    def find(self, *, tenant_id: str, tracking_numbers: Collection[str]) -> list[ShipmentRecord]:
        wanted = set(tracking_numbers)
        return sorted(
            (
                record
                for record in self._visible().values()
                if record.tenant_id == tenant_id and record.tracking_number in wanted
            ),
            key=lambda record: record.shipment_id,
        )

    def get(self, *, tenant_id: str, shipment_id: str) -> ShipmentRecord | None:
        return self._visible().get((tenant_id, shipment_id))

    def save(self, *, shipment: ShipmentRecord) -> None:
        key = (shipment.tenant_id, shipment.shipment_id)
        current = self._visible().get(key)
        if current is None:
            return
        self._staged.shipments[key] = replace(
            shipment,
            order_id=current.order_id,
            carrier=current.carrier,
            tracking_number=current.tracking_number,
            created_at=current.created_at,
        )

    def append_scans(self, *, scans: Sequence[StoredScan]) -> set[str]:
        added: set[str] = set()
        with self._database.lock:
            committed = set(self._database.scans)
        for scan in scans:
            key = (scan.tenant_id, scan.scan_key)
            if key in committed or key in self._staged.scans:
                continue
            self._staged.scans[key] = scan
            added.add(scan.scan_key)
        return added

    def history(self, *, tenant_id: str, tracking_number: str, limit: int) -> list[StoredScan]:
        with self._database.lock:
            rows = {**self._database.scans, **self._staged.scans}
        matching = [
            scan
            for (tenant, _), scan in rows.items()
            if tenant == tenant_id and scan.tracking_number == tracking_number
        ]
        return sorted(matching, key=lambda scan: scan.scanned_at)[:limit]

    def record_receipt(self, *, receipt: WebhookReceipt) -> bool:
        key = (receipt.tenant_id, receipt.provider, receipt.body_sha256)
        with self._database.lock:
            seen = key in self._database.receipts
        if seen or key in self._staged.receipts:
            return False
        self._staged.receipts.add(key)
        return True


class MemoryTrackingUnitOfWork:
    """The in-memory order unit of work plus staged tracking writes; one commit for both."""

    orders: OrderRepository
    shipments: ShipmentRepository

    def __init__(self, *, orders: MemoryDatabase, tracking: MemoryTrackingDatabase) -> None:
        self._orders = MemoryUnitOfWork(orders)
        self._tracking = tracking
        self._staged: _Staged | None = None

    def __enter__(self) -> Self:
        self._orders.__enter__()
        self.orders = self._orders.orders
        self._staged = _Staged()
        self.shipments = MemoryShipmentRepository(self._tracking, self._staged)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._orders.__exit__(exc_type, exc, tb)
        self._staged = None

    def commit(self) -> None:
        if self._staged is None:
            raise RuntimeError("commit outside the unit of work")
        # Orders first: a conflict there raises before any tracking row becomes visible.
        self._orders.commit()
        self._tracking.commit(self._staged)
        self.orders = self._orders.orders
        self._staged = _Staged()
        self.shipments = MemoryShipmentRepository(self._tracking, self._staged)


class MemoryCarrierSecretStore:
    def __init__(self, database: MemoryTrackingDatabase) -> None:
        self._database = database

    def put(self, *, endpoint: WebhookEndpoint) -> WebhookEndpoint:
        key = (endpoint.tenant_id, endpoint.provider)
        with self._database.lock:
            current = self._database.endpoints.get(key)
            stored = endpoint if current is None else replace(endpoint, token=current.token)
            self._database.endpoints[key] = stored
        return stored

    def by_token(self, *, provider: str, token: str) -> WebhookEndpoint | None:
        with self._database.lock:
            for endpoint in self._database.endpoints.values():
                if endpoint.provider == provider and endpoint.token == token:
                    return endpoint
        return None

    def delete(self, *, tenant_id: str, provider: str) -> bool:
        with self._database.lock:
            return self._database.endpoints.pop((tenant_id, provider), None) is not None
