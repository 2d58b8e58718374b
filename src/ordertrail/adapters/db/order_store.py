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
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import Any

from sqlalchemy import (
    Connection,
    Dialect,
    Select,
    String,
    Table,
    any_,
    bindparam,
    select,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError, IntegrityError, StatementError
from sqlalchemy.sql.elements import ColumnElement

from ordertrail.adapters.db.tables import (
    UtcDateTime,
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
    NewEvent,
    NewTransition,
    OutboxMessage,
    Rejection,
    StoredEvent,
)

# Bound on a single IN (...) list; batches are at most 1,000 events so this is never hit by
# ingest, but a caller passing more gets several queries instead of an unbounded statement.
IN_CHUNK = 1000
# Below this many rows a pipelined INSERT beats COPY, which costs one more round trip to start.
COPY_ROWS_MIN = 8

EVENT_COLUMNS = tuple(NewEvent.__dataclass_fields__)
TRANSITION_COLUMNS = tuple(NewTransition.__dataclass_fields__)
OUTBOX_COLUMNS = tuple(OutboxMessage.__dataclass_fields__)
QUARANTINE_COLUMNS = tuple(Rejection.__dataclass_fields__)
ORDER_COLUMNS = (
    "tenant_id",
    "order_id",
    "status",
    "version",
    "customer_id",
    "currency",
    "on_hold",
    "disputed",
    "placed_at",
    "last_occurred_at",
    "created_at",
    "updated_at",
    "state",
)
# An update sets these, keyed by (tenant_id, order_id) and guarded by the version it was loaded at.
ORDER_UPDATE_COLUMNS = (
    "tenant_id",
    "order_id",
    "version_loaded",
    "status",
    "version",
    "on_hold",
    "disputed",
    "last_occurred_at",
    "updated_at",
    "state",
)

_event_values = attrgetter(*EVENT_COLUMNS)
_transition_values = attrgetter(*TRANSITION_COLUMNS)
_outbox_values = attrgetter(*OUTBOX_COLUMNS)
_quarantine_values = attrgetter(*QUARANTINE_COLUMNS)


def _chunks(values: Collection[str]) -> list[list[str]]:
    items = sorted(values)
    return [items[i : i + IN_CHUNK] for i in range(0, len(items), IN_CHUNK)]


@dataclass(frozen=True, slots=True)
class _Statement:
    """A write to one table on one dialect: its SQL and the conversion of each value in a row."""

    sql: str
    # (position in the row, what the conversion is, the column type's bind processor), only
    # where the type has a processor.
    converters: tuple[tuple[int, str, Callable[[Any], Any]], ...]

    def bind(
        self, rows: Sequence[Sequence[Any]], *, converted: dict[str, dict[Any, Any]]
    ) -> list[tuple[Any, ...]]:
        """Return the rows with every value converted for the driver.

        A batch converts the same few values over and over (its `now` in every row, an event's
        occurred_at in its event, transition and projection rows), so `converted` remembers each
        distinct value per kind of conversion, for the whole unit of work. The conversions are
        pure functions of the value: reuse is exact.
        """
        if not self.converters:
            return [tuple(row) for row in rows]
        memos = [
            (position, converted.setdefault(kind, {}), convert)
            for position, kind, convert in self.converters
        ]
        bound = []
        for row in rows:
            values = list(row)
            for position, memo, convert in memos:
                value = values[position]
                if value in memo:
                    values[position] = memo[value]
                else:
                    values[position] = memo[value] = convert(value)
            bound.append(tuple(values))
        return bound


_STATEMENTS: dict[tuple[str, str, str], _Statement] = {}


def _statement(dialect: Dialect, table: Table, kind: str, columns: Sequence[str]) -> _Statement:
    """Build (once per dialect) the INSERT, COPY or UPDATE of `columns` of `table`."""
    key = (dialect.name, table.name, kind)
    cached = _STATEMENTS.get(key)
    if cached is not None:
        return cached
    types = {column.name: column.type for column in table.columns}
    if table is orders:
        types["version_loaded"] = types["version"]
    converters = tuple(
        # Every UtcDateTime column converts an instant the same way, so they share one memo.
        (position, "utc" if isinstance(types[name], UtcDateTime) else f"{table.name}.{name}", bind)
        for position, name in enumerate(columns)
        if (bind := types[name].dialect_impl(dialect).bind_processor(dialect)) is not None
    )
    preparer = dialect.identifier_preparer
    names = ", ".join(preparer.quote(name) for name in columns)
    target = preparer.format_table(table)
    if kind == "copy":
        sql = f"COPY {target} ({names}) FROM STDIN"
    elif kind == "insert":
        marks = ", ".join(["?" if dialect.paramstyle == "qmark" else "%s"] * len(columns))
        # Every name comes from the table definition and is quoted by the dialect.
        sql = f"INSERT INTO {target} ({names}) VALUES ({marks})"  # noqa: S608
    elif kind == "update" and dialect.name == "postgresql":
        sql = _POSTGRES_UPDATE_ORDERS
    elif kind == "update":
        sql = _SQLITE_UPDATE_ORDERS
    else:
        raise ValueError(f"unknown statement kind {kind!r}")
    statement = _Statement(sql=sql, converters=converters)
    _STATEMENTS[key] = statement
    return statement


# SQLite runs one prepared UPDATE per row in C; `executemany` reports the total row count.
# The numbered parameters follow ORDER_UPDATE_COLUMNS.
_SQLITE_UPDATE_ORDERS = """
UPDATE orders SET status = ?4, version = ?5, on_hold = ?6, disputed = ?7,
    last_occurred_at = ?8, updated_at = ?9, state = ?10
WHERE tenant_id = ?1 AND order_id = ?2 AND version = ?3
"""

# PostgreSQL would plan and execute one statement per row; one UPDATE joined to the rows as arrays
# does the same work as a single statement and still reports how many rows matched. The arrays
# travel in binary (%b): in text, every quote in the JSON state would be escaped by a regex.
_POSTGRES_UPDATE_ORDERS = """
UPDATE orders SET status = v.status, version = v.version, on_hold = v.on_hold,
    disputed = v.disputed, last_occurred_at = v.last_occurred_at, updated_at = v.updated_at,
    state = v.state
FROM unnest(
    %b::varchar[], %b::varchar[], %b::integer[], %b::varchar[], %b::integer[], %b::boolean[],
    %b::boolean[], %b::timestamptz[], %b::timestamptz[], %b::text[]
) AS v(tenant_id, order_id, version_loaded, status, version, on_hold, disputed,
       last_occurred_at, updated_at, state)
WHERE orders.tenant_id = v.tenant_id AND orders.order_id = v.order_id
    AND orders.version = v.version_loaded
"""


def _any_of(column: ColumnElement[str], name: str, *, postgres: bool) -> ColumnElement[bool]:
    """`column IN (keys)`; on PostgreSQL `column = ANY(array)`, one short statement for any
    number of keys, which psycopg caches instead of parsing 500 placeholders for every batch."""
    if postgres:
        return column == any_(bindparam(name, type_=postgresql.ARRAY(String)))
    return column.in_(bindparam(name, expanding=True))


def _find_events(*, postgres: bool) -> Select[Any]:
    return select(
        events.c.event_id,
        events.c.checksum_sha256,
        events.c.order_id,
        events.c.order_version,
        events.c.status_after,
        events.c.effect,
        events.c.late,
        events.c.recorded_at,
    ).where(
        events.c.tenant_id == bindparam("tenant_id"),
        _any_of(events.c.event_id, "event_ids", postgres=postgres),
    )


def _load_orders(*, postgres: bool) -> Select[Any]:
    query = select(orders.c.order_id, orders.c.status, orders.c.version, orders.c.state).where(
        orders.c.tenant_id == bindparam("tenant_id"),
        _any_of(orders.c.order_id, "order_ids", postgres=postgres),
    )
    if postgres:
        # Lock in key order so two batches touching the same orders cannot deadlock.
        query = query.order_by(orders.c.order_id).with_for_update()
    return query


# The reads are built once: SQLAlchemy then reuses their cache key and compiled form, instead of
# constructing and keying a new statement for every batch (a third of a one-event batch's time).
# Keyed by "is this PostgreSQL".
_FIND_EVENTS = {postgres: _find_events(postgres=postgres) for postgres in (False, True)}
_LOAD_ORDERS = {postgres: _load_orders(postgres=postgres) for postgres in (False, True)}


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
        # Values already converted for the driver in this unit of work (see _Statement.bind).
        self._converted: dict[str, dict[Any, Any]] = {}

    def find_events(self, *, tenant_id: str, event_ids: Collection[str]) -> dict[str, StoredEvent]:
        found: dict[str, StoredEvent] = {}
        for chunk in _chunks(event_ids):
            rows = self._connection.execute(
                _FIND_EVENTS[self._postgres], {"tenant_id": tenant_id, "event_ids": chunk}
            )
            for row in rows:
                found[row.event_id] = StoredEvent(**row._asdict())
        return found

    def load_orders(self, *, tenant_id: str, order_ids: Collection[str]) -> dict[str, Order]:
        loaded: dict[str, Order] = {}
        query = _LOAD_ORDERS[self._postgres]
        for chunk in _chunks(order_ids):
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
            self._insert(events, EVENT_COLUMNS, [_event_values(e) for e in changes.events])
        if changes.transitions:
            rows = [_transition_values(t) for t in changes.transitions]
            self._insert(transitions, TRANSITION_COLUMNS, rows)
        if changes.created:
            self._insert(orders, ORDER_COLUMNS, [_projection(o, now=now) for o in changes.created])
        if changes.updated:
            self._update_orders(changes.updated, now=now)
        if changes.outbox:
            self._insert(outbox, OUTBOX_COLUMNS, [_outbox_values(m) for m in changes.outbox])
        if changes.quarantine:
            position = QUARANTINE_COLUMNS.index("field_errors")
            rejected = []
            for rejection in changes.quarantine:
                row = list(_quarantine_values(rejection))
                row[position] = canonical_json(rejection.field_errors)
                rejected.append(row)
            self._insert(quarantine, QUARANTINE_COLUMNS, rejected)

    def _insert(self, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        if self._postgres and len(rows) >= COPY_ROWS_MIN:
            copy = _statement(self._dialect, table, "copy", columns)
            driver = self._connection.connection.driver_connection
            assert driver is not None
            with self._errors_as_sqlalchemy(copy.sql):
                bound = copy.bind(rows, converted=self._converted)
                with driver.cursor() as cursor, cursor.copy(copy.sql) as stream:
                    for row in bound:
                        stream.write_row(row)
            return
        insert = _statement(self._dialect, table, "insert", columns)
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
        update = _statement(self._dialect, orders, "update", ORDER_UPDATE_COLUMNS)
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
