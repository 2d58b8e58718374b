"""The ports the services need. Adapters implement them; tests use the in-memory fakes."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self

from ordertrail.domain.orders import Order


class ConcurrentWrite(Exception):
    """Another transaction changed the same rows first; the whole unit of work may be retried."""


# Per-event records of the ingest hot path are plain (unfrozen) slotted dataclasses: a frozen
# dataclass's __init__ pays object.__setattr__ per field, measurably slowing batched ingest.
# Nothing mutates them after construction.
@dataclass(slots=True)
class StoredEvent:
    """What idempotency needs to know about an event that was already applied."""

    event_id: str
    checksum_sha256: str
    order_id: str
    order_version: int
    status_after: str
    effect: str
    late: bool
    recorded_at: datetime


@dataclass(slots=True)
class NewEvent:
    tenant_id: str
    event_id: str
    event_type: str
    schema_version: int
    source: str
    order_id: str
    occurred_at: datetime
    recorded_at: datetime
    body: str
    checksum_sha256: str
    actor: str
    order_version: int
    status_after: str
    effect: str
    late: bool


@dataclass(slots=True)
class NewTransition:
    tenant_id: str
    order_id: str
    order_version: int
    from_status: str | None
    to_status: str
    cause_event_id: str
    actor: str
    occurred_at: datetime
    recorded_at: datetime


@dataclass(slots=True)
class OutboxMessage:
    tenant_id: str
    order_id: str
    event_id: str
    event_type: str
    lane: str
    body: str
    created_at: datetime
    # The W3C trace context of the request that ingested the event; the relay sends it on as the
    # message's `traceparent` header. Last, because the SQL writer takes columns in field order.
    traceparent: str | None = None


@dataclass(frozen=True, slots=True)
class Rejection:
    """A quarantined submission: everything the client sent, and why it was refused."""

    quarantine_id: str
    tenant_id: str
    received_at: datetime
    reason_code: str
    reason: str
    field_errors: list[dict[str, str]]
    body: str
    checksum_sha256: str
    actor: str
    event_id: str | None = None
    order_id: str | None = None
    event_type: str | None = None
    source: str | None = None


@dataclass(slots=True)
class Changes:
    """Everything one ingest transaction writes, gathered so adapters can write it in bulk."""

    events: list[NewEvent] = field(default_factory=list)
    transitions: list[NewTransition] = field(default_factory=list)
    created: list[Order] = field(default_factory=list)
    # (order, version it had when loaded): the update must find that version still there.
    updated: list[tuple[Order, int]] = field(default_factory=list)
    outbox: list[OutboxMessage] = field(default_factory=list)
    quarantine: list[Rejection] = field(default_factory=list)


class OrderRepository(Protocol):
    def find_events(self, *, tenant_id: str, event_ids: Collection[str]) -> dict[str, StoredEvent]:
        """Return the already-applied events among `event_ids`, keyed by event id."""
        ...

    def load_orders(self, *, tenant_id: str, order_ids: Collection[str]) -> dict[str, Order]:
        """Load (and on PostgreSQL lock) the orders that exist among `order_ids`."""
        ...

    def write(self, *, changes: Changes, now: datetime) -> None:
        """Write all of `changes`; raise ConcurrentWrite if another writer got there first."""
        ...


class UnitOfWork(Protocol):
    orders: OrderRepository

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]


@dataclass(frozen=True, slots=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


class OrderQueries(Protocol):
    """Read models for the API and CLI. They never write."""

    def get_order(self, *, tenant_id: str, order_id: str) -> dict[str, Any] | None: ...

    def timeline(self, *, tenant_id: str, order_id: str) -> dict[str, Any] | None: ...

    def list_orders(
        self,
        *,
        tenant_id: str,
        status: str | None,
        updated_before: datetime | None,
        limit: int,
        cursor: str | None,
    ) -> Page: ...

    def list_quarantine(
        self,
        *,
        tenant_id: str,
        order_id: str | None,
        reason_code: str | None,
        limit: int,
        cursor: str | None,
    ) -> Page: ...

    def quarantined(
        self,
        *,
        tenant_id: str,
        quarantine_ids: Collection[str] | None,
        order_id: str | None,
        limit: int,
    ) -> list[dict[str, Any]]:
        """Return quarantine items by id, or an order's items not applied since, oldest first."""
        ...

    def count_orders_by_status(self, *, tenant_id: str) -> dict[str, int]: ...


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    key_id: str
    tenant_id: str
    name: str
    roles: tuple[str, ...]
    secret_sha256: str
    created_at: datetime
    revoked_at: datetime | None = None
    # The person the key belongs to: two keys with one owner are one requester to dual approval.
    owner: str | None = None


class KeyStore(Protocol):
    def add(self, *, key: ApiKeyRecord) -> None: ...

    def get(self, *, key_id: str) -> ApiKeyRecord | None: ...

    def list(self, *, tenant_id: str | None) -> list[ApiKeyRecord]: ...

    def revoke(self, *, key_id: str, revoked_at: datetime) -> bool: ...


class Clock(Protocol):
    def now(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """One accepted event as stored: its position in the log and the envelope as received."""

    seq: int
    tenant_id: str
    order_id: str
    body: str
    checksum_sha256: str
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class ProjectionRow:
    tenant_id: str
    order_id: str
    status: str
    version: int
    state: dict[str, Any]


class EventLog(Protocol):
    """Read access to the append-only event log and the projection, for replays and checks."""

    def read(self, *, tenant_id: str | None, after_seq: int, limit: int) -> list[LoggedEvent]:
        """Return up to `limit` events with seq > after_seq, in seq order."""
        ...

    def projections(
        self, *, tenant_id: str | None, after: tuple[str, str] | None, limit: int
    ) -> list[ProjectionRow]:
        """Return up to `limit` projection rows ordered by (tenant_id, order_id), after `after`."""
        ...


@dataclass(frozen=True, slots=True)
class ImportProgress:
    """How far one batch file got for one tenant, with running counts: what a re-run resumes."""

    tenant_id: str
    file_sha256: str
    file_name: str
    actor: str
    # Every record that starts on or before this line of the file has been committed.
    line_committed: int
    applied: int
    duplicate: int
    rejected: int
    conflict: int
    unparseable: int
    started_at: datetime
    updated_at: datetime
    finished_at: datetime | None = None


class ImportLog(Protocol):
    """Progress of batch-file imports, keyed by tenant and the file's SHA-256."""

    def begin(self, *, progress: ImportProgress) -> ImportProgress:
        """Record a new import, or return the one already recorded for this tenant and file."""
        ...

    def save(self, *, progress: ImportProgress) -> None:
        """Record progress; a save never moves `line_committed` backwards."""
        ...
