"""Ingest: the one path every entry point (REST, batch file, demo, carriers) takes into the store.

One call is one transaction: the raw events, their transitions, the current-state projections,
the outbox rows and the quarantine rows of a batch commit together or not at all. Idempotency
rests on the store's unique (tenant, event id) constraint in that same transaction; the lookup
beforehand only decides which answer to give, and a race that slips past it surfaces as
ConcurrentWrite and a retry of the whole batch.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ordertrail.domain.canonical import canonical_json, canonical_json_of_own, sha256_hex
from ordertrail.domain.orders import (
    Change,
    EventRejected,
    Order,
    OrderEvent,
    SchemaRejected,
    parse_event,
)
from ordertrail.services.milestones import lane_of, milestone_message
from ordertrail.services.ports import (
    Changes,
    ConcurrentWrite,
    NewEvent,
    NewTransition,
    OutboxMessage,
    StoredEvent,
    UnitOfWorkFactory,
)
from ordertrail.services.quarantine import identifying_text, rejection_of
from ordertrail.services.results import IngestResult, Outcome

BATCH_SIZE_MAX = 1000
ATTEMPTS_MAX = 3


@dataclass(frozen=True, slots=True)
class _Candidate:
    index: int
    raw: Any
    body: str
    checksum: str
    event: OrderEvent | None
    rejection: SchemaRejected | None


def ingest(
    *,
    uow_factory: UnitOfWorkFactory,
    raw_events: Sequence[Any],
    tenant_id: str,
    actor: str,
    now: datetime,
    new_id: Callable[[], str],
    traceparent: str | None = None,
) -> list[IngestResult]:
    """Apply a batch of raw JSON events for one tenant; return one result per event, in order.

    `traceparent` is the W3C trace context of the request that brought the batch, if any: every
    outbox row of the batch carries it so the relay and the consumers continue that trace.
    """
    if len(raw_events) > BATCH_SIZE_MAX:
        raise ValueError(f"a batch holds at most {BATCH_SIZE_MAX} events")
    candidates = [
        _screen(index, raw, tenant_id=tenant_id, now=now) for index, raw in enumerate(raw_events)
    ]
    for attempt in range(1, ATTEMPTS_MAX + 1):
        try:
            return _apply(
                uow_factory=uow_factory,
                candidates=candidates,
                tenant_id=tenant_id,
                actor=actor,
                now=now,
                new_id=new_id,
                traceparent=traceparent,
            )
        except ConcurrentWrite:
            if attempt == ATTEMPTS_MAX:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _screen(index: int, raw: Any, *, tenant_id: str, now: datetime) -> _Candidate:
    try:
        body = canonical_json(raw)
        checksum = sha256_hex(body)
    except (ValueError, TypeError, RecursionError) as error:
        # A value with no canonical form (infinity, a lone surrogate) cannot be checksummed;
        # keep an ASCII rendering of it in quarantine rather than failing the whole batch.
        body = json.dumps(raw, ensure_ascii=True, default=repr, check_circular=False)
        rejection = SchemaRejected("malformed_json", f"the event is not canonical JSON: {error}")
        return _Candidate(index, raw, body, sha256_hex(body), None, rejection)
    try:
        event = parse_event(raw, now=now)
        if event.tenant_id != tenant_id:
            raise SchemaRejected(
                "tenant_mismatch",
                f"the event names tenant {event.tenant_id!r} but the key belongs to {tenant_id!r}",
            )
    except SchemaRejected as rejection:
        return _Candidate(index, raw, body, checksum, None, rejection)
    return _Candidate(index, raw, body, checksum, event, None)


def _apply(
    *,
    uow_factory: UnitOfWorkFactory,
    candidates: list[_Candidate],
    tenant_id: str,
    actor: str,
    now: datetime,
    new_id: Callable[[], str],
    traceparent: str | None,
) -> list[IngestResult]:
    events = [c.event for c in candidates if c.event is not None]
    changes = Changes()
    results: list[IngestResult] = []
    with uow_factory() as uow:
        # Lock the orders first (PostgreSQL: SELECT ... FOR UPDATE), then look up the event ids:
        # an event another batch committed while we waited for the lock is then seen as the
        # duplicate it is, instead of being applied a second time to the fresh order.
        orders = uow.orders.load_orders(tenant_id=tenant_id, order_ids={e.order_id for e in events})
        stored = uow.orders.find_events(tenant_id=tenant_id, event_ids={e.event_id for e in events})
        loaded_versions = {order_id: order.version for order_id, order in orders.items()}
        created: dict[str, Order] = {}
        for candidate in candidates:
            result = _one(
                candidate,
                tenant_id=tenant_id,
                stored=stored,
                orders=orders,
                created=created,
                changes=changes,
                actor=actor,
                now=now,
                new_id=new_id,
                traceparent=traceparent,
            )
            results.append(result)
        changes.created = list(created.values())
        changes.updated = [
            (order, version)
            for order_id, version in loaded_versions.items()
            if (order := orders[order_id]).version != version
        ]
        uow.orders.write(changes=changes, now=now)
        uow.commit()
    return results


def _one(
    candidate: _Candidate,
    *,
    tenant_id: str,
    stored: dict[str, StoredEvent],
    orders: dict[str, Order],
    created: dict[str, Order],
    changes: Changes,
    actor: str,
    now: datetime,
    new_id: Callable[[], str],
    traceparent: str | None,
) -> IngestResult:
    event = candidate.event
    if event is None:
        assert candidate.rejection is not None
        return _quarantine(
            candidate,
            candidate.rejection,
            tenant_id=tenant_id,
            changes=changes,
            actor=actor,
            now=now,
            new_id=new_id,
        )
    previous = stored.get(event.event_id)
    if previous is not None:
        if previous.checksum_sha256 == candidate.checksum:
            return _duplicate(candidate.index, previous)
        conflict = EventRejected(
            "idempotency_conflict",
            f"event {event.event_id} was already received with a different payload "
            f"(checksum {previous.checksum_sha256[:12]}…); event ids must not be reused",
        )
        return _quarantine(
            candidate,
            conflict,
            tenant_id=tenant_id,
            changes=changes,
            actor=actor,
            now=now,
            new_id=new_id,
        )
    order = orders.get(event.order_id)
    try:
        if order is None:
            order, change = Order.place(event)
            orders[event.order_id] = created[event.order_id] = order
        else:
            change = order.apply(event)
    except EventRejected as rejection:
        return _quarantine(
            candidate,
            rejection,
            tenant_id=tenant_id,
            changes=changes,
            actor=actor,
            now=now,
            new_id=new_id,
        )
    record = _record(
        candidate,
        event,
        order,
        change,
        changes=changes,
        actor=actor,
        now=now,
        traceparent=traceparent,
    )
    stored[event.event_id] = record
    return IngestResult(
        index=candidate.index,
        outcome=Outcome.APPLIED,
        event_id=event.event_id,
        order_id=event.order_id,
        order_status=order.status.value,
        order_version=order.version,
        effect=change.effect,
        late=change.late,
    )


def _record(
    candidate: _Candidate,
    event: OrderEvent,
    order: Order,
    change: Change,
    *,
    changes: Changes,
    actor: str,
    now: datetime,
    traceparent: str | None,
) -> StoredEvent:
    changes.events.append(
        NewEvent(
            tenant_id=event.tenant_id,
            event_id=event.event_id,
            event_type=event.type,
            schema_version=event.schema_version,
            source=event.source,
            order_id=event.order_id,
            occurred_at=event.occurred_at,
            recorded_at=now,
            body=candidate.body,
            checksum_sha256=candidate.checksum,
            actor=actor,
            order_version=order.version,
            status_after=order.status.value,
            effect=change.effect,
            late=change.late,
        )
    )
    if change.status_changed:
        changes.transitions.append(
            NewTransition(
                tenant_id=event.tenant_id,
                order_id=event.order_id,
                order_version=order.version,
                from_status=None if change.from_status is None else change.from_status.value,
                to_status=change.to_status.value,
                cause_event_id=event.event_id,
                actor=actor,
                occurred_at=event.occurred_at,
                recorded_at=now,
            )
        )
    changes.outbox.append(
        OutboxMessage(
            tenant_id=event.tenant_id,
            order_id=event.order_id,
            event_id=event.event_id,
            event_type=event.type,
            lane=lane_of(event.type),
            body=canonical_json_of_own(
                milestone_message(event=event, order=order, change=change, recorded_at=now)
            ),
            created_at=now,
            traceparent=traceparent,
        )
    )
    return StoredEvent(
        event_id=event.event_id,
        checksum_sha256=candidate.checksum,
        order_id=event.order_id,
        order_version=order.version,
        status_after=order.status.value,
        effect=change.effect,
        late=change.late,
        recorded_at=now,
    )


def _duplicate(index: int, previous: StoredEvent) -> IngestResult:
    return IngestResult(
        index=index,
        outcome=Outcome.DUPLICATE,
        event_id=previous.event_id,
        order_id=previous.order_id,
        order_status=previous.status_after,
        order_version=previous.order_version,
        effect=previous.effect,
        late=previous.late,
    )


def _quarantine(
    candidate: _Candidate,
    rejection: EventRejected,
    *,
    tenant_id: str,
    changes: Changes,
    actor: str,
    now: datetime,
    new_id: Callable[[], str],
) -> IngestResult:
    raw = candidate.raw if isinstance(candidate.raw, dict) else {}
    field_errors = [error.as_dict() for error in rejection.field_errors]
    quarantine_id = new_id()
    changes.quarantine.append(
        rejection_of(
            quarantine_id=quarantine_id,
            tenant_id=tenant_id,
            received_at=now,
            reason_code=rejection.code,
            reason=rejection.message,
            field_errors=field_errors,
            body=candidate.body,
            checksum_sha256=candidate.checksum,
            actor=actor,
            raw=raw,
        )
    )
    outcome = Outcome.CONFLICT if rejection.code == "idempotency_conflict" else Outcome.REJECTED
    return IngestResult(
        index=candidate.index,
        outcome=outcome,
        event_id=identifying_text(raw.get("event_id")),
        error_code=rejection.code,
        error_kind=rejection.kind,
        message=rejection.message,
        field_errors=field_errors,
        quarantine_id=quarantine_id,
    )
