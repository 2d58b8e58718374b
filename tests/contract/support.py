"""Build the Changes a unit of work writes straight from builder envelopes, without ingest."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ordertrail.domain.canonical import canonical_json, sha256_hex
from ordertrail.domain.orders import Order, parse_event
from ordertrail.services.ports import (
    Changes,
    NewEvent,
    NewTransition,
    OutboxMessage,
    Rejection,
)
from tests.conftest import NOW


def record(
    raw: dict[str, Any], *, orders: dict[str, Order], changes: Changes, now: datetime = NOW
) -> Order:
    """Apply one envelope to `orders` (placing if new) and add its rows to `changes`."""
    event = parse_event(raw, now=now)
    order = orders.get(event.order_id)
    if order is None:
        order, change = Order.place(event)
        orders[event.order_id] = order
        changes.created.append(order)
    else:
        change = order.apply(event)
    body = canonical_json(raw)
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
            body=body,
            checksum_sha256=sha256_hex(body),
            actor="key:test",
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
                actor="key:test",
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
            lane="critical",
            body="{}",
            created_at=now,
        )
    )
    return order


def rejection(
    quarantine_id: str,
    *,
    tenant_id: str = "acme",
    order_id: str | None = "SO-1",
    reason_code: str = "unknown_shipment",
    received_at: datetime = NOW,
) -> Rejection:
    body = canonical_json({"order_id": order_id, "n": quarantine_id})
    return Rejection(
        quarantine_id=quarantine_id,
        tenant_id=tenant_id,
        received_at=received_at,
        reason_code=reason_code,
        reason=f"refused: {reason_code}",
        field_errors=[{"loc": "payload", "code": reason_code, "message": "no"}],
        body=body,
        checksum_sha256=sha256_hex(body),
        actor="key:test",
        event_id=f"e-{quarantine_id}",
        order_id=order_id,
        event_type="shipment.delivered",
        source="carrier:ups",
    )
