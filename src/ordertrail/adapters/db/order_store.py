"""The order repository on SQL: bulk reads by key, bulk writes in one transaction.

Reads go through SQLAlchemy Core. Writes are the hot path of ingest, a few rows per event, so they
skip SQLAlchemy's per-row statement machinery (building a dict per row, then processing every
parameter of it) and hand ready-made tuples to the driver: `executemany` on SQLite, `COPY` and
one set-based UPDATE on PostgreSQL. The values are still converted by the columns' own SQLAlchemy
types (`bind_processor`), so what is stored is exactly what a Core insert would store, and a naive
datetime is still refused by `UtcDateTime`. Everything runs on the unit of work's connection,
inside its transaction.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Table,
)
from sqlalchemy.exc import DBAPIError, IntegrityError, StatementError

from ordertrail.adapters.db.order_statements import (
    COPY_ROWS_MIN,
    EVENT_COLUMNS,
    FIND_EVENTS,
    LOAD_ORDERS,
    ORDER_COLUMNS,
    ORDER_UPDATE_COLUMNS,
    OUTBOX_COLUMNS,
    QUARANTINE_COLUMNS,
    TRANSITION_COLUMNS,
    chunks,
    event_values,
    outbox_values,
    quarantine_values,
    statement_for,
    transition_values,
)
from ordertrail.adapters.db.tables import (
    events,
    orders,
    outbox,
    quarantine,
    transitions,
)
from ordertrail.domain.canonical import canonical_json, canonical_json_of_own
from ordertrail.domain.orders import Order, order_from_state, order_to_state
from ordertrail.services.ports import (
    Changes,
    ConcurrentWrite,
    StoredEvent,
)

# PostgreSQL's deadlock_detected and serialization_failure: the transaction lost a race and a
# retry of the whole unit of work is the documented remedy.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})


@contextmanager
def _lost_races_as_concurrent_write(*, duplicates_too: bool) -> Iterator[None]:
    """Turn the errors of a lost race into ConcurrentWrite, which ingest retries whole."""
    try:
        yield
    except IntegrityError as error:
        if duplicates_too:
            raise ConcurrentWrite(str(error.orig)) from error
        raise
    except DBAPIError as error:
        if getattr(error.orig, "sqlstate", None) in RETRYABLE_SQLSTATES:
            raise ConcurrentWrite(str(error.orig)) from error
        raise


class SqlOrderRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._dialect = connection.dialect
        self._postgres = connection.dialect.name == "postgresql"
        # Values already converted for the driver in this unit of work (see Statement.bind).
        self._converted: dict[str, dict[Any, Any]] = {}

    def find_events(self, *, tenant_id: str, event_ids: Collection[str]) -> dict[str, StoredEvent]:
        found: dict[str, StoredEvent] = {}
        for chunk in chunks(event_ids):
            rows = self._connection.execute(
                FIND_EVENTS[self._postgres], {"tenant_id": tenant_id, "event_ids": chunk}
            )
            for row in rows:
                found[row.event_id] = StoredEvent(**row._asdict())
        return found

    def load_orders(self, *, tenant_id: str, order_ids: Collection[str]) -> dict[str, Order]:
        loaded: dict[str, Order] = {}
        query = LOAD_ORDERS[self._postgres]
        for chunk in chunks(order_ids):
            with _lost_races_as_concurrent_write(duplicates_too=False):
                rows = self._connection.execute(
                    query, {"tenant_id": tenant_id, "order_ids": chunk}
                ).all()
            for row in rows:
                loaded[row.order_id] = order_from_state(
                    tenant_id=tenant_id,
                    order_id=row.order_id,
                    status=row.status,
                    version=row.version,
                    state=json.loads(row.state),
                )
        return loaded

    def write(self, *, changes: Changes, now: datetime) -> None:
        with _lost_races_as_concurrent_write(duplicates_too=True):
            self._write(changes=changes, now=now)

    def _write(self, *, changes: Changes, now: datetime) -> None:
        if changes.events:
            self._insert(events, EVENT_COLUMNS, [event_values(e) for e in changes.events])
        if changes.transitions:
            rows = [transition_values(t) for t in changes.transitions]
            self._insert(transitions, TRANSITION_COLUMNS, rows)
        if changes.created:
            self._insert(orders, ORDER_COLUMNS, [_projection(o, now=now) for o in changes.created])
        if changes.updated:
            self._update_orders(changes.updated, now=now)
        if changes.outbox:
            self._insert(outbox, OUTBOX_COLUMNS, [outbox_values(m) for m in changes.outbox])
        if changes.quarantine:
            position = QUARANTINE_COLUMNS.index("field_errors")
            rejected = []
            for rejection in changes.quarantine:
                row = list(quarantine_values(rejection))
                row[position] = canonical_json(rejection.field_errors)
                rejected.append(row)
            self._insert(quarantine, QUARANTINE_COLUMNS, rejected)

    def _insert(self, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        if self._postgres and len(rows) >= COPY_ROWS_MIN:
            copy = statement_for(self._dialect, table, "copy", columns)
            driver = self._connection.connection.driver_connection
            assert driver is not None
            with self._errors_as_sqlalchemy(copy.sql):
                bound = copy.bind(rows, converted=self._converted)
                with driver.cursor() as cursor, cursor.copy(copy.sql) as stream:
                    for row in bound:
                        stream.write_row(row)
            return
        insert = statement_for(self._dialect, table, "insert", columns)
        with self._errors_as_sqlalchemy(insert.sql):
            bound = insert.bind(rows, converted=self._converted)
        self._connection.exec_driver_sql(insert.sql, bound)

    @contextmanager
    def _errors_as_sqlalchemy(self, sql: str) -> Iterator[None]:
        """Raise what SQLAlchemy raises when a Core statement fails the same way.

        Binding and COPY happen outside SQLAlchemy's execution; without this a naive datetime would
        surface as a bare ValueError and a failed COPY as a driver exception, where callers have
        always seen StatementError and its DBAPIError family (IntegrityError, DataError, ...).
        """
        try:
            yield
        except StatementError:
            raise
        except Exception as error:
            wrapped = DBAPIError.instance(
                sql, None, error, self._dialect.loaded_dbapi.Error, dialect=self._dialect
            )
            raise wrapped from error

    def _update_orders(self, updated: list[tuple[Order, int]], *, now: datetime) -> None:
        update = statement_for(self._dialect, orders, "update", ORDER_UPDATE_COLUMNS)
        rows = [
            (
                order.tenant_id,
                order.order_id,
                version_loaded,
                order.status.value,
                order.version,
                order.on_hold,
                order.disputed,
                order.last_occurred_at,
                now,
                canonical_json_of_own(order_to_state(order)),
            )
            for order, version_loaded in updated
        ]
        with self._errors_as_sqlalchemy(update.sql):
            bound = update.bind(rows, converted=self._converted)
        if self._postgres:
            columns = tuple(map(list, zip(*bound, strict=True)))
            result = self._connection.exec_driver_sql(update.sql, columns)
        else:
            result = self._connection.exec_driver_sql(update.sql, bound)
        # Optimistic check paired with the row lock: every row must still have had the version
        # it was loaded at.
        if result.rowcount != len(rows):
            raise ConcurrentWrite("an order changed since it was loaded")


def _projection(order: Order, *, now: datetime) -> tuple[Any, ...]:
    """The projection row of a new order, in ORDER_COLUMNS order."""
    return (
        order.tenant_id,
        order.order_id,
        order.status.value,
        order.version,
        order.customer_id,
        order.currency,
        order.on_hold,
        order.disputed,
        order.placed_at,
        order.last_occurred_at,
        now,
        now,
        canonical_json_of_own(order_to_state(order)),
    )
