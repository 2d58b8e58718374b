"""The three contenders: Ordertrail's real ingest path, raw driver inserts, and `eventsourcing`.

Each contender is set up on a fresh database, ingests a list of batches one transaction per batch,
and is closed. Only `ingest` is timed.

- `OrdertrailContender` calls `Ordertrail.ingest` from `bootstrap()`: schema check and upcast,
  idempotency lookup and unique constraint, lock and load of the touched orders, transition,
  projection, outbox row; one transaction per batch.
- `RawContender` writes the rows our path wrote for the same batch (captured beforehand by running
  the real service against an in-memory store), and nothing else: no parsing, no reads, no
  validation. SQLite: `executemany` for events, transitions and outbox and an upsert for the
  projection, in one `BEGIN IMMEDIATE ... COMMIT`, WAL and synchronous=FULL like ours. PostgreSQL:
  `COPY` for the three append-only tables and a pipelined `executemany` upsert for the projection,
  in one READ COMMITTED transaction. Same schema, indexes and constraints as ours (migrated).
- `EventsourcingContender` is an `eventsourcing` Application with one aggregate per order and one
  domain event per ingested event carrying the whole envelope. A batch loads each touched order from
  the repository once (replaying its events; no snapshots, no cache, like our per-batch loads) and
  saves all of the batch's aggregates with one `app.save(*aggregates)`: one transaction.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Collection, Sequence
from dataclasses import fields
from datetime import UTC, datetime
from operator import attrgetter
from types import TracebackType
from typing import Any, Protocol, Self
from uuid import NAMESPACE_URL, UUID, uuid5

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from sqlalchemy import text

from ordertrail.adapters.clock import FixedClock, new_uuid
from ordertrail.adapters.db.engine import make_engine
from ordertrail.bootstrap import Settings, bootstrap
from ordertrail.domain.canonical import canonical_json
from ordertrail.domain.orders import Order, order_from_state, order_to_state
from ordertrail.entrypoints.cli.common import settle_heap
from ordertrail.services import ingest as ingest_service
from ordertrail.services.keys import Principal
from ordertrail.services.ports import (
    Changes,
    NewEvent,
    NewTransition,
    OrderRepository,
    OutboxMessage,
    StoredEvent,
)
from ordertrail.services.results import Outcome

PRINCIPAL = Principal(key_id="bench", tenant_id="bench", roles=("integration",))
Batch = Sequence[dict[str, Any]]


COUNTED_TABLES = ("events", "transitions", "orders", "outbox", "quarantine")


class Contender(Protocol):
    name: str

    def ingest(self, batch: Batch) -> None:
        """Write one batch in one transaction."""
        ...

    def row_counts(self) -> dict[str, int]:
        """Rows in Ordertrail's tables after the run, to show two contenders wrote the same."""
        ...

    def close(self) -> None: ...


# ---- Ordertrail ---------------------------------------------------------------------------------


class OrdertrailContender(Contender):
    name = "ordertrail"

    def __init__(self, *, url: str, now: datetime) -> None:
        self._app = bootstrap(
            settings=Settings(database_url=url),
            engine=make_engine(url),
            clock=FixedClock(now),
            new_id=new_uuid,
        )
        # As the CLI entry points do after bootstrap (entrypoints/cli/common.settle_heap).
        settle_heap()

    def ingest(self, batch: Batch) -> None:
        results = self._app.ingest(raw_events=batch, principal=PRINCIPAL)
        refused = [r for r in results if r.outcome != Outcome.APPLIED]
        if refused:
            raise RuntimeError(f"the workload must be valid, but: {refused[0].as_dict()}")

    def row_counts(self) -> dict[str, int]:
        with self._app.engine.connect() as connection:
            return {
                table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                for table in COUNTED_TABLES
            }

    def close(self) -> None:
        self._app.close()


# ---- raw inserts --------------------------------------------------------------------------------

EVENT_COLUMNS = tuple(f.name for f in fields(NewEvent))
TRANSITION_COLUMNS = tuple(f.name for f in fields(NewTransition))
OUTBOX_COLUMNS = tuple(f.name for f in fields(OutboxMessage))
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
_event_values = attrgetter(*EVENT_COLUMNS)
_transition_values = attrgetter(*TRANSITION_COLUMNS)
_outbox_values = attrgetter(*OUTBOX_COLUMNS)
# The columns our path's UPDATE of an existing projection row sets.
ORDER_UPDATED = (
    "status",
    "version",
    "on_hold",
    "disputed",
    "last_occurred_at",
    "updated_at",
    "state",
)


