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

import base64
import json
import threading
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from ordertrail.domain.canonical import canonical_json
from ordertrail.domain.orders import Order, order_from_state, order_to_state
from ordertrail.services.ports import (
    ApiKeyRecord,
    Changes,
    ConcurrentWrite,
    ImportProgress,
    LoggedEvent,
    NewEvent,
    NewTransition,
    OrderRepository,
    OutboxMessage,
    Page,
    ProjectionRow,
    Rejection,
    StoredEvent,
)

# The same bounds the SQL adapters put on their reads.
TIMELINE_EVENTS_MAX = 10_000
KEYS_LIST_MAX = 10_000


def _utc(value: datetime) -> datetime:
    """Store timestamps as the databases return them: aware, in UTC."""
    if value.tzinfo is None:
        raise ValueError("naive datetimes are not stored; pass an aware UTC datetime")
    return value.astimezone(UTC)


def _utc_or_none(value: datetime | None) -> datetime | None:
    return None if value is None else _utc(value)


def _iso(value: datetime | None) -> str | None:
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
        placed_at=_utc(order.placed_at),
        last_occurred_at=_utc(order.last_occurred_at),
        created_at=_utc(created_at),
        updated_at=_utc(now),
        state=canonical_json(order_to_state(order)),
    )


def _event_row_value(event: NewEvent) -> NewEvent:
    return replace(event, occurred_at=_utc(event.occurred_at), recorded_at=_utc(event.recorded_at))


def _transition_value(transition: NewTransition) -> NewTransition:
    return replace(
        transition,
        occurred_at=_utc(transition.occurred_at),
        recorded_at=_utc(transition.recorded_at),
    )


