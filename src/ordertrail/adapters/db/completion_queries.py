"""Completion counts per tenant, carrier and hour, aggregated in the database.

A shipment is *due* in the hour its `estimated_delivery_at` falls in, and *on time* when it was
delivered at or before that estimate. Cancelled shipments are not due; shipments without an
estimate are not counted (there is nothing to be on time against).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Engine, and_, case, func, or_, select

from ordertrail.adapters.db.monitoring_sql import hour_bucket
from ordertrail.adapters.db.tables_carriers import shipments
from ordertrail.services.alert_ports import CompletionCount

GROUPS_MAX = 200_000


class SqlCompletionQueries:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def counts(
        self, *, ranges: Sequence[tuple[datetime, datetime]], limit: int
    ) -> list[CompletionCount]:
        if not ranges:
            return []
        due_at = shipments.c.estimated_delivery_at
        bucket = hour_bucket(due_at).label("bucket")
        on_time = and_(shipments.c.delivered_at.is_not(None), shipments.c.delivered_at <= due_at)
        query = (
            select(
                shipments.c.tenant_id,
                shipments.c.carrier,
                bucket,
                func.count().label("due"),
                func.sum(case((on_time, 1), else_=0)).label("on_time"),
            )
            .where(
                due_at.is_not(None),
                shipments.c.status != "cancelled",
                or_(*(and_(due_at >= start, due_at < end) for start, end in ranges)),
            )
            .group_by(shipments.c.tenant_id, shipments.c.carrier, bucket)
            .order_by(shipments.c.tenant_id, shipments.c.carrier, bucket)
            .limit(max(1, min(limit, GROUPS_MAX)))
        )
        with self._engine.connect() as connection:
            rows = connection.execute(query).all()
        return [
            CompletionCount(
                tenant_id=row.tenant_id,
                carrier=row.carrier,
                hour_start=datetime.strptime(row.bucket, "%Y-%m-%dT%H").replace(tzinfo=UTC),
                due=int(row.due),
                on_time=int(row.on_time or 0),
            )
            for row in rows
        ]
