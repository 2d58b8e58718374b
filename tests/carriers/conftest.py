"""Carrier tracking fixtures: the tracking ports on the in-memory fake, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import count
from typing import Any

import pytest
from sqlalchemy import Engine

from ordertrail.adapters.carriers.mapping_tables import load_tables
from ordertrail.adapters.carriers.memory_store import (
    MemoryCarrierSecretStore,
    MemoryTrackingDatabase,
    MemoryTrackingUnitOfWork,
)
from ordertrail.adapters.db.engine import make_engine
from ordertrail.adapters.db.shipment_store import SqlCarrierSecretStore, SqlTrackingUnitOfWork
from ordertrail.adapters.memory import MemoryStorage
from ordertrail.domain.shipments.mapping import MappingTable
from ordertrail.domain.shipments.scans import CarrierScan
from ordertrail.services import tracking
from ordertrail.services.ingest import ingest
from ordertrail.services.ports import StoredEvent
from ordertrail.services.tracking import TrackingOutcome
from ordertrail.services.tracking_ports import (
    CarrierSecretStore,
    ShipmentRecord,
    StoredScan,
    TrackingUnitOfWork,
)
from tests.api.conftest import acme, client, key_for  # noqa: F401  (the HTTP fixtures)
from tests.builders import envelope, placed, qty
from tests.conftest import NOW, truncate_postgres

TABLES: dict[str, MappingTable] = load_tables()
PLACED_AT = datetime.fromisoformat("2026-03-01T09:00:00+00:00")
DISPATCHED_AT = datetime.fromisoformat("2026-03-09T12:00:00+00:00")


@dataclass
class Tracking:
    """The tracking ports of one implementation, with the steps tests repeat."""

    name: str
    uow_factory: Callable[[], TrackingUnitOfWork]
    secrets: CarrierSecretStore
    _ids: Iterator[int] = field(default_factory=lambda: count(1))

    def new_id(self) -> str:
        return f"q{next(self._ids):08d}"

    def ship(
        self,
        *,
        tracking_number: str,
        shipment_id: str = "SHP-1",
        order_id: str = "SO-1",
        carrier: str = "usps",
        register: bool = True,
    ) -> None:
        """Place an order, dispatch it, and (as the tracking consumer would) register it."""
        events = [
            placed(order_id=order_id, at=PLACED_AT),
            envelope(
                "shipment.dispatched",
                {
                    "shipment_id": shipment_id,
                    "carrier": carrier,
                    "tracking_number": tracking_number,
                    "lines": qty(l1=2, l2=1),
                },
                order_id=order_id,
                source="wms",
                at=DISPATCHED_AT,
            ),
        ]
        results = ingest(
            uow_factory=self.uow_factory,
            raw_events=events,
            tenant_id="acme",
            actor="key:test",
            now=NOW,
            new_id=self.new_id,
        )
        assert [r.outcome.value for r in results] == ["applied", "applied"]
        if register:
            self.register(
                tracking_number=tracking_number,
                shipment_id=shipment_id,
                order_id=order_id,
                carrier=carrier,
            )

    def register(
        self,
        *,
        tracking_number: str,
        shipment_id: str = "SHP-1",
        order_id: str = "SO-1",
        carrier: str = "usps",
    ) -> bool:
        with self.uow_factory() as uow:
            registered = tracking.register_shipment(
                uow=uow,
                tenant_id="acme",
                order_id=order_id,
                shipment_id=shipment_id,
                carrier=carrier,
                tracking_number=tracking_number,
                estimated_delivery_at=None,
                now=NOW,
                new_id=self.new_id,
            )
            uow.commit()
        return registered

    def record(self, scans: Sequence[CarrierScan], *, tenant_id: str = "acme") -> TrackingOutcome:
        return tracking.record_scans(
            uow=self.uow_factory(),
            tenant_id=tenant_id,
            scans=scans,
            received_at=NOW,
            tables=TABLES,
            new_id=self.new_id,
        )

    def shipment(self, shipment_id: str = "SHP-1") -> ShipmentRecord:
        with self.uow_factory() as uow:
            found = uow.shipments.get(tenant_id="acme", shipment_id=shipment_id)
        assert found is not None
        return found

    def history(self, tracking_number: str) -> list[StoredScan]:
        with self.uow_factory() as uow:
            return uow.shipments.history(
                tenant_id="acme", tracking_number=tracking_number, limit=100
            )

    def event(self, event_id: str) -> StoredEvent | None:
        with self.uow_factory() as uow:
            return uow.orders.find_events(tenant_id="acme", event_ids=[event_id]).get(event_id)

    def order(self, order_id: str = "SO-1") -> Any:
        with self.uow_factory() as uow:
            return uow.orders.load_orders(tenant_id="acme", order_ids=[order_id])[order_id]


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def trk(request: pytest.FixtureRequest) -> Iterator[Tracking]:
    """The tracking ports on each implementation, empty."""
    if request.param == "memory":
        storage = MemoryStorage()
        database = MemoryTrackingDatabase()
        yield Tracking(
            name="memory",
            uow_factory=lambda: MemoryTrackingUnitOfWork(
                orders=storage.database, tracking=database
            ),
            secrets=MemoryCarrierSecretStore(database),
        )
        return
    engine: Engine
    if request.param == "sqlite":
        engine = request.getfixturevalue("sqlite_engine")
    else:
        engine = make_engine(request.getfixturevalue("postgres_url"))
        truncate_postgres(engine)
    yield Tracking(
        name=request.param,
        uow_factory=lambda: SqlTrackingUnitOfWork(engine),
        secrets=SqlCarrierSecretStore(engine),
    )
    if request.param == "postgres":
        engine.dispose()
