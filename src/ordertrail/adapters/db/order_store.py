"""The order repository on SQL: bulk reads by key, bulk writes in one transaction."""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from ordertrail.adapters.db.tables import events, orders, outbox, quarantine, transitions
from ordertrail.domain.canonical import canonical_json
from ordertrail.domain.orders import Order, order_from_state, order_to_state
from ordertrail.services.ports import Changes, ConcurrentWrite, StoredEvent

# Bound on a single IN (...) list; batches are at most 1,000 events so this is never hit by
# ingest, but a caller passing more gets several queries instead of an unbounded statement.
IN_CHUNK = 1000


def _chunks(values: Collection[str]) -> list[list[str]]:
    items = sorted(values)
    return [items[i : i + IN_CHUNK] for i in range(0, len(items), IN_CHUNK)]


class SqlOrderRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._postgres = connection.dialect.name == "postgresql"

    def find_events(self, *, tenant_id: str, event_ids: Collection[str]) -> dict[str, StoredEvent]:
        found: dict[str, StoredEvent] = {}
        columns = (
            events.c.event_id,
            events.c.checksum_sha256,
            events.c.order_id,
            events.c.order_version,
            events.c.status_after,
            events.c.effect,
            events.c.late,
            events.c.recorded_at,
        )
        for chunk in _chunks(event_ids):
            query = select(*columns).where(
                events.c.tenant_id == tenant_id, events.c.event_id.in_(chunk)
            )
            for row in self._connection.execute(query):
                found[row.event_id] = StoredEvent(**row._asdict())
        return found

    def load_orders(self, *, tenant_id: str, order_ids: Collection[str]) -> dict[str, Order]:
        loaded: dict[str, Order] = {}
        for chunk in _chunks(order_ids):
            query = select(
                orders.c.order_id, orders.c.status, orders.c.version, orders.c.state
            ).where(orders.c.tenant_id == tenant_id, orders.c.order_id.in_(chunk))
            if self._postgres:
                # Lock in key order so two batches touching the same orders cannot deadlock.
                query = query.order_by(orders.c.order_id).with_for_update()
            for row in self._connection.execute(query):
                loaded[row.order_id] = order_from_state(
                    tenant_id=tenant_id,
                    order_id=row.order_id,
                    status=row.status,
                    version=row.version,
                    state=json.loads(row.state),
                )
        return loaded

    def write(self, *, changes: Changes, now: datetime) -> None:
        try:
            self._write(changes=changes, now=now)
        except IntegrityError as error:
            raise ConcurrentWrite(str(error.orig)) from error

    def _write(self, *, changes: Changes, now: datetime) -> None:
        execute = self._connection.execute
        if changes.events:
            execute(insert(events), [_as_row(e) for e in changes.events])
        if changes.transitions:
            execute(insert(transitions), [_as_row(t) for t in changes.transitions])
        if changes.created:
            execute(
                insert(orders), [_projection(o, now=now, created=True) for o in changes.created]
            )
        if changes.updated:
            self._update_orders(changes.updated, now=now)
        if changes.outbox:
            execute(insert(outbox), [_as_row(m) for m in changes.outbox])
        if changes.quarantine:
            execute(
                insert(quarantine),
                [
                    {**_as_row(r), "field_errors": canonical_json(r.field_errors)}
                    for r in changes.quarantine
                ],
            )

    def _update_orders(self, updated: list[tuple[Order, int]], *, now: datetime) -> None:
        statement = (
            update(orders)
            .where(
                and_(
                    orders.c.tenant_id == bindparam("key_tenant_id"),
                    orders.c.order_id == bindparam("key_order_id"),
                    orders.c.version == bindparam("expected_version"),
                )
            )
            .values(
                status=bindparam("status"),
                version=bindparam("version"),
                on_hold=bindparam("on_hold"),
                disputed=bindparam("disputed"),
                last_occurred_at=bindparam("last_occurred_at"),
                updated_at=bindparam("updated_at"),
                state=bindparam("state"),
            )
        )
        rows = []
        for order, expected in updated:
            row = _projection(order, now=now, created=False)
            rows.append(
                {
                    "key_tenant_id": order.tenant_id,
                    "key_order_id": order.order_id,
                    "expected_version": expected,
                    **{k: row[k] for k in ("status", "version", "on_hold", "disputed")},
                    "last_occurred_at": row["last_occurred_at"],
                    "updated_at": row["updated_at"],
                    "state": row["state"],
                }
            )
        result = self._connection.execute(statement, rows)
        # Optimistic check paired with the row lock: every row must still have had the version
        # it was loaded at. Where the driver cannot report per-batch counts, the lock suffices.
        if self._connection.dialect.supports_sane_multi_rowcount and result.rowcount != len(rows):
            raise ConcurrentWrite("an order changed since it was loaded")


def _as_row(record: Any) -> dict[str, Any]:
    return {name: getattr(record, name) for name in record.__dataclass_fields__}


def _projection(order: Order, *, now: datetime, created: bool) -> dict[str, Any]:
    row: dict[str, Any] = {
        "tenant_id": order.tenant_id,
        "order_id": order.order_id,
        "status": order.status.value,
        "version": order.version,
        "customer_id": order.customer_id,
        "currency": order.currency,
        "on_hold": order.on_hold,
        "disputed": order.disputed,
        "placed_at": order.placed_at,
        "last_occurred_at": order.last_occurred_at,
        "updated_at": now,
        "state": canonical_json(order_to_state(order)),
    }
    if created:
        row["created_at"] = now
    return row
