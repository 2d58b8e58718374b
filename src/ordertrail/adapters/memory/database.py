"""In-memory fakes of every storage port, for fast service tests and the storage contract suite.

They are real implementations, not mocks: the same unique keys, the same optimistic version check
and the same transaction semantics as the SQL adapters. Changes made in a unit of work are staged
and become visible to anyone else only on commit; leaving the unit of work without committing
discards them. Rows are stored as values (order state as canonical JSON text, timestamps in UTC),
so no caller can change committed data by mutating an object it was handed.

Reads follow PostgreSQL's READ COMMITTED: each call sees the latest committed rows plus the unit
of work's own staged writes. Conflicts are checked when `write` is called and again at `commit`,
because another unit of work may have committed in between (PostgreSQL would have made the later
writer wait on the row, then fail it).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import TracebackType
from typing import Self

from ordertrail.adapters.memory.approvals import ApprovalTables, MemoryApprovalStore
from ordertrail.adapters.memory.audit import AuditTables, MemoryAuditLog
from ordertrail.adapters.memory.controls import ControlsTables, MemoryControlsStore
from ordertrail.adapters.memory.disputes import DisputeTables, MemoryDisputeStore
from ordertrail.adapters.memory.revenue import (
    MemoryCatalogStore,
    MemoryLedgerStore,
    MemoryRevenueStore,
    RevenueTables,
    RevenueTransaction,
)
from ordertrail.domain.canonical import canonical_json_of_own
from ordertrail.domain.orders import Order, order_from_state, order_to_state
from ordertrail.services.ports import (
    ApiKeyRecord,
    Changes,
    ConcurrentWrite,
    ImportProgress,
    NewEvent,
    NewTransition,
    OrderRepository,
    OutboxMessage,
    Rejection,
    StoredEvent,
)

# The same bounds the SQL adapters put on their reads.
TIMELINE_EVENTS_MAX = 10_000
KEYS_LIST_MAX = 10_000


def as_utc(value: datetime) -> datetime:
    """Store timestamps as the databases return them: aware, in UTC."""
    if value.tzinfo is None:
        raise ValueError("naive datetimes are not stored; pass an aware UTC datetime")
    return value.astimezone(UTC)


def utc_or_none(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


def iso_or_none(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


# ---- rows -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EventRow:
    seq: int
    event: NewEvent


@dataclass(frozen=True, slots=True)
class TransitionRow:
    id: int
    transition: NewTransition


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    message: OutboxMessage
    published_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class OrderRow:
    """One row of the current-state projection, as the `orders` table holds it."""

    tenant_id: str
    order_id: str
    status: str
    version: int
    customer_id: str
    currency: str
    on_hold: bool
    disputed: bool
    placed_at: datetime
    last_occurred_at: datetime
    created_at: datetime
    updated_at: datetime
    state: str


def _order_row(order: Order, *, now: datetime, created_at: datetime) -> OrderRow:
    return OrderRow(
        tenant_id=order.tenant_id,
        order_id=order.order_id,
        status=order.status.value,
        version=order.version,
        customer_id=order.customer_id,
        currency=order.currency,
        on_hold=order.on_hold,
        disputed=order.disputed,
        placed_at=as_utc(order.placed_at),
        last_occurred_at=as_utc(order.last_occurred_at),
        created_at=as_utc(created_at),
        updated_at=as_utc(now),
        state=canonical_json_of_own(order_to_state(order)),
    )


def _event_row_value(event: NewEvent) -> NewEvent:
    return replace(
        event, occurred_at=as_utc(event.occurred_at), recorded_at=as_utc(event.recorded_at)
    )


def _transition_value(transition: NewTransition) -> NewTransition:
    return replace(
        transition,
        occurred_at=as_utc(transition.occurred_at),
        recorded_at=as_utc(transition.recorded_at),
    )


def _rejection_value(rejection: Rejection) -> Rejection:
    return replace(
        rejection,
        received_at=as_utc(rejection.received_at),
        field_errors=[dict(error) for error in rejection.field_errors],
    )


# ---- the database ---------------------------------------------------------------------------


@dataclass(slots=True)
class _Staged:
    """What one unit of work has written but not committed."""

    events: list[NewEvent] = field(default_factory=list)
    transitions: list[NewTransition] = field(default_factory=list)
    # key -> (row to store, version the committed row must still have; None if created here)
    orders: dict[tuple[str, str], tuple[OrderRow, int | None]] = field(default_factory=dict)
    outbox: list[OutboxMessage] = field(default_factory=list)
    quarantine: list[Rejection] = field(default_factory=list)


class MemoryDatabase:
    """The committed rows of every table, guarded by one lock."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.events: list[EventRow] = []
        self.event_keys: dict[tuple[str, str], EventRow] = {}
        self.transitions: list[TransitionRow] = []
        self.transition_keys: set[tuple[str, str, int]] = set()
        self.orders: dict[tuple[str, str], OrderRow] = {}
        self.outbox: list[OutboxRow] = []
        self.outbox_keys: set[tuple[str, str]] = set()
        self.quarantine: dict[str, Rejection] = {}
        self.api_keys: dict[str, ApiKeyRecord] = {}
        self.imports: dict[tuple[str, str], ImportProgress] = {}
        self._next_seq = 1
        self._next_transition_id = 1
        self._next_outbox_id = 1
        self.revenue = RevenueTables()
        self.controls = ControlsTables()
        self.audit = AuditTables()
        self.approvals = ApprovalTables()
        self.disputes = DisputeTables()

    # -- checks shared by write and commit --

    def conflicts(self, staged: _Staged, *, adding: _Staged) -> str | None:
        """Say why `adding` cannot join `staged` on top of the committed rows, or None."""
        event_keys = {(e.tenant_id, e.event_id) for e in staged.events}
        for event in adding.events:
            key = (event.tenant_id, event.event_id)
            if key in self.event_keys or key in event_keys:
                return f"event {event.event_id} already stored for tenant {event.tenant_id}"
            event_keys.add(key)
        transition_keys = {(t.tenant_id, t.order_id, t.order_version) for t in staged.transitions}
        for transition in adding.transitions:
            tkey = (transition.tenant_id, transition.order_id, transition.order_version)
            if tkey in self.transition_keys or tkey in transition_keys:
                return f"transition {tkey} already stored"
            transition_keys.add(tkey)
        outbox_keys = {(m.tenant_id, m.event_id) for m in staged.outbox}
        for message in adding.outbox:
            okey = (message.tenant_id, message.event_id)
            if okey in self.outbox_keys or okey in outbox_keys:
                return f"outbox message for event {message.event_id} already stored"
            outbox_keys.add(okey)
        quarantine_ids = {r.quarantine_id for r in staged.quarantine}
        for rejection in adding.quarantine:
            if (
                rejection.quarantine_id in self.quarantine
                or rejection.quarantine_id in quarantine_ids
            ):
                return f"quarantine id {rejection.quarantine_id} already used"
            quarantine_ids.add(rejection.quarantine_id)
        for key, (row, expected) in adding.orders.items():
            problem = self._order_conflict(key, row=row, expected=expected, staged=staged)
            if problem is not None:
                return problem
        return None

    def _order_conflict(
        self, key: tuple[str, str], *, row: OrderRow, expected: int | None, staged: _Staged
    ) -> str | None:
        mine = staged.orders.get(key)
        current = mine[0] if mine is not None else self.orders.get(key)
        if expected is None:
            if current is not None:
                return f"order {row.order_id} already exists"
            return None
        if current is None or current.version != expected:
            return f"order {row.order_id} changed since it was loaded"
        return None

    def commit(self, staged: _Staged) -> None:
        """Make staged writes visible all at once, or raise ConcurrentWrite and change nothing."""
        with self.lock:
            # Re-check against what others committed since the writes were staged.
            problem = self.conflicts(_Staged(), adding=staged)
            if problem is not None:
                raise ConcurrentWrite(problem)
            for event in staged.events:
                row = EventRow(seq=self._next_seq, event=event)
                self._next_seq += 1
                self.events.append(row)
                self.event_keys[(event.tenant_id, event.event_id)] = row
            for transition in staged.transitions:
                self.transitions.append(
                    TransitionRow(id=self._next_transition_id, transition=transition)
                )
                self._next_transition_id += 1
                self.transition_keys.add(
                    (transition.tenant_id, transition.order_id, transition.order_version)
                )
            for key, (order_row, _expected) in staged.orders.items():
                self.orders[key] = order_row
            for message in staged.outbox:
                self.outbox.append(OutboxRow(id=self._next_outbox_id, message=message))
                self._next_outbox_id += 1
                self.outbox_keys.add((message.tenant_id, message.event_id))
            for rejection in staged.quarantine:
                self.quarantine[rejection.quarantine_id] = rejection


