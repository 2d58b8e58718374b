"""Read models over SQL: order detail, timeline, keyset-paginated lists. Read-only transactions."""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, func, or_, select

from ordertrail.adapters.db.tables import events, orders, quarantine, transitions
from ordertrail.services.pagination import cursor_time, decode_cursor, page_of
from ordertrail.services.ports import Page
from ordertrail.services.read_models import order_document

TIMELINE_EVENTS_MAX = 10_000


def _before(time_column: Any, key_column: Any, *, at: datetime, key: str) -> Any:
    """Keyset condition for descending (time, key) order: rows strictly after the cursor."""
    return or_(time_column < at, and_(time_column == at, key_column < key))


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def quarantine_document(row: Any) -> dict[str, Any]:
    return {
        "quarantine_id": row.quarantine_id,
        "received_at": _iso(row.received_at),
        "event_id": row.event_id,
        "order_id": row.order_id,
        "event_type": row.event_type,
        "source": row.source,
        "reason_code": row.reason_code,
        "reason": row.reason,
        "field_errors": json.loads(row.field_errors),
        "body": row.body,
        "checksum_sha256": row.checksum_sha256,
        "actor": row.actor,
        "now_applied": bool(row.now_applied),
    }


def _now_applied() -> Any:
    """True when the quarantined event has since been applied exactly as it was sent."""
    return (
        select(events.c.seq)
        .where(
            events.c.tenant_id == quarantine.c.tenant_id,
            events.c.event_id == quarantine.c.event_id,
            events.c.checksum_sha256 == quarantine.c.checksum_sha256,
        )
        .exists()
    )


class SqlOrderQueries:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def get_order(self, *, tenant_id: str, order_id: str) -> dict[str, Any] | None:
        query = select(orders).where(orders.c.tenant_id == tenant_id, orders.c.order_id == order_id)
        with self._engine.connect() as connection:
            row = connection.execute(query).first()
        return None if row is None else order_document(row)

    def timeline(self, *, tenant_id: str, order_id: str) -> dict[str, Any] | None:
        with self._engine.connect() as connection:
            order = connection.execute(
                select(orders.c.status, orders.c.version).where(
                    orders.c.tenant_id == tenant_id, orders.c.order_id == order_id
                )
            ).first()
            rejected = connection.execute(
                select(quarantine, _now_applied().label("now_applied"))
                .where(quarantine.c.tenant_id == tenant_id, quarantine.c.order_id == order_id)
                .order_by(quarantine.c.received_at, quarantine.c.quarantine_id)
                .limit(TIMELINE_EVENTS_MAX)
            ).all()
            if order is None and not rejected:
                return None
            event_rows = connection.execute(
                select(events)
                .where(events.c.tenant_id == tenant_id, events.c.order_id == order_id)
                .order_by(events.c.occurred_at, events.c.seq)
                .limit(TIMELINE_EVENTS_MAX)
            ).all()
            transition_rows = connection.execute(
                select(transitions)
                .where(transitions.c.tenant_id == tenant_id, transitions.c.order_id == order_id)
                .order_by(transitions.c.id)
                .limit(TIMELINE_EVENTS_MAX)
            ).all()
        by_cause = {t.cause_event_id: t for t in transition_rows}
        entries = []
        for row in event_rows:
            transition = by_cause.get(row.event_id)
            entries.append(
                {
                    "sequence": row.seq,
                    "event_id": row.event_id,
                    "type": row.event_type,
                    "schema_version": row.schema_version,
                    "source": row.source,
                    "occurred_at": _iso(row.occurred_at),
                    "recorded_at": _iso(row.recorded_at),
                    "actor": row.actor,
                    "checksum_sha256": row.checksum_sha256,
                    "order_version": row.order_version,
                    "status_after": row.status_after,
                    "effect": row.effect,
                    "late": row.late,
                    "envelope": json.loads(row.body),
                    "transition": None
                    if transition is None
                    else {
                        "from": transition.from_status,
                        "to": transition.to_status,
                        "actor": transition.actor,
                        "recorded_at": _iso(transition.recorded_at),
                    },
                }
            )
        return {
            "order_id": order_id,
            "status": None if order is None else order.status,
            "version": None if order is None else order.version,
            "entries": entries,
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
            "quarantined": [quarantine_document(r) for r in rejected],
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
        conditions = [orders.c.tenant_id == tenant_id]
        if status is not None:
            conditions.append(orders.c.status == status)
        if updated_before is not None:
            conditions.append(orders.c.updated_at < updated_before)
        if cursor is not None:
            updated_at_text, order_id = decode_cursor(cursor, arity=2)
            conditions.append(
                _before(
                    orders.c.updated_at,
                    orders.c.order_id,
                    at=cursor_time(updated_at_text),
                    key=order_id,
                )
            )
        query = (
            select(orders)
            .where(*conditions)
            .order_by(orders.c.updated_at.desc(), orders.c.order_id.desc())
            .limit(limit + 1)
        )
        with self._engine.connect() as connection:
            rows = connection.execute(query).all()
        return page_of(
            rows=rows,
            limit=limit,
            items=[order_document(r) for r in rows[:limit]],
            sort_key=lambda r: (r.updated_at.isoformat(), r.order_id),
        )

    def list_quarantine(
        self,
        *,
        tenant_id: str,
        order_id: str | None,
        reason_code: str | None,
        limit: int,
        cursor: str | None,
    ) -> Page:
        conditions = [quarantine.c.tenant_id == tenant_id]
        if order_id is not None:
            conditions.append(quarantine.c.order_id == order_id)
        if reason_code is not None:
            conditions.append(quarantine.c.reason_code == reason_code)
        if cursor is not None:
            received_text, quarantine_id = decode_cursor(cursor, arity=2)
            conditions.append(
                _before(
                    quarantine.c.received_at,
                    quarantine.c.quarantine_id,
                    at=cursor_time(received_text),
                    key=quarantine_id,
                )
            )
        query = (
            select(quarantine, _now_applied().label("now_applied"))
            .where(*conditions)
            .order_by(quarantine.c.received_at.desc(), quarantine.c.quarantine_id.desc())
            .limit(limit + 1)
        )
        with self._engine.connect() as connection:
            rows = connection.execute(query).all()
        return page_of(
            rows=rows,
            limit=limit,
            items=[quarantine_document(r) for r in rows[:limit]],
            sort_key=lambda r: (r.received_at.isoformat(), r.quarantine_id),
        )

    def quarantined(
        self,
        *,
        tenant_id: str,
        quarantine_ids: Collection[str] | None,
        order_id: str | None,
        limit: int,
    ) -> list[dict[str, Any]]:
        conditions = [quarantine.c.tenant_id == tenant_id]
        if quarantine_ids is not None:
            conditions.append(quarantine.c.quarantine_id.in_(sorted(quarantine_ids)))
        if order_id is not None:
            conditions.append(quarantine.c.order_id == order_id)
            conditions.append(~_now_applied())
        query = (
            select(quarantine, _now_applied().label("now_applied"))
            .where(*conditions)
            .order_by(quarantine.c.received_at, quarantine.c.quarantine_id)
            .limit(limit)
        )
        with self._engine.connect() as connection:
            return [quarantine_document(r) for r in connection.execute(query)]

    def count_orders_by_status(self, *, tenant_id: str) -> dict[str, int]:
        query = (
            select(orders.c.status, func.count())
            .where(orders.c.tenant_id == tenant_id)
            .group_by(orders.c.status)
        )
        with self._engine.connect() as connection:
            return {row[0]: row[1] for row in connection.execute(query)}
