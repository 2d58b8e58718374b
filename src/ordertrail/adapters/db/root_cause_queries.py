"""Root-cause counts for the Pareto report, aggregated in the database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, func, select

from ordertrail.adapters.db.tables_carriers import shipments
from ordertrail.services.alert_ports import RootCauseCount

# Carriers x causes x reasons: a few hundred groups at most; the bound guards against bad data.
GROUPS_MAX = 10_000


class SqlRootCauseQueries:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def counts(
        self, *, tenant_id: str, start: datetime, end: datetime, carrier: str | None
    ) -> list[RootCauseCount]:
        s = shipments.c
        query = (
            select(s.carrier, s.root_cause, s.reason, func.count().label("n"))
            .where(
                s.tenant_id == tenant_id,
                s.root_cause.is_not(None),
                s.created_at >= start,
                s.created_at < end,
            )
            .group_by(s.carrier, s.root_cause, s.reason)
            .order_by(s.carrier, s.root_cause, s.reason)
            .limit(GROUPS_MAX)
        )
        if carrier is not None:
            query = query.where(s.carrier == carrier)
        with self._engine.connect() as connection:
            rows = connection.execute(query).all()
        return [
            RootCauseCount(
                carrier=row.carrier, root_cause=row.root_cause, reason=row.reason, count=int(row.n)
            )
            for row in rows
        ]