class BatchRows:
    """The rows one ingest transaction wrote, as plain tuples in column order."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []
        self.transitions: list[tuple[Any, ...]] = []
        self.orders: list[tuple[Any, ...]] = []
        self.outbox: list[tuple[Any, ...]] = []

    def mapped(self, convert: Callable[[Any], Any]) -> BatchRows:
        copy = BatchRows()
        for name in ("events", "transitions", "orders", "outbox"):
            rows = getattr(self, name)
            setattr(copy, name, [tuple(convert(v) for v in row) for row in rows])
        return copy


class _CapturingRepository:
    """An in-memory store that keeps orders as the database does and records what is written."""

    def __init__(self, states: dict[str, tuple[str, int, str]], captured: list[BatchRows]) -> None:
        self._states = states
        self._captured = captured

    def find_events(self, *, tenant_id: str, event_ids: Collection[str]) -> dict[str, StoredEvent]:  # noqa: ARG002
        return {}  # the workload never repeats an event id

    def load_orders(self, *, tenant_id: str, order_ids: Collection[str]) -> dict[str, Order]:
        loaded = {}
        for order_id in order_ids:
            if order_id in self._states:
                status, version, state = self._states[order_id]
                loaded[order_id] = order_from_state(
                    tenant_id=tenant_id,
                    order_id=order_id,
                    status=status,
                    version=version,
                    state=json.loads(state),
                )
        return loaded

    def write(self, *, changes: Changes, now: datetime) -> None:
        rows = BatchRows()
        rows.events = [_event_values(e) for e in changes.events]
        rows.transitions = [_transition_values(t) for t in changes.transitions]
        rows.outbox = [_outbox_values(m) for m in changes.outbox]
        touched = changes.created + [order for order, _ in changes.updated]
        for order in touched:
            state = canonical_json(order_to_state(order))
            self._states[order.order_id] = (order.status.value, order.version, state)
            rows.orders.append(
                (
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
                    state,
                )
            )
        self._captured.append(rows)


class _CapturingUnitOfWork:
    def __init__(self, repository: _CapturingRepository) -> None:
        self.orders: OrderRepository = repository

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
        return None


def capture_rows(*, batches: Sequence[Batch], now: datetime) -> list[BatchRows]:
    """Run the real ingest service on an in-memory store; return the rows of every batch."""
    captured: list[BatchRows] = []
    repository = _CapturingRepository({}, captured)
    for batch in batches:
        ingest_service.ingest(
            uow_factory=lambda: _CapturingUnitOfWork(repository),
            raw_events=batch,
            tenant_id=PRINCIPAL.tenant_id,
            actor=PRINCIPAL.actor,
            now=now,
            new_id=new_uuid,
        )
    return captured


def _sqlite_value(value: Any) -> Any:
    """Store a value as SQLAlchemy does on SQLite: naive UTC datetimes as text, bools as 0/1."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, bool):
        return int(value)
    return value


def _upsert_sql(*, placeholder: str) -> str:
    marks = ", ".join([placeholder] * len(ORDER_COLUMNS))
    sets = ", ".join(f"{c} = excluded.{c}" for c in ORDER_UPDATED)
    return (
        f"INSERT INTO orders ({', '.join(ORDER_COLUMNS)}) VALUES ({marks}) "
        f"ON CONFLICT (tenant_id, order_id) DO UPDATE SET {sets}"
    )


