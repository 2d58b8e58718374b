"""Month-end close benchmark: N open over-time obligations, closed on PostgreSQL and SQLite.

Run: `.venv/bin/python bench/close.py [--obligations N]` (default 1,000,000). For each database
it bulk-loads N obligations straight into revenue_obligations (12-month ratable schedules,
recognized through the month before the period), then times
- the baseline: ONE set-based SQL statement computing, per obligation, what its schedule calls
  for through the period end less what is recognized (into a temp table);
- the close (`ordertrail close` in a child process, so its peak RSS is its own),
and checks that the close posted exactly the baseline's amounts, obligation by obligation.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import orjson
import psycopg
from sqlalchemy import Engine, text

from ordertrail.adapters.db.engine import make_engine, sqlite_url
from ordertrail.adapters.db.migrate import upgrade
from ordertrail.adapters.db.uow import SqlUnitOfWork
from ordertrail.domain.ledger import period_index
from ordertrail.domain.money import allocate
from ordertrail.services.close import run_close
from ordertrail.services.revenue_ports import RevenueUnitOfWork

PERIOD = "2026-11"
TENANT = "bench"
OBLIGATIONS_MAX = 5_000_000
PG_ADMIN = os.environ.get("ORDERTRAIL_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
NOW = datetime(2026, 12, 1, tzinfo=UTC)
LOAD_BATCH = 50_000

BASELINE_PG = """
CREATE TEMP TABLE baseline AS
SELECT o.contract_id, o.obligation_id,
       (SELECT coalesce(sum(a.x::bigint), 0)
          FROM json_array_elements_text(o.schedule_amounts::json) WITH ORDINALITY AS a(x, n)
         WHERE a.n <= :period - o.schedule_first_period + 1) - o.recognized_minor AS due_minor
  FROM revenue_obligations o
 WHERE o.tenant_id = :tenant AND o.active AND o.timing = 'over_time'
   AND o.schedule_amounts IS NOT NULL
"""
BASELINE_SQLITE = """
CREATE TEMP TABLE baseline AS
SELECT o.contract_id, o.obligation_id,
       (SELECT coalesce(sum(j.value), 0) FROM json_each(o.schedule_amounts) AS j
         WHERE j.key < :period - o.schedule_first_period + 1) - o.recognized_minor AS due_minor
  FROM revenue_obligations o
 WHERE o.tenant_id = :tenant AND o.active AND o.timing = 'over_time'
   AND o.schedule_amounts IS NOT NULL
"""
# Obligations whose baseline amount differs from what the close posted to revenue.
MISMATCHES = """
SELECT count(*) FROM baseline b
LEFT JOIN (SELECT contract_id, obligation_id, -sum(amount_minor) AS posted
             FROM journal_postings
            WHERE tenant_id = :tenant AND period = :key AND account LIKE 'revenue%'
            GROUP BY contract_id, obligation_id) c
       ON c.contract_id = b.contract_id AND c.obligation_id = b.obligation_id
