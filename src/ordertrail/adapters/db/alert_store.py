"""Alerts on SQL: de-duplicated inserts, state changes, keyset listing, escalation rounds."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ordertrail.adapters.db.engine import WRITE_OPTION
from ordertrail.adapters.db.monitoring_sql import cutoff_for
from ordertrail.adapters.db.tables_monitoring import alert_notifications, alerts
from ordertrail.domain.monitoring.alerts import Alert, AlertKind, AlertState, Resolution
from ordertrail.domain.monitoring.escalation import EscalationLevel
from ordertrail.domain.monitoring.rules import Severity
from ordertrail.services.alert_ports import Cutoffs, DeliveryResult, NewAlert, PendingNotification
from ordertrail.services.pagination import cursor_time, decode_cursor, page_of
from ordertrail.services.ports import Page

LIST_LIMIT_MAX = 500
NOTIFY_BATCH_MAX = 500


def alert_from_row(row: Any) -> Alert:
    return Alert(
        id=row.id,
        tenant_id=row.tenant_id,
        kind=AlertKind(row.kind),
        subject=row.subject,
        severity=Severity(row.severity),
        state=AlertState(row.state),
        summary=row.summary,
        details=json.loads(row.details),
        opened_at=row.opened_at,
        escalation_level=row.escalation_level,
        escalated_at=row.escalated_at,
        acknowledged_at=row.acknowledged_at,
        acknowledged_by=row.acknowledged_by,
        resolved_at=row.resolved_at,
        resolved_by=row.resolved_by,
        resolution=None if row.resolution is None else Resolution(row.resolution),
    )


def _writer(engine: Engine) -> Connection:
    return engine.connect().execution_options(**{WRITE_OPTION: True})


def resolve_values(*, actor: str, at: datetime, resolution: Resolution) -> dict[str, Any]:
    return {
        "state": AlertState.RESOLVED.value,
        "resolved_at": at,
        "resolved_by": actor,
        "resolution": resolution.value,
    }


class SqlAlertStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def insert(self, *, items: Sequence[NewAlert]) -> list[NewAlert]:
        if not items:
            return []
        dialect = postgresql if self._engine.dialect.name == "postgresql" else sqlite
        # ON CONFLICT DO NOTHING against the partial unique index: a subject that already has
        # an unresolved alert (raised by a concurrent evaluator) is skipped, not an error.
        statement = (
            dialect.insert(alerts)
            .on_conflict_do_nothing()
            .returning(alerts.c.tenant_id, alerts.c.kind, alerts.c.subject)
        )
        rows = [
            {
                "tenant_id": a.tenant_id,
                "kind": a.kind.value,
                "subject": a.subject,
                "severity": a.severity.value,
                "state": AlertState.OPEN.value,
                "summary": a.summary[:500],
                "details": json.dumps(a.details, sort_keys=True, default=str),
                "opened_at": a.opened_at,
                "escalation_level": 0,
                "notified_level": 0,
            }
            for a in items
        ]
        with _writer(self._engine) as connection:
            inserted = set()
            for row in rows:
                result = connection.execute(statement, row).first()
                if result is not None:
                    inserted.add((result.tenant_id, result.kind, result.subject))
            connection.commit()
        return [a for a in items if (a.tenant_id, a.kind.value, a.subject) in inserted]

    def get(self, *, tenant_id: str, alert_id: int) -> Alert | None:
        with self._engine.connect() as connection:
            row = connection.execute(
                select(alerts).where(alerts.c.tenant_id == tenant_id, alerts.c.id == alert_id)
            ).first()
        return None if row is None else alert_from_row(row)

    def change_state(
        self,
        *,
        tenant_id: str,
        alert_id: int,
        expected: AlertState,
        wanted: AlertState,
        actor: str,
        at: datetime,
    ) -> bool:
        if wanted is AlertState.RESOLVED:
            values = resolve_values(actor=actor, at=at, resolution=Resolution.MANUAL)
        else:
            values = {"state": wanted.value, "acknowledged_at": at, "acknowledged_by": actor}
        statement = (
            update(alerts)
            .where(
                alerts.c.tenant_id == tenant_id,
                alerts.c.id == alert_id,
                alerts.c.state == expected.value,
            )
            .values(**values)
        )
        with _writer(self._engine) as connection:
            changed = connection.execute(statement).rowcount == 1
            connection.commit()
        return changed

    def resolve_subject(
        self, *, tenant_id: str, kind: AlertKind, subject: str, actor: str, at: datetime
    ) -> bool:
        statement = (
            update(alerts)
            .where(
                alerts.c.tenant_id == tenant_id,
                alerts.c.kind == kind.value,
                alerts.c.subject == subject,
                alerts.c.resolved_at.is_(None),
            )
            .values(**resolve_values(actor=actor, at=at, resolution=Resolution.AUTO))
        )
        with _writer(self._engine) as connection:
            changed = connection.execute(statement).rowcount > 0
            connection.commit()
        return changed

    def page(
        self,
        *,
        tenant_id: str,
        states: Sequence[AlertState],
        kind: AlertKind | None,
        severity: Severity | None,
        subject: str | None,
        limit: int,
        cursor: str | None,
    ) -> Page:
        limit = max(1, min(limit, LIST_LIMIT_MAX))
        query = (
            select(alerts)
            .where(alerts.c.tenant_id == tenant_id)
            .order_by(alerts.c.opened_at.desc(), alerts.c.id.desc())
        )
        if states:
            query = query.where(alerts.c.state.in_([s.value for s in states]))
        if kind is not None:
            query = query.where(alerts.c.kind == kind.value)
        if severity is not None:
            query = query.where(alerts.c.severity == severity.value)
        if subject is not None:
            query = query.where(alerts.c.subject == subject)
        if cursor is not None:
            at_text, id_text = decode_cursor(cursor, arity=2)
            at = cursor_time(at_text)
            try:
                after_id = int(id_text)
            except ValueError:
                raise ValueError("the cursor is not one this API issued") from None
            query = query.where(
                or_(
                    alerts.c.opened_at < at,
                    and_(alerts.c.opened_at == at, alerts.c.id < after_id),
                )
            )
        with self._engine.connect() as connection:
            rows = connection.execute(query.limit(limit + 1)).all()
        return page_of(
            rows=rows,
            limit=limit,
            items=[alert_from_row(row).as_dict() for row in rows[:limit]],
            sort_key=lambda r: (r.opened_at.isoformat(), str(r.id)),
        )

    def escalate(self, *, level: int, cutoffs: Cutoffs, now: datetime) -> int:
        cutoff = cutoff_for(cutoffs, tenant=alerts.c.tenant_id, name=str(level))
        statement = (
            update(alerts)
            .where(
                alerts.c.state == AlertState.OPEN.value,
                alerts.c.escalation_level < level,
                alerts.c.opened_at <= cutoff,
            )
            .values(escalation_level=level, escalated_at=now)
        )
        with _writer(self._engine) as connection:
            count = connection.execute(statement).rowcount
            connection.commit()
        return int(count)

    def pending_notifications(self, *, limit: int) -> list[PendingNotification]:
        query = (
            select(alerts)
            .where(
                alerts.c.state == AlertState.OPEN.value,
                alerts.c.escalation_level > alerts.c.notified_level,
            )
            .order_by(alerts.c.id)
            .limit(max(1, min(limit, NOTIFY_BATCH_MAX)))
        )
        with self._engine.connect() as connection:
            rows = connection.execute(query).all()
        return [
            PendingNotification(alert=alert_from_row(row), notified_level=row.notified_level)
            for row in rows
        ]

    def record_notifications(
        self,
        *,
        alert: Alert,
        level: EscalationLevel,
        results: Sequence[DeliveryResult],
        at: datetime,
    ) -> None:
        with _writer(self._engine) as connection:
            if results:
                connection.execute(
                    insert(alert_notifications),
                    [
                        {
                            "tenant_id": alert.tenant_id,
                            "alert_id": alert.id,
                            "level": level.level,
                            "target_role": level.target_role,
                            "sink": result.sink,
                            "outcome": "sent" if result.sent else "failed",
                            "attempts": result.attempts,
                            "error": result.error,
                            "notified_at": at,
                        }
                        for result in results
                    ],
                )
            connection.execute(
                update(alerts)
                .where(alerts.c.id == alert.id, alerts.c.notified_level < level.level)
                .values(notified_level=level.level)
            )
            connection.commit()

    def mark_notified(self, *, alert_id: int, level: int) -> None:
        with _writer(self._engine) as connection:
            connection.execute(
                update(alerts)
                .where(alerts.c.id == alert_id, alerts.c.notified_level < level)
                .values(notified_level=level)
            )
            connection.commit()

    def notifications(self, *, tenant_id: str, alert_id: int) -> list[dict[str, Any]]:
        """The notification log of one alert, oldest first (for the API's alert detail)."""
        query = (
            select(alert_notifications)
            .where(
                alert_notifications.c.tenant_id == tenant_id,
                alert_notifications.c.alert_id == alert_id,
            )
            .order_by(alert_notifications.c.id)
            .limit(LIST_LIMIT_MAX)
        )
        with self._engine.connect() as connection:
            rows = connection.execute(query).all()
        return [
            {
                "level": row.level,
                "target_role": row.target_role,
                "sink": row.sink,
                "outcome": row.outcome,
                "attempts": row.attempts,
                "error": row.error,
                "notified_at": row.notified_at.isoformat(),
            }
            for row in rows
        ]
