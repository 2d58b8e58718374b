"""Configured sources on SQL: their synchronisation mode and the batch scheduler's claims."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ordertrail.adapters.db.engine import WRITE_OPTION
from ordertrail.adapters.db.tables_sources import sync_sources
from ordertrail.services.sources import Source, SyncMode

LIST_LIMIT_MAX = 1_000


def _source(row: Any) -> Source:
    return Source(
        tenant_id=row.tenant_id,
        source=row.source,
        mode=SyncMode(row.mode),
        interval_s=row.interval_s,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
        last_run_at=row.last_run_at,
        next_run_at=row.next_run_at,
        last_run_summary=row.last_run_summary,
    )


class SqlSourceStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._postgres = engine.dialect.name == "postgresql"

    def _write(self) -> Connection:
        return self._engine.connect().execution_options(**{WRITE_OPTION: True})

    def list_sources(self, *, tenant_id: str | None) -> list[Source]:
        s = sync_sources
        query = select(s).order_by(s.c.tenant_id, s.c.source).limit(LIST_LIMIT_MAX)
        if tenant_id is not None:
            query = query.where(s.c.tenant_id == tenant_id)
        with self._engine.connect() as connection:
            return [_source(row) for row in connection.execute(query)]

    def get(self, *, tenant_id: str, source: str) -> Source | None:
        s = sync_sources
        query = select(s).where(s.c.tenant_id == tenant_id, s.c.source == source)
        with self._engine.connect() as connection:
            row = connection.execute(query).first()
        return None if row is None else _source(row)

    def put(self, *, source: Source) -> None:
        values = {
            "tenant_id": source.tenant_id,
            "source": source.source,
            "mode": source.mode.value,
            "interval_s": source.interval_s,
            "updated_at": source.updated_at,
            "updated_by": source.updated_by,
            "last_run_at": source.last_run_at,
            "next_run_at": source.next_run_at,
            "last_run_summary": source.last_run_summary,
        }
        insert = (postgresql.insert if self._postgres else sqlite.insert)(sync_sources)
        statement = insert.values(**values).on_conflict_do_update(
            index_elements=["tenant_id", "source"],
            set_={k: v for k, v in values.items() if k not in ("tenant_id", "source")},
        )
        with self._write() as connection:
            connection.execute(statement)
            connection.commit()

    def claim_due(self, *, now: datetime, lease_s: int, limit: int) -> list[Source]:
        s = sync_sources
        query = (
            select(s)
            .where(s.c.mode == SyncMode.BATCH.value, s.c.next_run_at <= now)
            .order_by(s.c.next_run_at)
            .limit(limit)
        )
        # Look without the write lock first: an idle scheduler's poll must not queue behind
        # ingest for SQLite's single write lock.
        with self._engine.connect() as connection:
            if connection.execute(query.with_only_columns(s.c.source)).first() is None:
                return []
        if self._postgres:
            query = query.with_for_update(skip_locked=True)
        with self._write() as connection:
            rows = connection.execute(query).all()
            for row in rows:
                connection.execute(
                    update(s)
                    .where(s.c.tenant_id == row.tenant_id, s.c.source == row.source)
                    .values(next_run_at=now + timedelta(seconds=lease_s))
                )
            connection.commit()
        return [_source(row) for row in rows]

    def record_run(
        self, *, tenant_id: str, source: str, ran_at: datetime, next_run_at: datetime, summary: str
    ) -> bool:
        s = sync_sources
        statement = (
            update(s)
            .where(
                s.c.tenant_id == tenant_id,
                s.c.source == source,
                # Switched to event-driven during the run: leave it without a schedule.
                s.c.mode == SyncMode.BATCH.value,
            )
            .values(last_run_at=ran_at, next_run_at=next_run_at, last_run_summary=summary)
        )
        with self._write() as connection:
            recorded = connection.execute(statement).rowcount == 1
            connection.commit()
        return recorded