# ---- the unit of work -----------------------------------------------------------------------


class MemoryOrderRepository:
    def __init__(self, database: MemoryDatabase, staged: _Staged) -> None:
        self._database = database
        self._staged = staged

    def find_events(self, *, tenant_id: str, event_ids: Collection[str]) -> dict[str, StoredEvent]:
        wanted = set(event_ids)
        with self._database.lock:
            committed = [
                row.event
                for event_id in wanted
                if (row := self._database.event_keys.get((tenant_id, event_id))) is not None
            ]
        mine = [e for e in self._staged.events if e.tenant_id == tenant_id and e.event_id in wanted]
        return {
            e.event_id: StoredEvent(
                event_id=e.event_id,
                checksum_sha256=e.checksum_sha256,
                order_id=e.order_id,
                order_version=e.order_version,
                status_after=e.status_after,
                effect=e.effect,
                late=e.late,
                recorded_at=e.recorded_at,
            )
            for e in (*committed, *mine)
        }

    def load_orders(self, *, tenant_id: str, order_ids: Collection[str]) -> dict[str, Order]:
        loaded: dict[str, Order] = {}
        for order_id in sorted(set(order_ids)):
            key = (tenant_id, order_id)
            mine = self._staged.orders.get(key)
            if mine is not None:
                row: OrderRow | None = mine[0]
            else:
                with self._database.lock:
                    row = self._database.orders.get(key)
            if row is not None:
                loaded[order_id] = order_from_state(
                    tenant_id=tenant_id,
                    order_id=order_id,
                    status=row.status,
                    version=row.version,
                    state=json.loads(row.state),
                )
        return loaded

    def write(self, *, changes: Changes, now: datetime) -> None:
        adding = _Staged(
            events=[_event_row_value(e) for e in changes.events],
            transitions=[_transition_value(t) for t in changes.transitions],
            outbox=[replace(m, created_at=as_utc(m.created_at)) for m in changes.outbox],
            quarantine=[_rejection_value(r) for r in changes.quarantine],
        )
        for order in changes.created:
            key = (order.tenant_id, order.order_id)
            if key in adding.orders:
                raise ConcurrentWrite(f"order {order.order_id} created twice in one write")
            adding.orders[key] = (_order_row(order, now=now, created_at=now), None)
        for order, expected in changes.updated:
            key = (order.tenant_id, order.order_id)
            if key in adding.orders:
                raise ConcurrentWrite(f"order {order.order_id} written twice in one write")
            adding.orders[key] = (_order_row(order, now=now, created_at=now), expected)
        with self._database.lock:
            problem = self._database.conflicts(self._staged, adding=adding)
            if problem is not None:
                raise ConcurrentWrite(problem)
            created_at = {
                key: row.created_at
                for key, row in self._database.orders.items()
                if key in adding.orders
            }
        self._stage(adding, created_at=created_at)

    def _stage(self, adding: _Staged, *, created_at: dict[tuple[str, str], datetime]) -> None:
        staged = self._staged
        staged.events.extend(adding.events)
        staged.transitions.extend(adding.transitions)
        staged.outbox.extend(adding.outbox)
        staged.quarantine.extend(adding.quarantine)
        for key, (row, expected) in adding.orders.items():
            earlier = staged.orders.get(key)
            if earlier is not None:
                # Updated twice in one unit of work: keep the version the committed row must have.
                first_expected = earlier[1]
                kept_created_at = earlier[0].created_at
            else:
                first_expected = expected
                kept_created_at = created_at.get(key, row.created_at)
            staged.orders[key] = (replace(row, created_at=kept_created_at), first_expected)


