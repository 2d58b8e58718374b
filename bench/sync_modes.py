"""Event-driven against batch synchronisation: latency and database load, on PostgreSQL.

Run from the repository root (PostgreSQL must be up):

    .venv/bin/python bench/sync_modes.py            # about 70 s
    .venv/bin/python bench/sync_modes.py --quick    # a few seconds

The same seeded events (bench/workload.py: oms, wms, billing and carrier:ups events) occur at a
fixed rate, once per mode, each on a fresh database:

- event: each event is pushed as it occurs, one `Ordertrail.ingest` call per event (what
  `POST /v1/events` does after authentication and parsing).
- batch: the source appends the events to an export that it publishes into its drop directory
  (write, then rename) every `--interval-s`; the scheduler (`Ordertrail.run_due_sources`, what
  `ordertrail sync` runs) imports due sources, polling every `--poll-s`, on the same interval.

Latency of an event: from the moment it occurred (the producer emitted it) to the commit of the
transaction that updated its order's projection (the first commit on the engine after the
event's `recorded_at`). Database load, per 1,000 events: SQL statements and commits sent by
Ordertrail (counted on the engine), transactions as PostgreSQL counts them for the database
(`pg_stat_database.xact_commit`, read-only ones included), and CPU seconds of this process and
of its PostgreSQL backends (from /proc). The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from rich.console import Console
from sqlalchemy import Engine, event, select

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.contenders import PRINCIPAL
from bench.ingest import PG_ADMIN_URL, Databases, machine, percentile
from bench.workload import generate
from ordertrail.adapters.clock import SystemClock
from ordertrail.adapters.db.engine import make_engine
from ordertrail.adapters.db.migrate import upgrade
from ordertrail.adapters.db.tables import events as events_table
from ordertrail.bootstrap import Ordertrail, Settings, bootstrap
from ordertrail.entrypoints.cli.common import settle_heap
from ordertrail.services.sources import Source, SyncMode

DEFAULT_EVENTS = 1_500
QUICK_EVENTS = 300
# Events that occur per second: what one single-event ingest at a time keeps up with here.
DEFAULT_RATE = 50.0
DEFAULT_INTERVAL_S = 5.0
DEFAULT_POLL_S = 0.25
CLOCK_TICKS_S = os.sysconf("SC_CLK_TCK")


@dataclass(slots=True)
class Counters:
    """What Ordertrail sent to the database, counted on the engine."""

    statements: int = 0
    commits: int = 0

    def attach(self, engine: Engine, commit_times: list[float]) -> None:
        @event.listens_for(engine, "before_cursor_execute")
        def _statement(*_args: Any) -> None:
            self.statements += 1

        @event.listens_for(engine, "commit")
        def _commit(*_args: Any) -> None:
            self.commits += 1
            commit_times.append(time.time())


def server_counters(url: str) -> dict[str, float]:
    """This database's committed transactions, and its backends' CPU time."""
    with psycopg.connect(url, autocommit=True) as connection:
        name = connection.info.dbname
        row = connection.execute(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = %s",
            (name,),
        ).fetchone()
        pids = [
            pid
            for (pid,) in connection.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
        ]
    assert row is not None
    return {"xact_commit": float(row[0]), "backend_cpu_s": _cpu(pids)}


def _cpu(pids: Sequence[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK_TICKS_S


@dataclass(frozen=True, slots=True)
class ModeResult:
    mode: str
    events: int
    seconds: float
    latencies_ms: list[float]
    statements: int
    commits: int
    server: dict[str, float]
    client_cpu_s: float

    def figures(self) -> dict[str, Any]:
        per_k = 1000 / self.events
        return {
            "events": self.events,
            "seconds": round(self.seconds, 2),
            "latency_p50_ms": round(percentile(self.latencies_ms, 50), 1),
            "latency_p99_ms": round(percentile(self.latencies_ms, 99), 1),
            "latency_max_ms": round(max(self.latencies_ms), 1),
            "statements_per_1000": round(self.statements * per_k, 1),
            "commits_per_1000": round(self.commits * per_k, 1),
            "server_transactions_per_1000": round(self.server["xact_commit"] * per_k, 1),
            "client_cpu_s_per_1000": round(self.client_cpu_s * per_k, 3),
            "backend_cpu_s_per_1000": round(self.server["backend_cpu_s"] * per_k, 3),
        }


def paced(events: list[dict[str, Any]], *, rate: float, emit: Any) -> dict[str, float]:
    """Call `emit(event)` for each event at `rate` per second; return when each occurred.

    An event occurs at its scheduled time whether or not the system keeps up: if ingest falls
    behind, the wait before its turn counts in its latency, as it would for a real source.
    """
    occurred: dict[str, float] = {}
    started, started_wall = time.perf_counter(), time.time()
    for number, item in enumerate(events):
        pause = started + number / rate - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        occurred[item["event_id"]] = started_wall + number / rate
        emit(item)
    return occurred


def recorded_at(engine: Engine) -> dict[str, float]:
    query = select(events_table.c.event_id, events_table.c.recorded_at)
    with engine.connect() as connection:
        return {event_id: at.timestamp() for event_id, at in connection.execute(query)}


def run_mode(
    mode: str,
    *,
    url: str,
    events: list[dict[str, Any]],
    rate: float,
    interval_s: float,
    poll_s: float,
    workdir: Path,
) -> ModeResult:
    engine = make_engine(url)
    upgrade(engine)
    drop_root = workdir / f"drop-{mode}"
    app = bootstrap(
        settings=Settings(database_url=url, sync_drop_root=str(drop_root)),
        engine=engine,
        clock=SystemClock(),
        migrate=False,
    )
    settle_heap()
    commit_times: list[float] = []
    counters = Counters()
    counters.attach(engine, commit_times)
    before = server_counters(url)
    cpu_before = time.process_time()
    started = time.perf_counter()
    if mode == SyncMode.EVENT.value:
        emitted = paced(
            events, rate=rate, emit=lambda item: app.ingest(raw_events=[item], principal=PRINCIPAL)
        )
    else:
        emitted = _batch_mode(app, events, rate=rate, interval_s=interval_s, poll_s=poll_s)
    seconds = time.perf_counter() - started
    client_cpu_s = time.process_time() - cpu_before
    after = server_counters(url)
    recorded = recorded_at(engine)
    commit_times.sort()
    latencies_ms = []
    for event_id, at in emitted.items():
        committed = commit_times[bisect.bisect_left(commit_times, recorded[event_id])]
        latencies_ms.append((committed - at) * 1000)
    app.close()
    return ModeResult(
        mode=mode,
        events=len(events),
        seconds=seconds,
        latencies_ms=latencies_ms,
        statements=counters.statements,
        commits=counters.commits,
        server={name: after[name] - before[name] for name in before},
        client_cpu_s=client_cpu_s,
    )


def _batch_mode(
    app: Ordertrail, events: list[dict[str, Any]], *, rate: float, interval_s: float, poll_s: float
) -> dict[str, float]:
    """The producer exports every `interval_s`; a scheduler thread imports what is due."""
    now = app.clock.now()
    # Configured directly: the product's minimum interval is a minute, the bench's a few seconds.
    app.sources.put(
        source=Source(
            tenant_id=PRINCIPAL.tenant_id,
            source="export",
            mode=SyncMode.BATCH,
            interval_s=max(1, round(interval_s)),
            updated_at=now,
            updated_by="bench",
            # Half an interval out of phase with the producer's exports, as nobody aligns them.
            next_run_at=datetime.fromtimestamp(time.time() + interval_s / 2, tz=UTC),
        )
    )
    directory = app.drop_box.directory(tenant_id=PRINCIPAL.tenant_id, source="export")
    directory.mkdir(parents=True, exist_ok=True)
    window: list[str] = []
    exports = 0
    window_started = time.perf_counter()

    def publish() -> None:
        nonlocal exports, window
        if not window:
            return
        exports += 1
        partial = directory / f"export-{exports:05d}.jsonl.part"
        partial.write_text("".join(window), encoding="utf-8")
        partial.rename(directory / f"export-{exports:05d}.jsonl")
        window = []

    def emit(item: dict[str, Any]) -> None:
        nonlocal window_started
        if time.perf_counter() - window_started >= interval_s:
            publish()
            window_started = time.perf_counter()
        window.append(json.dumps(item) + "\n")

    stop = threading.Event()
    imported = threading.Event()

    def scheduler() -> None:
        while not stop.is_set():
            for run in app.run_due_sources():
                if run.files:
                    imported.set()
            stop.wait(poll_s)

    thread = threading.Thread(target=scheduler, name="scheduler")
    thread.start()
    try:
        emitted = paced(events, rate=rate, emit=emit)
        # The last export goes out at the end of its window, as the producer's schedule says.
        time.sleep(max(0.0, interval_s - (time.perf_counter() - window_started)))
        publish()
        deadline = time.monotonic() + 3 * interval_s + 30
        while _imported_count(app) < len(events):
            if time.monotonic() > deadline:
                raise RuntimeError("the scheduler did not import every export")
            time.sleep(poll_s)
    finally:
        stop.set()
        thread.join()
    return emitted


def _imported_count(app: Ordertrail) -> int:
    with app.engine.connect() as connection:
        return len(connection.execute(select(events_table.c.event_id)).all())


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=None)
    parser.add_argument("--rate", type=float, default=DEFAULT_RATE, help="events/s that occur")
    parser.add_argument("--interval-s", type=float, default=DEFAULT_INTERVAL_S)
    parser.add_argument("--poll-s", type=float, default=DEFAULT_POLL_S)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--pg-admin-url", default=PG_ADMIN_URL)
    args = parser.parse_args(argv)
    count = args.events or (QUICK_EVENTS if args.quick else DEFAULT_EVENTS)
    console = Console(highlight=False)
    started = datetime.now(UTC)
    events = generate(events_count=count, seed=args.seed).events
    databases = Databases(workdir=Path("."), pg_admin_url=args.pg_admin_url)
    results: dict[str, ModeResult] = {}
    with tempfile.TemporaryDirectory(prefix="ordertrail_sync_") as workdir:
        for mode in (SyncMode.EVENT.value, SyncMode.BATCH.value):
            console.print(f"{mode}: {count} events at {args.rate:g}/s")
            with databases.postgres() as url:
                results[mode] = run_mode(
                    mode,
                    url=url,
                    events=events,
                    rate=args.rate,
                    interval_s=args.interval_s,
                    poll_s=args.poll_s,
                    workdir=Path(workdir),
                )
    figures = {mode: result.figures() for mode, result in results.items()}
    for mode, f in figures.items():
        console.print(
            f"  {mode:5} latency p50 {f['latency_p50_ms']:,.0f} ms, p99 {f['latency_p99_ms']:,.0f}"
            f" ms; per 1,000 events: {f['statements_per_1000']:,.0f} statements, "
            f"{f['commits_per_1000']:,.0f} commits ({f['server_transactions_per_1000']:,.0f} "
            f"server), CPU {f['client_cpu_s_per_1000']} s "
            f"client + {f['backend_cpu_s_per_1000']} s PostgreSQL"
        )
    summary = {
        "benchmark": "sync_modes",
        "started_at": started.isoformat(),
        "command": " ".join(["python bench/sync_modes.py", *sys.argv[1:]]),
        "rate_per_s": args.rate,
        "interval_s": args.interval_s,
        "poll_s": args.poll_s,
        "results": figures,
        "machine": machine(pg_admin_url=args.pg_admin_url),
        "load_average": os.getloadavg(),
    }
    sys.stdout.flush()
    print(json.dumps(summary, sort_keys=True))


if __name__ == "__main__":
    main()
