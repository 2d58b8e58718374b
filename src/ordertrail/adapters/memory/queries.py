"""In-memory read models: the same documents, ordering and keyset pagination as the SQL queries."""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import datetime
from typing import Any

from ordertrail.adapters.memory.database import (
    TIMELINE_EVENTS_MAX,
    EventRow,
    MemoryDatabase,
    iso_or_none,
    utc_or_none,
)
from ordertrail.services.pagination import cursor_time, decode_cursor, page_of
from ordertrail.services.ports import (
    NewTransition,
    Page,
    Rejection,
)
from ordertrail.services.read_models import order_document

# ---- read models ----------------------------------------------------------------------------


def _quarantine_document(rejection: Rejection, *, now_applied: bool) -> dict[str, Any]:
    return {
        "quarantine_id": rejection.quarantine_id,
        "received_at": iso_or_none(rejection.received_at),
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
        "occurred_at": iso_or_none(event.occurred_at),
        "recorded_at": iso_or_none(event.recorded_at),
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
            "recorded_at": iso_or_none(transition.recorded_at),
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
        return None if row is None else order_document(row)

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
                    "occurred_at": iso_or_none(t.occurred_at),
                    "recorded_at": iso_or_none(t.recorded_at),
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
            after = (cursor_time(updated_at_text), order_id)
        before = utc_or_none(updated_before)
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
        return page_of(
            rows=rows,
            limit=limit,
            items=[order_document(row) for row in rows[:limit]],
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
        after: tuple[datetime, str] | None = None
        if cursor is not None:
            received_text, quarantine_id = decode_cursor(cursor, arity=2)
            after = (cursor_time(received_text), quarantine_id)
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
        return page_of(
            rows=rows,
            limit=limit,
            items=self._quarantine_documents(rows[:limit]),
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