def _rejection_value(rejection: Rejection) -> Rejection:
    return replace(
        rejection,
        received_at=_utc(rejection.received_at),
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
            outbox=[replace(m, created_at=_utc(m.created_at)) for m in changes.outbox],
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
        self._database.commit(self._staged)
        # Like a SQL connection after COMMIT: later writes start a new, empty transaction.
        self._staged = _Staged()
        self.orders = MemoryOrderRepository(self._database, self._staged)


# ---- read models ----------------------------------------------------------------------------


def encode_cursor(*parts: str) -> str:
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, *, arity: int) -> list[str]:
    """Decode an opaque cursor, or raise ValueError with a sentence a client can act on."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        parts = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError):
        raise ValueError("the cursor is not one this API issued") from None
    if (
        not isinstance(parts, list)
        or len(parts) != arity
        or not all(isinstance(p, str) for p in parts)
    ):
        raise ValueError("the cursor is not one this API issued")
    return parts


def _cursor_time(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("the cursor is not one this API issued") from None
    if value.tzinfo is None:
        raise ValueError("the cursor is not one this API issued")
    return value.astimezone(UTC)


def _order_document(row: OrderRow) -> dict[str, Any]:
    state = json.loads(row.state)
    return {
        "order_id": row.order_id,
        "tenant_id": row.tenant_id,
        "status": row.status,
        "version": row.version,
        "customer_id": row.customer_id,
        "currency": row.currency,
        "shipping_terms": state["shipping_terms"],
        "package_id": state["package_id"],
        "confirmed": state["confirmed"],
        "flags": {
            "on_hold": row.on_hold,
            "holds": state["holds"],
            "disputed": row.disputed,
            "disputes": state["disputes"],
        },
        "lines": state["lines"],
        "shipments": state["shipments"],
        "billing": {
            "invoiced_minor": state["invoiced_minor"],
            "credited_minor": state["credited_minor"],
            "documents": state["document_ids"],
        },
        "placed_at": _iso(row.placed_at),
        "last_occurred_at": _iso(row.last_occurred_at),
        "created_at": _iso(row.created_at),
        "updated_at": _iso(row.updated_at),
    }


def _quarantine_document(rejection: Rejection, *, now_applied: bool) -> dict[str, Any]:
    return {
        "quarantine_id": rejection.quarantine_id,
        "received_at": _iso(rejection.received_at),
        "event_id": rejection.event_id,
        "order_id": rejection.order_id,
        "event_type": rejection.event_type,
        "source": rejection.source,
        "reason_code": rejection.reason_code,
        "reason": rejection.reason,
        "field_errors": [dict(error) for error in rejection.field_errors],
        "body": rejection.body,
        "checksum_sha256": rejection.checksum_sha256,
        "actor": rejection.actor,
        "now_applied": now_applied,
    }


def _timeline_entry(row: EventRow, transition: NewTransition | None) -> dict[str, Any]:
    event = row.event
    return {
        "sequence": row.seq,
        "event_id": event.event_id,
        "type": event.event_type,
        "schema_version": event.schema_version,
        "source": event.source,
        "occurred_at": _iso(event.occurred_at),
        "recorded_at": _iso(event.recorded_at),
        "actor": event.actor,
        "checksum_sha256": event.checksum_sha256,
        "order_version": event.order_version,
        "status_after": event.status_after,
        "effect": event.effect,
        "late": event.late,
        "envelope": json.loads(event.body),
        "transition": None
        if transition is None
        else {
            "from": transition.from_status,
            "to": transition.to_status,
            "actor": transition.actor,
            "recorded_at": _iso(transition.recorded_at),
        },
    }


class MemoryOrderQueries:
    """The read models over the committed rows only; they never write."""

    def __init__(self, database: MemoryDatabase) -> None:
        self._database = database

    def _now_applied(self, rejection: Rejection) -> bool:
        """True when the quarantined event has since been applied exactly as it was sent."""
        if rejection.event_id is None:
            return False
        row = self._database.event_keys.get((rejection.tenant_id, rejection.event_id))
        return row is not None and row.event.checksum_sha256 == rejection.checksum_sha256

    def _quarantine_documents(self, rows: list[Rejection]) -> list[dict[str, Any]]:
        with self._database.lock:
            return [_quarantine_document(r, now_applied=self._now_applied(r)) for r in rows]

    def get_order(self, *, tenant_id: str, order_id: str) -> dict[str, Any] | None:
        with self._database.lock:
            row = self._database.orders.get((tenant_id, order_id))
        return None if row is None else _order_document(row)

    def timeline(self, *, tenant_id: str, order_id: str) -> dict[str, Any] | None:
        database = self._database
        with database.lock:
            order = database.orders.get((tenant_id, order_id))
            rejected = sorted(
                (
                    r
                    for r in database.quarantine.values()
                    if r.tenant_id == tenant_id and r.order_id == order_id
                ),
                key=lambda r: (r.received_at, r.quarantine_id),
            )[:TIMELINE_EVENTS_MAX]
            if order is None and not rejected:
                return None
            event_rows = sorted(
                (
                    r
                    for r in database.events
                    if r.event.tenant_id == tenant_id and r.event.order_id == order_id
                ),
                key=lambda r: (r.event.occurred_at, r.seq),
            )[:TIMELINE_EVENTS_MAX]
            transition_rows = [
                r.transition
                for r in database.transitions
                if r.transition.tenant_id == tenant_id and r.transition.order_id == order_id
            ][:TIMELINE_EVENTS_MAX]
        by_cause = {t.cause_event_id: t for t in transition_rows}
        return {
            "order_id": order_id,
            "status": None if order is None else order.status,
            "version": None if order is None else order.version,
            "entries": [_timeline_entry(r, by_cause.get(r.event.event_id)) for r in event_rows],
            "transitions": [
                {
                    "order_version": t.order_version,
                    "from": t.from_status,
                    "to": t.to_status,
                    "cause_event_id": t.cause_event_id,
                    "actor": t.actor,
                    "occurred_at": _iso(t.occurred_at),
                    "recorded_at": _iso(t.recorded_at),
                }
                for t in transition_rows
            ],
            "quarantined": self._quarantine_documents(rejected),
        }

    def list_orders(
        self,
        *,
        tenant_id: str,
        status: str | None,
        updated_before: datetime | None,
        limit: int,
        cursor: str | None,
    ) -> Page:
        after: tuple[datetime, str] | None = None
        if cursor is not None:
            updated_at_text, order_id = decode_cursor(cursor, arity=2)
            after = (_cursor_time(updated_at_text), order_id)
        before = _utc_or_none(updated_before)
        with self._database.lock:
            rows = [
                row
                for (tenant, _), row in self._database.orders.items()
                if tenant == tenant_id
                and (status is None or row.status == status)
                and (before is None or row.updated_at < before)
                and (after is None or (row.updated_at, row.order_id) < after)
            ]
        rows.sort(key=lambda row: (row.updated_at, row.order_id), reverse=True)
        next_cursor = None
        if len(rows) > limit:
            last = rows[limit - 1]
            next_cursor = encode_cursor(last.updated_at.isoformat(), last.order_id)
        return Page(items=[_order_document(row) for row in rows[:limit]], next_cursor=next_cursor)

    def list_quarantine(
        self,
        *,
        tenant_id: str,
        order_id: str | None,
        reason_code: str | None,
        limit: int,
        cursor: str | None,
    ) -> Page:
        after: tuple[datetime, str] | None = None
        if cursor is not None:
            received_text, quarantine_id = decode_cursor(cursor, arity=2)
            after = (_cursor_time(received_text), quarantine_id)
        with self._database.lock:
            rows = [
                r
                for r in self._database.quarantine.values()
                if r.tenant_id == tenant_id
                and (order_id is None or r.order_id == order_id)
                and (reason_code is None or r.reason_code == reason_code)
                and (after is None or (r.received_at, r.quarantine_id) < after)
            ]
        rows.sort(key=lambda r: (r.received_at, r.quarantine_id), reverse=True)
        rows = rows[: limit + 1]
        documents = self._quarantine_documents(rows[:limit])
        next_cursor = None
        if len(rows) > limit:
            last = rows[limit - 1]
            next_cursor = encode_cursor(last.received_at.isoformat(), last.quarantine_id)
        return Page(items=documents, next_cursor=next_cursor)

    def quarantined(
        self,
        *,
        tenant_id: str,
        quarantine_ids: Collection[str] | None,
        order_id: str | None,
        limit: int,
    ) -> list[dict[str, Any]]:
        wanted = None if quarantine_ids is None else set(quarantine_ids)
        with self._database.lock:
            rows = [
                r
                for r in self._database.quarantine.values()
                if r.tenant_id == tenant_id
                and (wanted is None or r.quarantine_id in wanted)
                and (order_id is None or (r.order_id == order_id and not self._now_applied(r)))
            ]
            rows.sort(key=lambda r: (r.received_at, r.quarantine_id))
            return self._quarantine_documents(rows[:limit])

    def count_orders_by_status(self, *, tenant_id: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        with self._database.lock:
            for (tenant, _), row in self._database.orders.items():
                if tenant == tenant_id:
                    counts[row.status] = counts.get(row.status, 0) + 1
        return counts


class MemoryEventLog:
    """Sequential reads of the committed event log and projection, in bounded pages."""

    def __init__(self, database: MemoryDatabase) -> None:
        self._database = database

    def read(self, *, tenant_id: str | None, after_seq: int, limit: int) -> list[LoggedEvent]:
        with self._database.lock:
            rows = [
                r
                for r in self._database.events
                if r.seq > after_seq and (tenant_id is None or r.event.tenant_id == tenant_id)
            ][:limit]
        return [
            LoggedEvent(
                seq=r.seq,
                tenant_id=r.event.tenant_id,
                order_id=r.event.order_id,
                body=r.event.body,
                checksum_sha256=r.event.checksum_sha256,
                recorded_at=r.event.recorded_at,
            )
            for r in rows
        ]

    def projections(
        self, *, tenant_id: str | None, after: tuple[str, str] | None, limit: int
    ) -> list[ProjectionRow]:
        with self._database.lock:
            keys = sorted(
                key
                for key in self._database.orders
                if (tenant_id is None or key[0] == tenant_id) and (after is None or key > after)
            )[:limit]
            rows = [self._database.orders[key] for key in keys]
        return [
            ProjectionRow(
                tenant_id=row.tenant_id,
                order_id=row.order_id,
                status=row.status,
                version=row.version,
                state=json.loads(row.state),
            )
            for row in rows
        ]


class MemoryKeyStore:
    """API key records; each call is its own committed transaction, as on SQL."""

    def __init__(self, database: MemoryDatabase) -> None:
        self._database = database

    def add(self, *, key: ApiKeyRecord) -> None:
        with self._database.lock:
            if key.key_id in self._database.api_keys:
                raise ValueError(f"key {key.key_id} already exists")
            self._database.api_keys[key.key_id] = replace(
                key,
                roles=tuple(key.roles),
                created_at=_utc(key.created_at),
                revoked_at=_utc_or_none(key.revoked_at),
            )

    def get(self, *, key_id: str) -> ApiKeyRecord | None:
        with self._database.lock:
            return self._database.api_keys.get(key_id)

    def list(self, *, tenant_id: str | None) -> list[ApiKeyRecord]:
        with self._database.lock:
            records = [
                r
                for r in self._database.api_keys.values()
                if tenant_id is None or r.tenant_id == tenant_id
            ]
        records.sort(key=lambda r: (r.created_at, r.key_id))
        return records[:KEYS_LIST_MAX]

    def revoke(self, *, key_id: str, revoked_at: datetime) -> bool:
        with self._database.lock:
            record = self._database.api_keys.get(key_id)
            if record is None or record.revoked_at is not None:
                return False
            self._database.api_keys[key_id] = replace(record, revoked_at=_utc(revoked_at))
            return True


class MemoryImportLog:
    """Progress of batch-file imports, one record per (tenant, file SHA-256)."""

    def __init__(self, database: MemoryDatabase) -> None:
        self._database = database

    def find(self, *, tenant_id: str, file_sha256: str) -> ImportProgress | None:
        with self._database.lock:
            return self._database.imports.get((tenant_id, file_sha256))

    def begin(self, *, progress: ImportProgress) -> ImportProgress:
        key = (progress.tenant_id, progress.file_sha256)
        with self._database.lock:
            existing = self._database.imports.get(key)
            if existing is not None:
                return existing
            self._database.imports[key] = _import_value(progress)
            return progress

    def save(self, *, progress: ImportProgress) -> None:
        key = (progress.tenant_id, progress.file_sha256)
        with self._database.lock:
            existing = self._database.imports.get(key)
            # Never backwards: a slower concurrent run of the same file must not undo ours.
            if existing is None or existing.line_committed > progress.line_committed:
                return
            self._database.imports[key] = replace(
                _import_value(progress),
                file_name=existing.file_name,
                actor=existing.actor,
                started_at=existing.started_at,
            )


def _import_value(progress: ImportProgress) -> ImportProgress:
    return replace(
        progress,
        started_at=_utc(progress.started_at),
        updated_at=_utc(progress.updated_at),
        finished_at=_utc_or_none(progress.finished_at),
    )


class MemoryStorage:
    """Every storage port over one shared in-memory database, wired like `bootstrap()` does."""

    def __init__(self) -> None:
        self.database = MemoryDatabase()
        self.queries = MemoryOrderQueries(self.database)
        self.event_log = MemoryEventLog(self.database)
        self.keys = MemoryKeyStore(self.database)
        self.import_log = MemoryImportLog(self.database)

    def uow_factory(self) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self.database)

    def outbox(self, *, tenant_id: str | None = None) -> list[OutboxMessage]:
        """The committed outbox messages in commit order (no port reads it yet)."""
        with self.database.lock:
            return [
                r.message
                for r in self.database.outbox
                if tenant_id is None or r.message.tenant_id == tenant_id
            ]


if TYPE_CHECKING:
    # The type checker proves the fakes implement the ports they stand in for.
    from ordertrail.services.ports import (
        EventLog,
        ImportLog,
        KeyStore,
        OrderQueries,
        UnitOfWork,
    )

    _repository: type[OrderRepository] = MemoryOrderRepository
    _unit_of_work: type[UnitOfWork] = MemoryUnitOfWork
    _queries: type[OrderQueries] = MemoryOrderQueries
    _event_log: type[EventLog] = MemoryEventLog
    _keys: type[KeyStore] = MemoryKeyStore
    _imports: type[ImportLog] = MemoryImportLog