WHERE coalesce(c.posted, 0) <> b.due_minor
"""


def rows(count: int) -> Any:
    """N obligations, one per contract: 12-month schedules starting Jan..Nov 2026, recognized
    through October, billed so that about half the contracts hold a liability."""
    period = period_index(PERIOD)
    for number in range(count):
        allocated = 12_000 + (number % 997)
        amounts = allocate(total_minor=allocated, weights=[1] * 12)
        first = period - 10 + (number % 11)
        recognized = sum(amounts[: max(period - 1 - first + 1, 0)])
        contract = f"ctr-{number:08d}"
        yield {
            "tenant_id": TENANT,
            "obligation_id": f"{contract}/1/support",
            "contract_id": contract,
            "customer_id": f"cust-{number % 5000}",
            "sku": "SUPPORT",
            "component": "support",
            "nature": "service",
            "timing": "over_time",
            "trigger": None,
            "method": "ratable_monthly_equal",
            "currency": "USD",
            "revenue_account": "revenue_services",
            "allocated_minor": allocated,
            "recognized_minor": recognized,
            "refund_liability_minor": 0,
            "return_asset_minor": 0,
            "cost_of_sales_minor": 0,
            "inventory_minor": 0,
            "deferred_minor": allocated - recognized,
            "billed_minor": allocated if number % 2 else 0,
            "quantity": 1,
            "transferred_units": 0,
            "returned_units": 0,
            "service_start": None,
            "service_end": None,
            "schedule_first_period": first,
            "schedule_amounts": orjson.dumps(amounts).decode(),
            "ratable_through": period - 1,
            "progress_done": 0,
            "progress_total": 0,
            "active": True,
            "updated_at": NOW,
        }


def load(engine: Engine, count: int) -> float:
    started = time.perf_counter()
    columns = list(next(rows(1)))
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            raw: Any = connection.connection.dbapi_connection
            with (
                raw.cursor() as cursor,
                cursor.copy(f"COPY revenue_obligations ({', '.join(columns)}) FROM STDIN") as copy,
            ):
                for row in rows(count):
                    copy.write_row([row[c] for c in columns])
        return time.perf_counter() - started
    marks = ", ".join(f":{c}" for c in columns)
    statement = text(f"INSERT INTO revenue_obligations ({', '.join(columns)}) VALUES ({marks})")
    batch: list[dict[str, Any]] = []
    with engine.begin() as connection:
        for row in rows(count):
            batch.append(row)
            if len(batch) >= LOAD_BATCH:
                connection.execute(statement, batch)
                batch = []
        if batch:
            connection.execute(statement, batch)
    return time.perf_counter() - started


def baseline(engine: Engine) -> tuple[float, Any]:
    """Run the baseline statement on a connection kept open for the later comparison."""
    connection = engine.connect()
    sql = BASELINE_PG if engine.dialect.name == "postgresql" else BASELINE_SQLITE
    started = time.perf_counter()
    connection.execute(text(sql), {"period": period_index(PERIOD), "tenant": TENANT})
    connection.commit()
    return time.perf_counter() - started, connection


def close_child(url: str) -> None:
    """The close itself, run in a child process (see main)."""
    engine = make_engine(url)
    started = time.perf_counter()
    summary = run_close(
        uow_factory=lambda: cast(RevenueUnitOfWork, SqlUnitOfWork(engine)),
        tenant_id=TENANT,
        period=PERIOD,
        actor="bench",
        now=lambda: NOW,
    )
    elapsed = time.perf_counter() - started
    print(orjson.dumps({"seconds": elapsed, "entries": summary.entries}).decode())


def timed_close(url: str) -> tuple[float, int, int]:
    """Run the close in a child; return (seconds, entries, peak RSS in KiB)."""
    child = subprocess.Popen(
        [sys.executable, __file__, "--child", url], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    output = child.stdout.read()
    _pid, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"the close failed in the child process (exit {child.returncode})")
    result = orjson.loads(output.strip().splitlines()[-1])
    return result["seconds"], result["entries"], usage.ru_maxrss


# The PostgreSQL triggers that check balanced entries at commit (migration 0005); switched off
# only by `--without-balance-check`, to measure what the check costs.
BALANCE_TRIGGERS = (
    ("journal_entries", "journal_entries_record"),
    ("journal_entries", "journal_entries_balanced"),
    ("journal_postings", "journal_postings_fresh"),
)


def bench(name: str, url: str, count: int, *, balance_check: bool = True) -> None:
    engine = make_engine(url)
    upgrade(engine)
    if not balance_check:
        with engine.begin() as connection:
            for table, trigger in BALANCE_TRIGGERS:
                connection.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}"))
    load_s = load(engine, count)
    with engine.begin() as connection:
        # A table in service has statistics; give the freshly loaded one its own.
        connection.execute(text("ANALYZE"))
    base_s, connection = baseline(engine)
    close_s, entries, rss_kib = timed_close(url)
    mismatches = connection.execute(text(MISMATCHES), {"tenant": TENANT, "key": PERIOD}).scalar()
    connection.close()
    engine.dispose()
    print(
        f"{name:10s} obligations={count:,} load={load_s:.1f}s baseline={base_s:.2f}s "
        f"close={close_s:.2f}s ({count / close_s:,.0f} obligations/s) "
        f"ratio={close_s / base_s:.2f}x entries={entries:,} peak_rss={rss_kib / 1024:.0f} MiB "
        f"mismatches={mismatches}"
    )
    if mismatches:
        raise SystemExit(f"{name}: the close and the baseline disagree on {mismatches} obligations")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--obligations", type=int, default=1_000_000)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument(
        "--without-balance-check",
        action="store_true",
        help="PostgreSQL only: disable the commit-time balance triggers, to measure their cost",
    )
    args = parser.parse_args()
    if args.child:
        close_child(args.child)
        return
    if not 1 <= args.obligations <= OBLIGATIONS_MAX:
        raise SystemExit(f"--obligations must be within 1..{OBLIGATIONS_MAX:,}")
    if not args.skip_postgres:
        name = f"bench_close_{os.getpid()}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        try:
            bench(
                "postgresql" if not args.without_balance_check else "pg-nocheck",
                f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}",
                args.obligations,
                balance_check=not args.without_balance_check,
            )
        finally:
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as folder:
            bench("sqlite", sqlite_url(Path(folder) / "close.db"), args.obligations)


if __name__ == "__main__":
    main()