def _insert_sql(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


class RawSqliteContender(Contender):
    name = "raw"

    def __init__(self, *, path: str, rows: list[BatchRows]) -> None:
        # Convert outside the timed region: the baseline is the cost of the writes alone.
        self._rows = iter([batch.mapped(_sqlite_value) for batch in rows])
        self._connection = sqlite3.connect(path, isolation_level=None, timeout=30)
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON"):
            self._connection.execute(f"PRAGMA {pragma}")
        self._events = _insert_sql("events", EVENT_COLUMNS)
        self._transitions = _insert_sql("transitions", TRANSITION_COLUMNS)
        self._outbox = _insert_sql("outbox", OUTBOX_COLUMNS)
        self._orders = _upsert_sql(placeholder="?")

    def ingest(self, batch: Batch) -> None:  # noqa: ARG002 - the rows were captured beforehand
        rows = next(self._rows)
        connection = self._connection
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(self._events, rows.events)
        if rows.transitions:
            connection.executemany(self._transitions, rows.transitions)
        connection.executemany(self._orders, rows.orders)
        connection.executemany(self._outbox, rows.outbox)
        connection.execute("COMMIT")

    def row_counts(self) -> dict[str, int]:
        return {
            table: self._connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in COUNTED_TABLES
        }

    def close(self) -> None:
        self._connection.close()


class RawPostgresContender(Contender):
    name = "raw"

    def __init__(self, *, url: str, rows: list[BatchRows]) -> None:
        self._rows = iter(rows)
        self._connection = psycopg.connect(url)
        self._copies = (
            (f"COPY events ({', '.join(EVENT_COLUMNS)}) FROM STDIN", "events"),
            (f"COPY transitions ({', '.join(TRANSITION_COLUMNS)}) FROM STDIN", "transitions"),
            (f"COPY outbox ({', '.join(OUTBOX_COLUMNS)}) FROM STDIN", "outbox"),
        )
        self._orders = _upsert_sql(placeholder="%s")

    def ingest(self, batch: Batch) -> None:  # noqa: ARG002 - the rows were captured beforehand
        rows = next(self._rows)
        with self._connection.transaction(), self._connection.cursor() as cursor:
            for statement, table in self._copies:
                table_rows = getattr(rows, table)
                if table_rows:
                    with cursor.copy(statement) as copy:
                        for row in table_rows:
                            copy.write_row(row)
            cursor.executemany(self._orders, rows.orders)

    def row_counts(self) -> dict[str, int]:
        with self._connection.cursor() as cursor:
            counts = {}
            for table in COUNTED_TABLES:
                cursor.execute(f"SELECT count(*) FROM {table}")
                row = cursor.fetchone()
                counts[table] = 0 if row is None else row[0]
            self._connection.rollback()
            return counts

    def close(self) -> None:
        self._connection.close()


# ---- eventsourcing ------------------------------------------------------------------------------


class TrackedOrder(Aggregate):
    """One order as an eventsourcing aggregate: each ingested event becomes one domain event."""

    @staticmethod
    def create_id(order_id: str, envelope: dict[str, Any]) -> UUID:  # noqa: ARG004
        return uuid5(NAMESPACE_URL, f"ordertrail:{order_id}")

    @event("Placed")
    def __init__(self, order_id: str, envelope: dict[str, Any]) -> None:
        self.order_id = order_id
        self.last_event_type = envelope["type"]
        self.event_count = 1

    @event("Recorded")
    def record(self, envelope: dict[str, Any]) -> None:
        self.last_event_type = envelope["type"]
        self.event_count += 1


class EventsourcingContender(Contender):
    name = "eventsourcing"

    def __init__(self, *, env: dict[str, str]) -> None:
        self._app: Application[UUID] = Application(env=env)

    def ingest(self, batch: Batch) -> None:
        app = self._app
        touched: dict[str, TrackedOrder] = {}
        for envelope in batch:
            order_id = envelope["order_id"]
            aggregate = touched.get(order_id)
            if aggregate is None and envelope["type"] == "order.placed":
                touched[order_id] = TrackedOrder(order_id=order_id, envelope=envelope)
                continue
            if aggregate is None:
                aggregate = app.repository.get(TrackedOrder.create_id(order_id, envelope))
                touched[order_id] = aggregate
            aggregate.record(envelope=envelope)
        app.save(*touched.values())

    def row_counts(self) -> dict[str, int]:
        return {}  # the library's own table, not ours

    def close(self) -> None:
        self._app.close()


def eventsourcing_sqlite_env(path: str) -> dict[str, str]:
    # The library opens WAL itself and leaves synchronous at SQLite's compiled default, which the
    # bench checks is FULL (2) before trusting the comparison.
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": path,
        "SQLITE_LOCK_TIMEOUT": "30",
    }


def eventsourcing_postgres_env(url: str) -> dict[str, str]:
    parsed = psycopg.conninfo.conninfo_to_dict(url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": str(parsed["dbname"]),
        "POSTGRES_HOST": str(parsed.get("host", "127.0.0.1")),
        "POSTGRES_PORT": str(parsed.get("port", "5432")),
        "POSTGRES_USER": str(parsed.get("user", "postgres")),
        "POSTGRES_PASSWORD": str(parsed.get("password", os.environ.get("PGPASSWORD", ""))),
    }
