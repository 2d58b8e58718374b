"""Ingest benchmark: Ordertrail's real ingest path against raw inserts and `eventsourcing`.

Run from the repository root:

    .venv/bin/python -m bench.ingest                 # the full run (about 45 s on 2 cores)
    .venv/bin/python -m bench.ingest --quick         # a smoke run of a few seconds
    .venv/bin/python -m bench.ingest --skip-postgres

Every contender ingests the same seeded events on a fresh database, per database (SQLite file,
PostgreSQL) and batch size (1 and 500), one transaction per batch. The table shows events/s and
the p50/p99 latency of one batch; then the ratios and targets; the last line is one JSON object
with every figure. See bench/README.md for what each contender does.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from importlib.metadata import version
from pathlib import Path
from typing import Any

import psycopg
from rich.console import Console
from rich.table import Table

if __package__ in (None, ""):
    # Run as a script (`python bench/ingest.py`): make the repository root importable so the
    # `bench` package resolves as it does under `python -m bench.ingest`.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.contenders import (
    Batch,
    BatchRows,
    Contender,
    EventsourcingContender,
    OrdertrailContender,
    RawPostgresContender,
    RawSqliteContender,
    capture_rows,
    eventsourcing_postgres_env,
    eventsourcing_sqlite_env,
)
from bench.workload import Workload, generate
from ordertrail.adapters.db.engine import make_engine
from ordertrail.adapters.db.migrate import upgrade

DEFAULT_EVENTS = 30_000
DEFAULT_SINGLE_EVENTS = 3_000
QUICK_EVENTS = 1_000
QUICK_SINGLE_EVENTS = 100
BATCH_SIZES = (1, 500)
WARMUP_EVENTS = 200
CONTENDERS = ("ordertrail", "raw", "eventsourcing")
PG_ADMIN_URL = os.environ.get(
    "ORDERTRAIL_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
# Targets from the Foundation issue, for batches of 500.
TARGET_SQLITE_VS_RAW = 0.25
TARGET_SQLITE_VS_EVENTSOURCING = 1.0
TARGET_POSTGRES_EVENTS_PER_S = 5_000


@dataclass(frozen=True, slots=True)
class Measurement:
    database: str
    batch_size: int
    contender: str
    events: int
    seconds: float
    latencies_ms: list[float]
    rows: dict[str, int]

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds

    def figures(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "batches": len(self.latencies_ms),
            "seconds": round(self.seconds, 3),
            "events_per_s": round(self.events_per_s, 1),
            "p50_ms": round(percentile(self.latencies_ms, 50), 3),
            "p99_ms": round(percentile(self.latencies_ms, 99), 3),
            "rows": self.rows,
        }


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile: the smallest value with at least `pct`% of values at or below."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


def batches_of(events: list[dict[str, Any]], size: int) -> list[Batch]:
    return [events[i : i + size] for i in range(0, len(events), size)]


# ---- databases ----------------------------------------------------------------------------------


class Databases:
    """Fresh databases for each run: SQLite files in a temporary directory, PostgreSQL databases
    named ordertrail_bench_<pid>_<n>, all removed on exit."""

    def __init__(self, *, workdir: Path, pg_admin_url: str | None) -> None:
        self._workdir = workdir
        self._pg_admin_url = pg_admin_url
        self._count = 0

    @contextmanager
    def sqlite(self) -> Iterator[str]:
        self._count += 1
        path = self._workdir / f"bench_{self._count}.db"
        yield str(path)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    @contextmanager
    def postgres(self) -> Iterator[str]:
        assert self._pg_admin_url is not None
        self._count += 1
        name = f"ordertrail_bench_{os.getpid()}_{self._count}"
        with psycopg.connect(self._pg_admin_url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"{self._pg_admin_url.rsplit('/', 1)[0]}/{name}"
        finally:
            with psycopg.connect(self._pg_admin_url, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def migrated(url: str) -> None:
    """Create Ordertrail's schema, so the raw baseline writes into the same tables and indexes."""
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()


def analyze(database: str, url_or_path: str) -> None:
    """Give PostgreSQL's planner statistics, as autovacuum does within a minute in production.

    Without them a fresh database plans the idempotency lookup as a scan of the tenant's rows,
    which gets slower with every batch; a run of a few seconds never reaches autovacuum.
    """
    if database == "postgres":
        with psycopg.connect(url_or_path, autocommit=True) as connection:
            connection.execute("ANALYZE")


# ---- one run ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Plan:
    """What one database and batch size ingests: warm-up and measured batches, and their rows.

    Batches are kept as JSON text and decoded just before each is ingested, outside the timing: a
    server holds one request at a time, and tens of thousands of live event dicts in the bench's
    own memory would make every full garbage collection of the contenders slower than it is.
    """

    batch_size: int
    warmup: list[bytes]
    measured: list[bytes]
    warmup_rows: list[BatchRows]
    measured_rows: list[BatchRows]
    now: datetime

    @property
    def events(self) -> int:
        return sum(len(json.loads(batch)) for batch in self.measured)


