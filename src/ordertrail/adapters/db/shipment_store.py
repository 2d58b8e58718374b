"""Shipments, their scan history, webhook receipts and webhook secrets on SQL.

`SqlTrackingUnitOfWork` is the SQL unit of work with a shipments repository on the same
connection: bootstrap gives it to the pipeline's consumers too, so the tracking consumer registers
a shipment in the transaction that records the milestone in its inbox.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import asdict, fields
from typing import Any, Self

from sqlalchemy import Connection, Engine, and_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ordertrail.adapters.db.tables_carriers import (
    carrier_webhook_endpoints,
    carrier_webhook_receipts,
    shipment_scans,
    shipments,
)
from ordertrail.adapters.db.uow import SqlUnitOfWork
from ordertrail.services.tracking_ports import (
    ShipmentRecord,
    ShipmentRepository,
    StoredScan,
    WebhookEndpoint,
    WebhookReceipt,
)

_SHIPMENT_FIELDS = tuple(f.name for f in fields(ShipmentRecord))
_SCAN_FIELDS = tuple(f.name for f in fields(StoredScan))
# The tracking state `save` may change; identity and creation stay as registered.
_STATE_FIELDS = tuple(
    name
    for name in _SHIPMENT_FIELDS
    if name
    not in {"tenant_id", "shipment_id", "order_id", "carrier", "tracking_number", "created_at"}
)
# Tracking numbers looked up per statement; a webhook or poll batch is far smaller.
FIND_CHUNK = 500


def _insert(connection: Connection) -> Any:
    return postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert


def _shipment(row: Any) -> ShipmentRecord:
    return ShipmentRecord(**{name: getattr(row, name) for name in _SHIPMENT_FIELDS})


def _scan(row: Any) -> StoredScan:
    return StoredScan(**{name: getattr(row, name) for name in _SCAN_FIELDS})


class SqlShipmentRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._postgres = connection.dialect.name == "postgresql"

    def register(self, *, shipment: ShipmentRecord) -> bool:
        statement = (
            _insert(self._connection)(shipments)
            .values(**asdict(shipment))
            .on_conflict_do_nothing()
            .returning(shipments.c.shipment_id)
        )
        return self._connection.execute(statement).first() is not None

    def find(self, *, tenant_id: str, tracking_numbers: Collection[str]) -> list[ShipmentRecord]:
        wanted = sorted(set(tracking_numbers))
        found: list[ShipmentRecord] = []
        for start in range(0, len(wanted), FIND_CHUNK):
            query = (
                select(shipments)
                .where(
                    shipments.c.tenant_id == tenant_id,
                    shipments.c.tracking_number.in_(wanted[start : start + FIND_CHUNK]),
                )
                .order_by(shipments.c.shipment_id)
            )
            if self._postgres:
                query = query.with_for_update()
            found.extend(_shipment(row) for row in self._connection.execute(query))
        return found

    def get(self, *, tenant_id: str, shipment_id: str) -> ShipmentRecord | None:
        row = self._connection.execute(
            select(shipments).where(
                shipments.c.tenant_id == tenant_id, shipments.c.shipment_id == shipment_id
            )
        ).first()
        return None if row is None else _shipment(row)

    def save(self, *, shipment: ShipmentRecord) -> None:
        values = {name: getattr(shipment, name) for name in _STATE_FIELDS}
        self._connection.execute(
            update(shipments)
            .where(
                and_(
                    shipments.c.tenant_id == shipment.tenant_id,
                    shipments.c.shipment_id == shipment.shipment_id,
                )
            )
            .values(**values)
        )

    def append_scans(self, *, scans: Sequence[StoredScan]) -> set[str]:
        added: set[str] = set()
        for scan in scans:
            statement = (
                _insert(self._connection)(shipment_scans)
                .values(**asdict(scan))
                .on_conflict_do_nothing(index_elements=["tenant_id", "scan_key"])
                .returning(shipment_scans.c.scan_key)
            )
            row = self._connection.execute(statement).first()
            if row is not None:
                added.add(row.scan_key)
        return added

    def history(self, *, tenant_id: str, tracking_number: str, limit: int) -> list[StoredScan]:
        rows = self._connection.execute(
            select(shipment_scans)
            .where(
                shipment_scans.c.tenant_id == tenant_id,
                shipment_scans.c.tracking_number == tracking_number,
            )
            .order_by(shipment_scans.c.scanned_at, shipment_scans.c.id)
            .limit(limit)
        )
        return [_scan(row) for row in rows]

    def record_receipt(self, *, receipt: WebhookReceipt) -> bool:
        statement = (
            _insert(self._connection)(carrier_webhook_receipts)
            .values(**asdict(receipt))
            .on_conflict_do_nothing()
            .returning(carrier_webhook_receipts.c.body_sha256)
        )
        return self._connection.execute(statement).first() is not None


class SqlTrackingUnitOfWork(SqlUnitOfWork):
    """The SQL unit of work plus the shipments repository, on one connection and transaction."""

    shipments: ShipmentRepository

    def __enter__(self) -> Self:
        super().__enter__()
        assert self._connection is not None
        self.shipments = SqlShipmentRepository(self._connection)
        return self


class SqlCarrierSecretStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def put(self, *, endpoint: WebhookEndpoint) -> WebhookEndpoint:
        table = carrier_webhook_endpoints
        with self._engine.begin() as connection:
            statement = (
                _insert(connection)(table)
                .values(**asdict(endpoint))
                .on_conflict_do_update(
                    index_elements=["tenant_id", "provider"],
                    set_={
                        "secret": endpoint.secret,
                        "updated_at": endpoint.updated_at,
                        "updated_by": endpoint.updated_by,
                    },
                )
                .returning(table.c.token)
            )
            token = connection.execute(statement).scalar_one()
        return WebhookEndpoint(
            tenant_id=endpoint.tenant_id,
            provider=endpoint.provider,
            token=token,
            secret=endpoint.secret,
            updated_at=endpoint.updated_at,
            updated_by=endpoint.updated_by,
        )

    def by_token(self, *, provider: str, token: str) -> WebhookEndpoint | None:
        table = carrier_webhook_endpoints
        with self._engine.connect() as connection:
            row = connection.execute(
                select(table).where(table.c.provider == provider, table.c.token == token)
            ).first()
        if row is None:
            return None
        return WebhookEndpoint(
            tenant_id=row.tenant_id,
            provider=row.provider,
            token=row.token,
            secret=row.secret,
            updated_at=row.updated_at,
            updated_by=row.updated_by,
        )

    def delete(self, *, tenant_id: str, provider: str) -> bool:
        table = carrier_webhook_endpoints
        with self._engine.begin() as connection:
            result = connection.execute(
                table.delete().where(table.c.tenant_id == tenant_id, table.c.provider == provider)
            )
        return bool(result.rowcount)
