"""Audit trail benchmark: chain verification rate, and the audit append's share of ingest time.

Run: `.venv/bin/python bench/audit.py [--records N] [--orders M]` (defaults 20,000 and 150;
bounded by RECORDS_MAX and ORDERS_MAX). On SQLite, and on PostgreSQL when it is reachable:

1. Verification: N records (with a journal entry vouched for by every tenth) are appended
   through the real SQL adapter, then `audit verify` streams them back in keyset pages,
   recomputes every hash and cross-checks the journal. The baseline is raw hashlib chaining of
   the same records' canonical bytes, already in memory, in the same run:
   h_i = sha256(h_{i-1} || bytes_i). Target: verify rate >= 0.1x the raw rate.
2. Ingest share: M orders (placed, confirmed, shipped, invoiced) go through the real ingest
   service, relay and revenue consumer, once with audit appends and once with `uow.audit`
   replaced by a no-op, alternating rounds; the share is the time the append itself took
   (timed around every call) over the whole run with appends, and the difference of the runs.
   Target: <= 10%.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, cast

import psycopg

from ordertrail.adapters.clock import FixedClock
from ordertrail.adapters.db.audit_store import SqlAuditStore
from ordertrail.adapters.db.engine import make_engine, sqlite_url
from ordertrail.adapters.db.migrate import upgrade
from ordertrail.adapters.db.uow import SqlUnitOfWork
from ordertrail.bootstrap import Ordertrail, Settings, bootstrap
from ordertrail.domain.audit import ChainVerifier, envelope_json
from ordertrail.domain.ledger import JournalEntry, Posting
from ordertrail.domain.orders import CURRENT_VERSION
from ordertrail.domain.revenue import ObligationTemplate, SspRow, TemplateVersion
from ordertrail.services import audit
from ordertrail.services.audit_ports import AuditLog, AuditRecord, ChainLink
from ordertrail.services.consumer import consume_round
from ordertrail.services.keys import Principal
from ordertrail.services.messaging import ConsumerUnitOfWork
from ordertrail.services.relay import relay_round

RECORDS_MAX = 500_000
ORDERS_MAX = 5_000
TENANT = "bench"
PG_ADMIN = os.environ.get("ORDERTRAIL_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
APPEND_BATCH = 1_000
REPEATS = 5


# ---- databases -------------------------------------------------------------------------------


@contextmanager
def databases(workdir: Path) -> Iterator[Iterator[tuple[str, str]]]:
    created: list[str] = []

    def each() -> Iterator[tuple[str, str]]:
        for attempt in range(2):
            path = workdir / f"audit-{len(created)}-{attempt}.db"
            created.append(str(path))
            yield "sqlite", sqlite_url(path)
            if pg_reachable():
                name = f"ordertrail_bench_audit_{uuid.uuid4().hex[:8]}"
                with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                    admin.execute(f'CREATE DATABASE "{name}"')
                created.append(name)
                yield "postgresql", f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}"
            return

    try:
        yield each()
    finally:
        names = [n for n in created if not n.endswith(".db")]
        if names:
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                for name in names:
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_reachable() -> bool:
    try:
        with psycopg.connect(PG_ADMIN, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


# ---- 1. verification rate --------------------------------------------------------------------


def entry(number: int) -> JournalEntry:
    cause = f"{TENANT}/ev-{number}"
    day = date(2026, 11, 1 + number % 27)
    return JournalEntry(
        entry_id=f"E{number:08d}",
        kind="recognition",
        contract_id=f"C{number}",
        obligation_id="1/unit",
        cause_event_id=cause,
        occurred_on=day,
        posted_on=day,
        postings=(
            Posting("contract_liabilities", 1500, "USD", f"C{number}", "1/unit", cause),
            Posting("revenue_goods", -1500, "USD", f"C{number}", "1/unit", cause),
        ),
    )


def record(number: int) -> AuditRecord:
    return AuditRecord(
        kind="hold.placed" if number % 2 else "decision",
        subject=f"order:SO-{number}",
        actor="system:bench",
        cause=f"{TENANT}/ev-{number}",
        body={"order_id": f"SO-{number}", "reason_code": "dispute", "lines": [1, 2, 3]},
        occurred_at=T0 + timedelta(seconds=number),
    )


def load_chain(url: str, count: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    for start in range(0, count, APPEND_BATCH):
        numbers = range(start, min(start + APPEND_BATCH, count))
        with SqlUnitOfWork(engine) as uow:
            entries = [entry(n) for n in numbers if n % 10 == 0]
            uow.ledger.append(tenant_id=TENANT, entries=entries, customer_id="c", recorded_at=NOW)
            records = [
                audit.entry_audit_record(entry(n), actor="system:bench", cause=None, occurred_at=T0)
                if n % 10 == 0
                else record(n)
                for n in numbers
            ]
            uow.audit.append(tenant_id=TENANT, records=records)
            uow.commit()
    engine.dispose()


def raw_chain_rate(url: str) -> tuple[Rates, int, Rates]:
    """Raw hashlib chaining over the same records' canonical bytes, held in memory; and the
    verifier itself over the same links held in memory (what verify costs without the reads)."""
    engine = make_engine(url)
    store = SqlAuditStore(engine)
    blobs: list[bytes] = []
    links: list[ChainLink] = []
    after = 0
    while page := store.chain(tenant_id=TENANT, after_seq=after):
        links += page
        blobs += [
            envelope_json(
                tenant_id=TENANT,
                seq=r.seq,
                kind=r.kind,
                subject=r.subject,
                actor=r.actor,
                cause=r.cause,
                body_text=r.body_json,
                occurred_text=r.occurred_text,
                prev_hash="",
            )
            for r in page
        ]
        after = page[-1].seq
    engine.dispose()

    def chain_raw() -> None:
        head = b"0" * 32
        for blob in blobs:
            head = hashlib.sha256(head + blob).digest()

    def verify_in_memory() -> None:
        ChainVerifier(tenant_id=TENANT).feed_page(links)

    return Rates.of(chain_raw, len(blobs)), len(blobs), Rates.of(verify_in_memory, len(links))


@dataclass(frozen=True, slots=True)
class Rates:
    """Items per second, best of REPEATS: by the wall clock, and by this process's CPU time.

    The machine is shared, so the wall clock also counts time spent waiting for a core; CPU time
    does not, but misses work done in another process (PostgreSQL's server).
    """

    wall: float
    cpu: float

    @classmethod
    def of(cls, work: Callable[[], object], items: int) -> Rates:
        wall = cpu = 0.0
        for _ in range(REPEATS):
            started, started_cpu = time.perf_counter(), time.process_time()
            work()
            wall = max(wall, items / (time.perf_counter() - started))
            cpu = max(cpu, items / max(time.process_time() - started_cpu, 1e-9))
        return cls(wall=wall, cpu=cpu)


def verify_rate(url: str) -> tuple[Rates, audit.TenantVerification]:
    engine = make_engine(url)
    store = SqlAuditStore(engine)
    result = audit.verify_tenant(store=store, tenant_id=TENANT, public_key_raw=None)
    if not result.ok:
        raise SystemExit(f"the benchmark chain does not verify: {result.first}")

    def run() -> None:
        audit.verify_tenant(store=store, tenant_id=TENANT, public_key_raw=None)

    rates = Rates.of(run, result.records)
    engine.dispose()
    return rates, result


# ---- 2. the append's share of ingest ---------------------------------------------------------


class NullAuditLog:
    def append(self, *, tenant_id: str, records: Sequence[AuditRecord]) -> None:
        pass


@dataclass(slots=True)
class Stopwatch:
    seconds: float = 0.0
    calls: int = 0
    records: int = 0


class TimedAuditLog:
    def __init__(self, inner: AuditLog, watch: Stopwatch) -> None:
        self._inner = inner
        self._watch = watch

    def append(self, *, tenant_id: str, records: Sequence[AuditRecord]) -> None:
        started = time.perf_counter()
        self._inner.append(tenant_id=tenant_id, records=records)
        self._watch.seconds += time.perf_counter() - started
        self._watch.calls += 1
        self._watch.records += len(records)


class Swapped:
    """A unit of work whose `audit` is replaced once it has begun."""

    def __init__(self, inner: Any, make: Callable[[AuditLog], AuditLog]) -> None:
        self._inner = inner
        self._make = make

    def __enter__(self) -> Any:
        uow = self._inner.__enter__()
        uow.audit = self._make(uow.audit)
        return uow

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._inner.__exit__(exc_type, exc, tb)


def catalog(app: Ordertrail) -> None:
    start = date(2026, 1, 1)
    rows: list[Any] = [
        TemplateVersion(
            sku="WIDGET",
            effective_from=start,
            templates=(
                ObligationTemplate(
                    component="unit",
                    nature="goods",
                    timing="point_in_time",
                    trigger="control_transfer",
                ),
            ),
        ),
        SspRow(
            sku="WIDGET",
            component="unit",
            currency="USD",
            effective_from=start,
            unit_ssp_minor=1500,
        ),
    ]
    with app.uow_factory() as uow:
        for body in rows:
            uow.catalog.add(tenant_id=TENANT, body=body, created_at=NOW, created_by="bench")  # type: ignore[attr-defined]
        uow.commit()


def order_events(order_id: str, first: int) -> list[dict[str, Any]]:
    def env(
        kind: str, payload: dict[str, Any], minutes: int, source: str = "oms"
    ) -> dict[str, Any]:
        return {
            "event_id": f"{order_id}-{kind}",
            "type": kind,
            "schema_version": CURRENT_VERSION[kind],
            "tenant_id": TENANT,
            "source": source,
            "occurred_at": (T0 + timedelta(minutes=first + minutes)).isoformat(),
            "order_id": order_id,
            "payload": payload,
        }

    lines = [
        {"line_id": "1", "sku": "WIDGET", "quantity": 2, "unit_price_minor": 1500},
        {"line_id": "2", "sku": "WIDGET", "quantity": 1, "unit_price_minor": 1500},
    ]
    return [
        env(
            "order.placed",
            {
                "customer_id": f"CUST-{first}",
                "currency": "USD",
                "shipping_terms": "fob_shipping_point",
                "lines": lines,
            },
            0,
        ),
        env("order.confirmed", {}, 1),
        env(
            "shipment.dispatched",
            {
                "shipment_id": f"{order_id}-S1",
                "carrier": "ups",
                "tracking_number": f"1Z{first}",
                "lines": [{"line_id": "1", "quantity": 2}, {"line_id": "2", "quantity": 1}],
            },
            2,
            "wms",
        ),
        env(
            "invoice.issued",
            {"invoice_id": f"{order_id}-I1", "amount_minor": 4500, "currency": "USD"},
            3,
            "billing",
        ),
    ]


def pump(app: Ordertrail) -> None:
    for _ in range(10_000):
        published = asyncio.run(
            relay_round(
                outbox=app.pipeline.outbox,
                publisher=app.pipeline.broker,
                config=app.pipeline.relay,
                clock=app.clock,
            )
        )
        received = 0
        for lane in ("critical", "bulk"):
            report = asyncio.run(
                consume_round(
                    receiver=app.pipeline.broker,
                    registry=app.pipeline.registry,
                    uow_factory=app.pipeline.uow_factory,
                    clock=app.clock,
                    policy=app.pipeline.retry,
                    lane=lane,
                    batch_size=50,
                )
            )
            received += report.received
        if not any(published.values()) and received == 0:
            return
    raise SystemExit("the pipeline did not drain")


def ingest_run(url: str, orders: int, *, audited: bool) -> tuple[float, Stopwatch, int]:
    engine = make_engine(url)
    upgrade(engine)
    app = bootstrap(
        settings=Settings(database_url=url, broker_url="db://"),
        engine=engine,
        clock=FixedClock(NOW),
        migrate=False,
    )
    catalog(app)
    watch = Stopwatch()
    original = app.pipeline.uow_factory

    def swap(log: AuditLog) -> AuditLog:
        return TimedAuditLog(log, watch) if audited else NullAuditLog()

    app.pipeline.uow_factory = lambda: cast(ConsumerUnitOfWork, Swapped(original(), swap))
    principal = Principal(key_id="bench", tenant_id=TENANT, roles=("admin",))
    events = [e for n in range(orders) for e in order_events(f"SO-{n}", n)]
    started = time.perf_counter()
    for start in range(0, len(events), 100):
        app.ingest(raw_events=events[start : start + 100], principal=principal)
    pump(app)
    elapsed = time.perf_counter() - started
    entries = SqlAuditStore(engine).journal_entry_ids(tenant_id=TENANT)
    app.close()
    return elapsed, watch, len(entries)


# ---- report ----------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--orders", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-ingest", action="store_true", help="Only the verification part.")
    args = parser.parse_args(argv)
    if not 1 <= args.records <= RECORDS_MAX or not 1 <= args.orders <= ORDERS_MAX:
        raise SystemExit(f"--records at most {RECORDS_MAX}, --orders at most {ORDERS_MAX}")
    with tempfile.TemporaryDirectory() as workdir, databases(Path(workdir)) as each:
        for dialect, url in each:
            load_chain(url, args.records)
            raw, blobs, in_memory = raw_chain_rate(url)
            rate, result = verify_rate(url)
            print(
                f"[{dialect}] verify: {result.records:,} records ({result.entries_checked:,} "
                f"journal entries cross-checked) at {rate.wall:,.0f} records/s wall "
                f"({rate.cpu:,.0f}/s of client CPU); raw hashlib chaining of the same "
                f"{blobs:,} records: {raw.wall:,.0f}/s wall ({raw.cpu:,.0f}/s CPU); ratio "
                f"{rate.wall / raw.wall:.3f}x wall, {rate.cpu / raw.cpu:.3f}x CPU "
                f"(target >= 0.1x); "
                f"the verifier over the same links in memory (no reads): "
                f"{in_memory.cpu / raw.cpu:.3f}x CPU"
            )
            if args.no_ingest:
                continue
            with_audit, without, shares = [], [], []
            appends = ""
            entries = 0
            for _ in range(args.rounds):
                for audited in (True, False):
                    # A fresh database per run, so every run ingests the same work.
                    run_url = fresh(url, dialect, Path(workdir))
                    elapsed, watch, entries = ingest_run(run_url, args.orders, audited=audited)
                    drop(run_url, dialect)
                    if audited:
                        with_audit.append(elapsed)
                        shares.append(watch.seconds / elapsed)
                        appends = f"{watch.calls} appends of {watch.records} records"
                    else:
                        without.append(elapsed)
            median_with, median_without = statistics.median(with_audit), statistics.median(without)
            print(
                f"[{dialect}] ingest of {args.orders} orders ({args.orders * 4} events, "
                f"{entries} journal entries, {appends}): with audit {median_with:.2f} s, without "
                f"{median_without:.2f} s (medians of {args.rounds}); the append's own time is "
                f"{statistics.median(shares):.1%} of ingest; difference of the runs "
                f"{(median_with - median_without) / median_with:+.1%} (target <= 10%)"
            )


def fresh(url: str, dialect: str, workdir: Path) -> str:
    if dialect == "sqlite":
        return sqlite_url(workdir / f"ingest-{uuid.uuid4().hex[:8]}.db")
    name = f"ordertrail_bench_audit_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return f"{url.rsplit('/', 1)[0]}/{name}"


def drop(url: str, dialect: str) -> None:
    if dialect == "postgresql":
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
