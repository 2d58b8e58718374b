"""Differential check: the in-memory fake answers every read exactly as a real database does.

The same random history, ingested in the same batches into both, must give identical documents
from every query: that is what lets service tests trust the fake.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from ordertrail.adapters.db.engine import make_engine, sqlite_url
from ordertrail.adapters.db.event_log import SqlEventLog
from ordertrail.adapters.db.import_log import SqlImportLog
from ordertrail.adapters.db.key_store import SqlKeyStore
from ordertrail.adapters.db.migrate import upgrade
from ordertrail.adapters.db.queries import SqlOrderQueries
from ordertrail.adapters.db.uow import SqlUnitOfWork
from ordertrail.adapters.memory import MemoryStorage
from tests.conftest import NOW, truncate_postgres
from tests.contract.conftest import Storage
from tests.unit.histories import ORDER_IDS, histories


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fresh_engine(request, tmp_path: Path) -> Iterator[Callable[[], Engine]]:
    """A factory of empty, migrated databases: one per Hypothesis example."""
    engines: list[Engine] = []

    def make() -> Engine:
        if request.param == "sqlite":
            engine = make_engine(sqlite_url(tmp_path / f"{uuid.uuid4().hex}.db"))
            upgrade(engine)
        else:
            engine = make_engine(request.getfixturevalue("postgres_url"))
            truncate_postgres(engine)
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.dispose()


def sql_storage(engine: Engine) -> Storage:
    return Storage(
        name=engine.dialect.name,
        uow_factory=lambda: SqlUnitOfWork(engine),
        queries=SqlOrderQueries(engine),
        keys=SqlKeyStore(engine),
        event_log=SqlEventLog(engine),
        import_log=SqlImportLog(engine),
    )


def memory_storage() -> Storage:
    memory = MemoryStorage()
    return Storage(
        name="memory",
        uow_factory=memory.uow_factory,
        queries=memory.queries,
        keys=memory.keys,
        event_log=memory.event_log,
        import_log=memory.import_log,
    )


def everything_read(storage: Storage) -> dict:
    queries = storage.queries
    return {
        "orders": {o: queries.get_order(tenant_id="acme", order_id=o) for o in ORDER_IDS},
        "timelines": {o: queries.timeline(tenant_id="acme", order_id=o) for o in ORDER_IDS},
        "list": queries.list_orders(
            tenant_id="acme", status=None, updated_before=None, limit=2, cursor=None
        ),
        "list_all": queries.list_orders(
            tenant_id="acme", status=None, updated_before=None, limit=100, cursor=None
        ),
        "quarantine": queries.list_quarantine(
            tenant_id="acme", order_id=None, reason_code=None, limit=3, cursor=None
        ),
        "quarantine_all": queries.list_quarantine(
            tenant_id="acme", order_id=None, reason_code=None, limit=1000, cursor=None
        ),
        "quarantined": queries.quarantined(
            tenant_id="acme", quarantine_ids=None, order_id="SO-1", limit=1000
        ),
        "counts": queries.count_orders_by_status(tenant_id="acme"),
        "log": storage.event_log.read(tenant_id=None, after_seq=0, limit=10_000),
        "projections": storage.event_log.projections(tenant_id=None, after=None, limit=1000),
    }


def test_the_fake_answers_every_query_as_the_database_does(fresh_engine):
    @settings(
        max_examples=25,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(raws=histories(steps_max=30), sizes=st.lists(st.integers(1, 10), max_size=30))
    def check(raws, sizes):
        fake, real = memory_storage(), sql_storage(fresh_engine())
        start, batch_number = 0, 0
        while start < len(raws):
            size = sizes[batch_number] if batch_number < len(sizes) else len(raws)
            batch = raws[start : start + size]
            now = NOW + timedelta(minutes=batch_number // 2)  # pairs of batches share a time
            assert fake.ingest(batch, now=now) == real.ingest(batch, now=now)
            start, batch_number = start + size, batch_number + 1
        assert everything_read(fake) == everything_read(real)

    check()