def make_plan(*, workload: Workload, warmup: Workload, events_count: int, batch_size: int) -> Plan:
    now = max(workload.now, warmup.now)
    warm = batches_of(warmup.events, batch_size)
    measured = batches_of(workload.events[:events_count], batch_size)
    return Plan(
        batch_size=batch_size,
        warmup=[json.dumps(batch).encode() for batch in warm],
        measured=[json.dumps(batch).encode() for batch in measured],
        warmup_rows=capture_rows(batches=warm, now=now),
        measured_rows=capture_rows(batches=measured, now=now),
        now=now,
    )


def run(
    *, contender: Contender, plan: Plan, database: str, after_warmup: Callable[[], None]
) -> Measurement:
    try:
        for batch in plan.warmup:
            contender.ingest(json.loads(batch))
        after_warmup()
        gc.collect()
        latencies_ms: list[float] = []
        clock = time.perf_counter
        for encoded in plan.measured:
            batch = json.loads(encoded)
            before = clock()
            contender.ingest(batch)
            latencies_ms.append((clock() - before) * 1000)
            del batch
        rows = contender.row_counts()
    finally:
        contender.close()
    return Measurement(
        database=database,
        batch_size=plan.batch_size,
        contender=contender.name,
        events=plan.events,
        seconds=sum(latencies_ms) / 1000,
        latencies_ms=latencies_ms,
        rows=rows,
    )


def contender_factory(
    name: str, *, database: str, url_or_path: str, plan: Plan
) -> Callable[[], Contender]:
    rows = plan.warmup_rows + plan.measured_rows
    if database == "sqlite":
        url = f"sqlite:///{url_or_path}"
        factories: dict[str, Callable[[], Contender]] = {
            "ordertrail": lambda: OrdertrailContender(url=url, now=plan.now),
            "raw": lambda: RawSqliteContender(path=url_or_path, rows=rows),
            "eventsourcing": lambda: EventsourcingContender(
                env=eventsourcing_sqlite_env(url_or_path)
            ),
        }
    else:
        factories = {
            "ordertrail": lambda: OrdertrailContender(url=url_or_path, now=plan.now),
            "raw": lambda: RawPostgresContender(url=url_or_path, rows=rows),
            "eventsourcing": lambda: EventsourcingContender(
                env=eventsourcing_postgres_env(url_or_path)
            ),
        }
    return factories[name]


def measure_all(
    *, args: argparse.Namespace, databases: Databases, console: Console
) -> list[Measurement]:
    workload = generate(events_count=args.events, seed=args.seed)
    warmup = generate(events_count=WARMUP_EVENTS, seed=args.seed + 1, prefix="warm-")
    console.print(f"workload: {len(workload.events)} events, mix {workload.mix()}")
    plans = [
        make_plan(
            workload=workload,
            warmup=warmup,
            events_count=args.single_events if batch_size == 1 else args.events,
            batch_size=batch_size,
        )
        for batch_size in BATCH_SIZES
    ]
    del workload, warmup  # from here on the plans hold the events, as JSON text
    names = ["sqlite"] + ([] if args.skip_postgres else ["postgres"])
    results: list[Measurement] = []
    for plan in plans:
        batch_size = plan.batch_size
        for database in names:
            for name in CONTENDERS:
                opened = databases.sqlite() if database == "sqlite" else databases.postgres()
                with opened as url_or_path:
                    if name != "eventsourcing":
                        if database == "sqlite":
                            migrated(f"sqlite:///{url_or_path}")
                        else:
                            migrated(url_or_path)
                    factory = contender_factory(
                        name, database=database, url_or_path=url_or_path, plan=plan
                    )
                    measurement = run(
                        contender=factory(),
                        plan=plan,
                        database=database,
                        after_warmup=partial(analyze, database, url_or_path),
                    )
                console.print(
                    f"  {database:8} batch {batch_size:>3} {name:13} "
                    f"{measurement.events_per_s:>9,.0f} events/s"
                )
                results.append(measurement)
    return results


# ---- report -------------------------------------------------------------------------------------


def key(m: Measurement) -> str:
    return f"{m.database}.batch_{m.batch_size}.{m.contender}"


def check_same_rows(results: list[Measurement]) -> None:
    """Refuse a run in which the raw baseline did not write what our path wrote."""
    by_key = {key(m): m for m in results}
    for m in results:
        if m.contender == "raw":
            ours = by_key[f"{m.database}.batch_{m.batch_size}.ordertrail"]
            if ours.rows != m.rows:
                raise RuntimeError(f"rows differ: ordertrail {ours.rows}, raw {m.rows}")


