"""What only the real databases can show: triggers, migrations, durability settings, real races."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from itertools import count
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, insert, text
from sqlalchemy.exc import DBAPIError

from ordertrail.adapters.db.engine import make_engine
from ordertrail.adapters.db.event_log import SqlEventLog
from ordertrail.adapters.db.tables import APPEND_ONLY_TABLES, dead_letter_replays, metadata
from ordertrail.adapters.db.uow import SqlUnitOfWork
from ordertrail.services.ingest import ingest
from ordertrail.services.ports import ConcurrentWrite
from ordertrail.services.projections import verify_projections
from ordertrail.services.results import Outcome
from tests.builders import delivered, dispatched, envelope, placed, qty
from tests.conftest import NOW, truncate_postgres


def run(
    engine: Engine,
    raw_events: list[Any],
    *,
    uow: Callable[[], SqlUnitOfWork] | None = None,
    new_id: Callable[[], str] | None = None,
):
    ids = count(1)
    return ingest(
        uow_factory=uow or (lambda: SqlUnitOfWork(engine)),
        raw_events=raw_events,
        tenant_id="acme",
        actor="key:test",
        now=NOW,
        new_id=new_id or (lambda: f"q-{threading.get_ident()}-{next(ids)}"),
    )


def stored_event_ids(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return [row[0] for row in connection.execute(text("SELECT event_id FROM events"))]


class TestAppendOnly:
    @pytest.mark.parametrize("table", APPEND_ONLY_TABLES)
    @pytest.mark.parametrize(
        "statement",
        ["UPDATE {table} SET tenant_id = 'mallory'", "DELETE FROM {table}"],
    )
    def test_the_database_refuses_to_change_history(self, engine, table, statement):
        run(engine, [placed(), dispatched("S1", qty(l1=1), minutes=1)])
        with engine.begin() as connection:
            for number in (1, 2):
                connection.execute(
                    insert(dead_letter_replays).values(
                        tenant_id="acme",
                        dead_letter_id=number,
                        message_id=f"acme/evt-{number}",
                        replayed_by="key:test",
                        replayed_at=NOW,
                    )
                )
        with engine.connect() as connection:
            before = connection.execute(text(f"SELECT * FROM {table} ORDER BY 1")).all()
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement.format(table=table)))
        with engine.connect() as connection:
            assert connection.execute(text(f"SELECT * FROM {table} ORDER BY 1")).all() == before
        assert len(before) == 2

    def test_the_projection_and_quarantine_may_still_change(self, engine):
        run(engine, [placed(), delivered("S9", minutes=1)])
        with engine.begin() as connection:
            assert connection.execute(text("UPDATE orders SET on_hold = on_hold")).rowcount == 1


class TestSchema:
    def test_the_migrated_schema_matches_the_table_definitions(self, engine):
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []


class TestSqliteDurability:
    def test_sqlite_runs_in_wal_mode_with_full_synchronous_writes(self, sqlite_engine):
        for options in ({}, {"ordertrail_write": True}):
            with sqlite_engine.connect().execution_options(**options) as connection:
                journal = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
                synchronous = connection.exec_driver_sql("PRAGMA synchronous").scalar()
            assert (journal, synchronous) == ("wal", 2)


def lifecycle(order_index: int) -> list[dict[str, Any]]:
    """The events of one order, in causal order."""
    order_id = f"SO-{order_index:03d}"
    ids = (f"{order_id}-e{step}" for step in count(1))
    return [
        placed(order_id=order_id, event_id=next(ids)),
        envelope("order.confirmed", {}, order_id=order_id, event_id=next(ids), minutes=1),
        dispatched("S1", qty(l1=1, l2=1), order_id=order_id, event_id=next(ids), minutes=2),
        dispatched("S2", qty(l1=1), order_id=order_id, event_id=next(ids), minutes=3),
        delivered("S1", order_id=order_id, event_id=next(ids), minutes=4),
        delivered("S2", order_id=order_id, event_id=next(ids), minutes=5),
        envelope("delivery.accepted", {}, order_id=order_id, event_id=next(ids), minutes=6),
    ]


RESENDS_MAX = 5


def batches_of(raws: list[Any], size: int) -> list[list[Any]]:
    return [raws[i : i + size] for i in range(0, len(raws), size)]


@pytest.mark.postgres
class TestPostgresConcurrency:
    # SQLite serializes writers with BEGIN IMMEDIATE; these races exist only on PostgreSQL.
    @pytest.fixture
    def pg_engine(self, postgres_url):
        engine = make_engine(postgres_url)
        truncate_postgres(engine)
        yield engine
        engine.dispose()

    def test_concurrent_overlapping_batches_store_every_event_once(self, pg_engine):
        # One client sends the orders first to last, the other last to first, each order's events
        # in causal order and in batches of different sizes: they meet in the middle, on the same
        # orders and the same event ids.
        orders = [lifecycle(i) for i in range(24)]
        raws = [raw for events in orders for raw in events]
        backwards = [raw for events in reversed(orders) for raw in events]
        plans = [batches_of(raws, 7), batches_of(backwards, 11)]
        barrier = threading.Barrier(len(plans))
        results: list[list[Any]] = [[] for _ in plans]
        failures: list[BaseException] = []

        def client(index: int) -> None:
            try:
                barrier.wait(timeout=30)
                for batch in plans[index]:
                    results[index] += send(batch)
            except BaseException as error:  # reported by the main thread
                failures.append(error)

        def send(batch: list[Any]) -> list[Any]:
            # Ingest retries a lost race itself; a batch that loses every attempt is answered
            # 503 and sent again by the client, as the API tells it to.
            for _ in range(RESENDS_MAX):
                try:
                    return run(pg_engine, batch)
                except ConcurrentWrite:
                    continue
            raise AssertionError(f"a batch lost {RESENDS_MAX} times in a row")

        threads = [threading.Thread(target=client, args=(i,)) for i in range(len(plans))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not failures, failures

        stored = stored_event_ids(pg_engine)
        assert sorted(stored) == sorted(raw["event_id"] for raw in raws)
        applied = [r.event_id for rs in results for r in rs if r.outcome == Outcome.APPLIED]
        assert sorted(applied) == sorted(stored)
        assert verify_projections(log=SqlEventLog(pg_engine), tenant_id=None) == []
        with pg_engine.connect() as connection:
            statuses = connection.execute(text("SELECT DISTINCT status FROM orders")).scalars()
            assert set(statuses) == {"completed"}

    def test_an_event_another_batch_commits_just_before_the_lock_is_answered_as_a_duplicate(
        self, pg_engine
    ):
        # Ingest locks the order first and looks up event ids second, so whatever committed
        # before the lock is visible to the lookup. (The other batch cannot commit after the
        # lock: it would wait for it.)
        run(pg_engine, [placed(event_id="e-1")])
        shipment = dispatched("S1", qty(l1=1), event_id="e-2", minutes=1)
        hooks = {"before_load_orders": lambda: run(pg_engine, [shipment])}
        (result,) = run(pg_engine, [shipment], uow=lambda: HookedUnitOfWork(pg_engine, hooks))
        assert stored_event_ids(pg_engine) == ["e-1", "e-2"]
        assert (result.outcome, result.error_code) == (Outcome.DUPLICATE, None)

    def test_two_batches_writing_the_same_new_events_in_opposite_orders_never_deadlock(
        self, pg_engine
    ):
        raws = [placed(order_id=f"SO-{i:04d}", event_id=f"p-{i:04d}") for i in range(1000)]
        for _ in range(DEADLOCK_TRIALS):
            truncate_postgres(pg_engine)
            outcomes = run_together(
                pg_engine, [raws, list(reversed(raws))], meet_before="before_write"
            )
            assert [type(o).__name__ for o in outcomes if isinstance(o, BaseException)] == []
            assert sorted(stored_event_ids(pg_engine)) == [raw["event_id"] for raw in raws]


# Two writers meeting on 1,000 keys in opposite orders deadlock in most trials; a few trials make
# it all but certain that an unhandled deadlock is seen.
DEADLOCK_TRIALS = 8


class HookedUnitOfWork(SqlUnitOfWork):
    """A real SQL unit of work that runs a hook once, at a named step of its repository."""

    def __init__(self, engine: Engine, hooks: dict[str, Callable[[], None]]) -> None:
        super().__init__(engine)
        self._hooks = hooks

    def __enter__(self):
        super().__enter__()
        repository = self.orders
        hooks = self._hooks

        class Repository:
            def find_events(self, **kwargs):
                found = repository.find_events(**kwargs)
                if hook := hooks.pop("after_find_events", None):
                    hook()
                return found

            def load_orders(self, **kwargs):
                if hook := hooks.pop("before_load_orders", None):
                    hook()
                return repository.load_orders(**kwargs)

            def write(self, **kwargs):
                if hook := hooks.pop("before_write", None):
                    hook()
                repository.write(**kwargs)

        self.orders = Repository()
        return self


def run_together(engine: Engine, batches: list[list[Any]], *, meet_before: str) -> list[Any]:
    """Ingest each batch in its own thread; the first attempts wait for each other at a step."""
    barrier = threading.Barrier(len(batches))
    outcomes: list[Any] = [None] * len(batches)

    def meet() -> None:
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=30)

    def client(index: int) -> None:
        hooks = {meet_before: meet}
        try:
            outcomes[index] = run(
                engine, batches[index], uow=lambda: HookedUnitOfWork(engine, hooks)
            )
        except BaseException as error:  # reported by the caller
            outcomes[index] = error

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(batches))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes
