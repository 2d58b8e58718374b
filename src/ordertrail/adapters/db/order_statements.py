"""Prepared statements and column layouts of the SQL order store, built once per dialect."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from sqlalchemy import (
    Dialect,
    Select,
    String,
    Table,
    any_,
    bindparam,
    select,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.elements import ColumnElement

from ordertrail.adapters.db.tables import (
    UtcDateTime,
    events,
    orders,
)
from ordertrail.services.ports import (
    NewEvent,
    NewTransition,
    OutboxMessage,
    Rejection,
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

event_values = attrgetter(*EVENT_COLUMNS)
transition_values = attrgetter(*TRANSITION_COLUMNS)
outbox_values = attrgetter(*OUTBOX_COLUMNS)
quarantine_values = attrgetter(*QUARANTINE_COLUMNS)


def chunks(values: Collection[str]) -> list[list[str]]:
    items = sorted(values)
    return [items[i : i + IN_CHUNK] for i in range(0, len(items), IN_CHUNK)]


@dataclass(frozen=True, slots=True)
class Statement:
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


_STATEMENTS: dict[tuple[str, str, str], Statement] = {}


def statement_for(dialect: Dialect, table: Table, kind: str, columns: Sequence[str]) -> Statement:
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
        sql = POSTGRES_UPDATE_ORDERS
    elif kind == "update":
        sql = SQLITE_UPDATE_ORDERS
    else:
        raise ValueError(f"unknown statement kind {kind!r}")
    statement = Statement(sql=sql, converters=converters)
    _STATEMENTS[key] = statement
    return statement


# SQLite runs one prepared UPDATE per row in C; `executemany` reports the total row count.
# The numbered parameters follow ORDER_UPDATE_COLUMNS.
SQLITE_UPDATE_ORDERS = """
UPDATE orders SET status = ?4, version = ?5, on_hold = ?6, disputed = ?7,
    last_occurred_at = ?8, updated_at = ?9, state = ?10
WHERE tenant_id = ?1 AND order_id = ?2 AND version = ?3
"""

# PostgreSQL would plan and execute one statement per row; one UPDATE joined to the rows as arrays
# does the same work as a single statement and still reports how many rows matched. The arrays
# travel in binary (%b): in text, every quote in the JSON state would be escaped by a regex.
POSTGRES_UPDATE_ORDERS = """
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


def any_of(column: ColumnElement[str], name: str, *, postgres: bool) -> ColumnElement[bool]:
    """`column IN (keys)`; on PostgreSQL `column = ANY(array)`, one short statement for any
    number of keys, which psycopg caches instead of parsing 500 placeholders for every batch."""
    if postgres:
        return column == any_(bindparam(name, type_=postgresql.ARRAY(String)))
    return column.in_(bindparam(name, expanding=True))


def find_events_query(*, postgres: bool) -> Select[Any]:
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
        any_of(events.c.event_id, "event_ids", postgres=postgres),
    )


def load_orders_query(*, postgres: bool) -> Select[Any]:
    query = select(orders.c.order_id, orders.c.status, orders.c.version, orders.c.state).where(
        orders.c.tenant_id == bindparam("tenant_id"),
        any_of(orders.c.order_id, "order_ids", postgres=postgres),
    )
    if postgres:
        # Lock in key order so two batches touching the same orders cannot deadlock.
        query = query.order_by(orders.c.order_id).with_for_update()
    return query


# The reads are built once: SQLAlchemy then reuses their cache key and compiled form, instead of
# constructing and keying a new statement for every batch (a third of a one-event batch's time).
# Keyed by "is this PostgreSQL".
FIND_EVENTS = {postgres: find_events_query(postgres=postgres) for postgres in (False, True)}
LOAD_ORDERS = {postgres: load_orders_query(postgres=postgres) for postgres in (False, True)}