def ratios(results: list[Measurement]) -> dict[str, float]:
    by_key = {key(m): m for m in results}
    out: dict[str, float] = {}
    for m in results:
        if m.contender != "ordertrail":
            continue
        for other in ("raw", "eventsourcing"):
            base = by_key.get(f"{m.database}.batch_{m.batch_size}.{other}")
            if base is not None:
                out[f"{m.database}.batch_{m.batch_size}.vs_{other}"] = round(
                    m.events_per_s / base.events_per_s, 3
                )
    return out


def targets(results: list[Measurement], found: dict[str, float]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {
        "sqlite_batch_500_vs_raw": {
            "target": TARGET_SQLITE_VS_RAW,
            "actual": found.get("sqlite.batch_500.vs_raw"),
        },
        "sqlite_batch_500_vs_eventsourcing": {
            "target": TARGET_SQLITE_VS_EVENTSOURCING,
            "actual": found.get("sqlite.batch_500.vs_eventsourcing"),
        },
    }
    postgres = [m for m in results if key(m) == "postgres.batch_500.ordertrail"]
    if postgres:
        out["postgres_batch_500_events_per_s"] = {
            "target": TARGET_POSTGRES_EVENTS_PER_S,
            "actual": round(postgres[0].events_per_s, 1),
        }
    for entry in out.values():
        actual = entry["actual"]
        entry["met"] = None if actual is None else actual >= entry["target"]
    return out


def machine(*, pg_admin_url: str | None) -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with tempfile.TemporaryDirectory() as scratch:
        probe = sqlite3.connect(Path(scratch) / "probe.db")
        default_synchronous = probe.execute("PRAGMA synchronous").fetchone()[0]
        probe.close()
    info: dict[str, Any] = {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        # eventsourcing does not set synchronous: it runs at this compiled default (2 = FULL).
        "sqlite_default_synchronous": default_synchronous,
        "postgres": None,
        "packages": {
            name: version(name)
            for name in ("SQLAlchemy", "psycopg", "pydantic", "pydantic_core", "eventsourcing")
        },
    }
    if pg_admin_url is not None:
        with psycopg.connect(pg_admin_url) as connection:
            row = connection.execute("SHOW server_version").fetchone()
            info["postgres"] = None if row is None else row[0]
            row = connection.execute("SHOW synchronous_commit").fetchone()
            info["postgres_synchronous_commit"] = None if row is None else row[0]
    return info


def report(
    *, results: list[Measurement], args: argparse.Namespace, console: Console, started: datetime
) -> None:
    table = Table(title="Ingest: events/s and latency of one batch (one transaction)")
    for column in ("database", "batch", "contender", "events", "events/s", "p50 ms", "p99 ms"):
        table.add_column(column, justify="left" if column in ("database", "contender") else "right")
    for m in results:
        f = m.figures()
        table.add_row(
            m.database,
            str(m.batch_size),
            m.contender,
            str(m.events),
            f"{f['events_per_s']:,.0f}",
            f"{f['p50_ms']:.2f}",
            f"{f['p99_ms']:.2f}",
        )
    console.print(table)
    check_same_rows(results)
    console.print("Rows written: identical counts for ordertrail and raw in every cell.")
    found = ratios(results)
    console.print("Ratios (Ordertrail events/s ÷ baseline events/s):")
    for name, value in found.items():
        console.print(f"  {name:36} {value:6.3f}x")
    checked = targets(results, found)
    console.print("Targets (batches of 500):")
    for name, entry in checked.items():
        verdict = {True: "met", False: "MISSED", None: "not measured"}[entry["met"]]
        console.print(f"  {name:36} {entry['actual']} (target ≥ {entry['target']}): {verdict}")
    summary = {
        "benchmark": "ingest",
        "started_at": started.isoformat(),
        "command": " ".join(["python -m bench.ingest", *sys.argv[1:]]),
        "seed": args.seed,
        "results": {key(m): m.figures() for m in results},
        "ratios": found,
        "targets": checked,
        "machine": machine(pg_admin_url=None if args.skip_postgres else args.pg_admin_url),
    }
    # Plain print, not Rich: the last line must be exactly one JSON object, never wrapped.
    sys.stdout.flush()
    print(json.dumps(summary, sort_keys=True))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=None, help="events for batches of 500")
    parser.add_argument(
        "--single-events", type=int, default=None, help="events for batches of 1 (fsync-bound)"
    )
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--pg-admin-url", default=PG_ADMIN_URL)
    args = parser.parse_args(argv)
    if args.events is None:
        args.events = QUICK_EVENTS if args.quick else DEFAULT_EVENTS
    if args.single_events is None:
        single = QUICK_SINGLE_EVENTS if args.quick else DEFAULT_SINGLE_EVENTS
        args.single_events = min(args.events, single)
    console = Console(stderr=False, highlight=False)
    started = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="ordertrail_bench_") as workdir:
        databases = Databases(
            workdir=Path(workdir), pg_admin_url=None if args.skip_postgres else args.pg_admin_url
        )
        results = measure_all(args=args, databases=databases, console=console)
    report(results=results, args=args, console=console, started=started)


if __name__ == "__main__":
    main()