class MemoryUnitOfWork:
    """One transaction: writes are staged, made visible by `commit`, discarded otherwise."""

    orders: OrderRepository

    def __init__(self, database: MemoryDatabase) -> None:
        self._database = database
        self._staged: _Staged | None = None

    def __enter__(self) -> Self:
        self._staged = _Staged()
        self.orders = MemoryOrderRepository(self._database, self._staged)
        self._revenue = RevenueTransaction(self._database.revenue)
        self.revenue = MemoryRevenueStore(self._revenue)
        self.ledger = MemoryLedgerStore(self._revenue)
        self.catalog = MemoryCatalogStore(self._revenue)
        self.controls = MemoryControlsStore(self._database.controls)
        self.audit = MemoryAuditLog(self._database.audit)
        self.approvals = MemoryApprovalStore(self._database.approvals)
        self.disputes = MemoryDisputeStore(self._database.disputes)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Whatever was not committed is rolled back, exactly as the SQL unit of work does.
        self._staged = None

    def commit(self) -> None:
        if self._staged is None:
            raise RuntimeError("commit outside the unit of work")
        # First: a request decided meanwhile by another unit of work fails the commit whole.
        self.approvals.check()
        self.disputes.check()
        self._database.commit(self._staged)
        self._revenue.commit()
        self.controls.commit()
        self.audit.commit()
        self.approvals.commit()
        self.disputes.commit()
        # Like a SQL connection after COMMIT: later writes start a new, empty transaction.
        self._staged = _Staged()
        self.orders = MemoryOrderRepository(self._database, self._staged)
