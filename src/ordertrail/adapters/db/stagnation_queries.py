"""Stagnation, evaluated in the database: one set-based query per subject type.

Shipments are compared by `last_update_at` (when Ordertrail last received a scan; `created_at`
before the first one); orders by when they entered their current status (their latest
transition's `occurred_at`). Both against per-tenant, per-status cutoffs computed from the
injected clock, so the same statements run on SQLite and PostgreSQL and tests control "now".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine, Select, exists, func, select, update

from ordertrail.adapters.db.alert_store import resolve_values
from ordertrail.adapters.db.engine import WRITE_OPTION
from ordertrail.adapters.db.monitoring_sql import cutoff_by_key
from ordertrail.adapters.db.tables import orders, transitions
from ordertrail.adapters.db.tables_carriers import shipments
from ordertrail.adapters.db.tables_monitoring import alerts
from ordertrail.domain.monitoring.alerts import STAGNATION_KIND, Resolution
from ordertrail.domain.monitoring.rules import SubjectType
from ordertrail.services.alert_ports import Cutoffs, StagnantSubject

STAGNANT_BATCH_MAX = 1_000


def _order_entered_at() -> ColumnElement[Any]:
    """When each order entered its current status: its latest transition, by version."""
    return (
        select(transitions.c.occurred_at)
        .where(
            transitions.c.tenant_id == orders.c.tenant_id,
            transitions.c.order_id == orders.c.order_id,
        )
        .order_by(transitions.c.order_version.desc())
        .limit(1)
        .correlate(orders)
        .scalar_subquery()
    )


def _watched(cutoffs: Cutoffs) -> list[str]:
    """Statuses some tenant watches: the only rows worth looking at (an index serves the IN)."""
    tables = [cutoffs.default, *cutoffs.by_tenant.values()]
    return sorted({status for table in tables for status, at in table.items() if at is not None})


def _past_cutoff(subject_type: SubjectType, cutoffs: Cutoffs) -> Select[Any]:
    """SELECT tenant, subject, status, since, extra details of every subject past its cutoff."""
    watched = _watched(cutoffs)
    if subject_type is SubjectType.SHIPMENT:
        since = func.coalesce(shipments.c.last_update_at, shipments.c.created_at)
        cutoff = cutoff_by_key(cutoffs, tenant=shipments.c.tenant_id, key=shipments.c.status)
        return select(
            shipments.c.tenant_id,
            shipments.c.shipment_id.label("subject"),
            shipments.c.status,
            since.label("since"),
            shipments.c.carrier,
            shipments.c.tracking_number,
            shipments.c.order_id,
        ).where(shipments.c.status.in_(watched), since <= cutoff)
    entered = _order_entered_at()
    cutoff = cutoff_by_key(cutoffs, tenant=orders.c.tenant_id, key=orders.c.status)
    return select(
        orders.c.tenant_id,
        orders.c.order_id.label("subject"),
        orders.c.status,
        entered.label("since"),
    ).where(orders.c.status.in_(watched), entered <= cutoff)


def _unresolved(kind: str, *, tenant: Any, subject: Any) -> Any:
    return exists().where(
        alerts.c.tenant_id == tenant,
        alerts.c.kind == kind,
        alerts.c.subject == subject,
        alerts.c.resolved_at.is_(None),
    )


class SqlStagnationQueries:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def stagnant(
        self, *, subject_type: SubjectType, cutoffs: Cutoffs, limit: int
    ) -> list[StagnantSubject]:
        kind = STAGNATION_KIND[subject_type].value
        base = _past_cutoff(subject_type, cutoffs).subquery("past_cutoff")
        query = (
            select(base)
            .where(~_unresolved(kind, tenant=base.c.tenant_id, subject=base.c.subject))
            .order_by(base.c.since, base.c.tenant_id, base.c.subject)
            .limit(max(1, min(limit, STAGNANT_BATCH_MAX)))
        )
        with self._engine.connect() as connection:
            rows = connection.execute(query).all()
        return [_subject(row, subject_type) for row in rows]

    def resolve_cleared(
        self, *, subject_type: SubjectType, cutoffs: Cutoffs, actor: str, now: datetime
    ) -> int:
        kind = STAGNATION_KIND[subject_type].value
        past = _past_cutoff(subject_type, cutoffs).subquery("still_past")
        still_stagnant = exists().where(
            past.c.tenant_id == alerts.c.tenant_id, past.c.subject == alerts.c.subject
        )
        statement = (
            update(alerts)
            .where(alerts.c.kind == kind, alerts.c.resolved_at.is_(None), ~still_stagnant)
            .values(**resolve_values(actor=actor, at=now, resolution=Resolution.AUTO))
        )
        with self._engine.connect().execution_options(**{WRITE_OPTION: True}) as connection:
            count = connection.execute(statement).rowcount
            connection.commit()
        return int(count)


def _subject(row: Any, subject_type: SubjectType) -> StagnantSubject:
    since: datetime = row.since
    details: dict[str, Any] = {"status": row.status, "since": since.isoformat()}
    if subject_type is SubjectType.SHIPMENT:
        details |= {
            "carrier": row.carrier,
            "tracking_number": row.tracking_number,
            "order_id": row.order_id,
        }
    return StagnantSubject(
        tenant_id=row.tenant_id,
        subject=row.subject,
        status=row.status,
        since=since,
        details=details,
    )
