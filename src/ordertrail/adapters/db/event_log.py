"""Sequential reads of the event log and the projection, in bounded pages."""

from __future__ import annotations

import json

from sqlalchemy import Engine, select, tuple_

from ordertrail.adapters.db.tables import events, orders
from ordertrail.services.ports import LoggedEvent, ProjectionRow


class SqlEventLog:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def read(self, *, tenant_id: str | None, after_seq: int, limit: int) -> list[LoggedEvent]:
        query = (
            select(
                events.c.seq,
                events.c.tenant_id,
                events.c.order_id,
                events.c.body,
                events.c.checksum_sha256,
                events.c.recorded_at,
            )
            .where(events.c.seq > after_seq)
            .order_by(events.c.seq)
            .limit(limit)
        )
        if tenant_id is not None:
            query = query.where(events.c.tenant_id == tenant_id)
        with self._engine.connect() as connection:
            return [LoggedEvent(**row._asdict()) for row in connection.execute(query)]

    def projections(
        self, *, tenant_id: str | None, after: tuple[str, str] | None, limit: int
    ) -> list[ProjectionRow]:
        query = (
            select(
                orders.c.tenant_id,
                orders.c.order_id,
                orders.c.status,
                orders.c.version,
                orders.c.state,
            )
            .order_by(orders.c.tenant_id, orders.c.order_id)
            .limit(limit)
        )
        if tenant_id is not None:
            query = query.where(orders.c.tenant_id == tenant_id)
        if after is not None:
            query = query.where(tuple_(orders.c.tenant_id, orders.c.order_id) > tuple_(*after))
        with self._engine.connect() as connection:
            return [
                ProjectionRow(
                    tenant_id=row.tenant_id,
                    order_id=row.order_id,
                    status=row.status,
                    version=row.version,
                    state=json.loads(row.state),
                )
                for row in connection.execute(query)
            ]
