"""The storage contract's fixture: the same ports over the in-memory fake, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import count
from typing import Any

import pytest

from ordertrail.adapters.db.engine import make_engine
from ordertrail.adapters.db.event_log import SqlEventLog
from ordertrail.adapters.db.import_log import SqlImportLog
from ordertrail.adapters.db.key_store import SqlKeyStore
from ordertrail.adapters.db.queries import SqlOrderQueries
from ordertrail.adapters.db.uow import SqlUnitOfWork
from ordertrail.adapters.memory import MemoryStorage
from ordertrail.services.ingest import ingest
from ordertrail.services.ports import EventLog, ImportLog, KeyStore, OrderQueries, UnitOfWork
from ordertrail.services.results import IngestResult
from tests.conftest import NOW, truncate_postgres


@dataclass
class Storage:
    """One implementation of every storage port, and a way to fill it through ingest."""

    name: str
    uow_factory: Callable[[], UnitOfWork]
    queries: OrderQueries
    keys: KeyStore
    event_log: EventLog
    import_log: ImportLog
    _ids: Iterator[int] = field(default_factory=lambda: count(1))

    def ingest(
        self, raw_events: Sequence[Any], *, tenant_id: str = "acme", now: datetime = NOW
    ) -> list[IngestResult]:
        return ingest(
            uow_factory=self.uow_factory,
            raw_events=raw_events,
            tenant_id=tenant_id,
            actor="key:test",
            now=now,
            new_id=lambda: f"q{next(self._ids):08d}",
        )


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def storage(request: pytest.FixtureRequest) -> Iterator[Storage]:
    """The storage ports on each implementation, empty."""
    if request.param == "memory":
        memory = MemoryStorage()
        yield Storage(
            name="memory",
            uow_factory=memory.uow_factory,
            queries=memory.queries,
            keys=memory.keys,
            event_log=memory.event_log,
            import_log=memory.import_log,
        )
        return
    if request.param == "sqlite":
        engine = request.getfixturevalue("sqlite_engine")
    else:
        engine = make_engine(request.getfixturevalue("postgres_url"))
        truncate_postgres(engine)
    yield Storage(
        name=request.param,
        uow_factory=lambda: SqlUnitOfWork(engine),
        queries=SqlOrderQueries(engine),
        keys=SqlKeyStore(engine),
        event_log=SqlEventLog(engine),
        import_log=SqlImportLog(engine),
    )
    if request.param == "postgres":
        engine.dispose()
