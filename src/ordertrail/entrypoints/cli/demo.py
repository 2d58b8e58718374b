"""`ordertrail demo`: a fresh SQLite database holding a realistic month of order traffic, and the
revenue it makes.

The traffic goes through the same ingest path as every client (schema check, idempotency, the
order lifecycle, projection, outbox, quarantine), in batches, with a key of its own. A sample of
the month's orders then goes through the revenue consumer and the month is closed
(entrypoints/cli/demo_revenue.py).
"""

from __future__ import annotations

import shlex
import time
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.exc import DatabaseError

from ordertrail.adapters.traffic import Traffic, generate_traffic, last_complete_month
from ordertrail.bootstrap import Ordertrail
from ordertrail.domain.orders import LIFECYCLE
from ordertrail.entrypoints.cli import demo_carriers, demo_controls, demo_revenue
from ordertrail.entrypoints.cli.common import console, fail, open_app
from ordertrail.services.keys import Principal, create_key
from ordertrail.services.results import BatchSummary, IngestResult, Outcome

DEMO_DATABASE = Path("ordertrail-demo.db")
DEMO_TENANT = "demo"
# 4,000 orders are about 32,000 events: about ten seconds in all on a 2-core machine with SQLite
# (measured November 2026: generation 0.8 s, ingest 7.5-8.2 s at ~4,000 events/s).
ORDERS_DEFAULT = 4000
# The month is held in memory (about 8 events of 1.5 KB per order): 50,000 orders need ~600 MB.
ORDERS_MAX = 50_000
BATCH_SIZE = 500
# Orders whose events go through the revenue consumer before the rest of the month is ingested.
# The consumer handles a message in tens of milliseconds on SQLite; 40 orders (about 260
# messages) keep the whole demo within half a minute.
REVENUE_ORDERS_DEFAULT = 40
# Order numbers start here (adapters/traffic/traffic.py names orders SO-<number>).
FIRST_ORDER_NUMBER = 100_001
SQLITE_HEADER = b"SQLite format 3\x00"
SQLITE_SIDECARS = ("-wal", "-shm", "-journal")


def demo(
    *,
    orders: Annotated[
        int, typer.Option(min=1, max=ORDERS_MAX, help="How many orders the month holds.")
    ] = ORDERS_DEFAULT,
    seed: Annotated[int, typer.Option(help="The same seed gives the same traffic.")] = 1,
    revenue_orders: Annotated[
        int,
        typer.Option(
            min=0, max=ORDERS_MAX, help="How many of the orders go through revenue (0: none)."
        ),
    ] = REVENUE_ORDERS_DEFAULT,
    database: Annotated[
        Path,
        typer.Option(
            "--database", "-d", dir_okay=False, help="The SQLite file to create (replaced)."
        ),
    ] = DEMO_DATABASE,
) -> None:
    """Create a fresh database with a month of realistic order traffic, then show what happened."""
    run_started = time.perf_counter()
    replaced = _remove_previous(database)
    app = open_app(str(database))
    try:
        now = app.clock.now()
        principal = _integration_principal(app)
        _record, admin_token = create_key(
            store=app.keys, tenant_id=DEMO_TENANT, roles=["admin"], name="demo admin", now=now
        )
        verb = "Replaced the existing" if replaced else "Created"
        console.print(f"{verb} demo database [bold]{database}[/] (tenant {DEMO_TENANT}).")
        started = time.perf_counter()
        traffic = generate_traffic(
            seed=seed, orders_count=orders, month_start=last_complete_month(now)
        )
        console.print(
            f"Generated {len(traffic.events):,} events for {orders:,} orders in "
            f"{traffic.month_start:%B %Y} (seed {seed}) in {time.perf_counter() - started:.1f} s."
        )
        sample = _sample(traffic, orders=min(revenue_orders, orders))
        results, elapsed_s, revenue = _ingest_with_revenue(
            app, traffic=traffic, principal=principal, sample=sample
        )
        _print_summary(app, traffic=traffic, results=results, elapsed_s=elapsed_s)
        if revenue is not None:
            _print_revenue(app, traffic=traffic, sample=sample, revenue=revenue)
            sampled = sorted({str(traffic.events[i]["order_id"]) for i in sample})
            controls = demo_controls.run_controls(app, tenant_id=DEMO_TENANT, order_ids=sampled)
            if controls is not None:
                console.print(demo_controls.controls_table(controls))
            demo_carriers.show_carriers(app, tenant_id=DEMO_TENANT)
    finally:
        app.close()
    console.print(f"The whole demo took {time.perf_counter() - run_started:.1f} s.")
    _print_next_steps(
        database=database,
        token=admin_token,
        order_id=_showcase(results),
        period=f"{traffic.month_start:%Y-%m}" if revenue is not None else None,
    )


def _remove_previous(path: Path) -> bool:
    """Delete an earlier demo database at `path`; refuse anything that might be real data."""
    if not path.exists():
        return False
    if path.is_dir():
        raise fail(f"{path} is a directory")
    with path.open("rb") as file:
        header = file.read(len(SQLITE_HEADER))
    if header and header != SQLITE_HEADER:
        raise fail(f"{path} is not an SQLite database; not replacing it")
    if header:
        _refuse_other_tenants(path)
    for sidecar in ("", *SQLITE_SIDECARS):
        Path(f"{path}{sidecar}").unlink(missing_ok=True)
    return True


def _refuse_other_tenants(path: Path) -> None:
    # Deleting a file is the one irreversible thing the demo does, so it only deletes databases
    # whose keys all belong to the demo tenant, which is what an earlier demo leaves behind.
    probe = open_app(str(path), migrate=False)
    try:
        tenants = {key.tenant_id for key in probe.keys.list(tenant_id=None)}
    except DatabaseError:
        raise fail(f"{path} is not an Ordertrail database; not replacing it") from None
    finally:
        probe.close()
    others = sorted(tenants - {DEMO_TENANT})
    if others:
        raise fail(
            f"{path} holds keys for tenant(s) {', '.join(others)}; the demo replaces only its own "
            "database. Choose another --database."
        )


def _integration_principal(app: Ordertrail) -> Principal:
    record, _token = create_key(
        store=app.keys,
        tenant_id=DEMO_TENANT,
        roles=["integration"],
        name="demo traffic",
        now=app.clock.now(),
    )
    return Principal(key_id=record.key_id, tenant_id=record.tenant_id, roles=record.roles)


def _sample(traffic: Traffic, *, orders: int) -> list[int]:
    """Indexes of the events of the month's first `orders` orders, in sending order."""
    if orders == 0:
        return []
    first = {f"SO-{FIRST_ORDER_NUMBER + i}" for i in range(orders)}
    return [
        index
        for index, event in enumerate(traffic.events)
        if isinstance(event, dict) and event.get("order_id") in first
    ]


def _ingest_with_revenue(
    app: Ordertrail, *, traffic: Traffic, principal: Principal, sample: list[int]
) -> tuple[list[IngestResult], float, demo_revenue.RevenueRun | None]:
    """Ingest the sample, run revenue over it and close the month, then ingest the rest.

    Returns the results in sending order, the time spent ingesting, and the revenue run.
    """
    chosen = set(sample)
    rest = [index for index in range(len(traffic.events)) if index not in chosen]
    results: dict[int, IngestResult] = {}
    revenue = None
    ingest_s = 0.0
    if sample:
        demo_revenue.seed_catalog(app, tenant_id=DEMO_TENANT)
        started = time.perf_counter()
        results |= _ingest(app, traffic=traffic, indexes=sample, principal=principal)
        ingest_s += time.perf_counter() - started
        revenue = _revenue(app)
    started = time.perf_counter()
    results |= _ingest(app, traffic=traffic, indexes=rest, principal=principal)
    ingest_s += time.perf_counter() - started
    return [results[index] for index in range(len(traffic.events))], ingest_s, revenue


def _revenue(app: Ordertrail) -> demo_revenue.RevenueRun:
    columns = (TextColumn("Revenue"), BarColumn(), MofNCompleteColumn(), TextColumn("messages"),
               TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("revenue", total=None)
        return demo_revenue.run_revenue(app, advance=lambda n: progress.advance(task, n))


def _ingest(
    app: Ordertrail, *, traffic: Traffic, indexes: list[int], principal: Principal
) -> dict[int, IngestResult]:
    results: dict[int, IngestResult] = {}
    columns = (
        TextColumn("Ingesting"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("events"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("ingest", total=len(indexes))
        for start in range(0, len(indexes), BATCH_SIZE):
            batch = indexes[start : start + BATCH_SIZE]
            answers = app.ingest(raw_events=[traffic.events[i] for i in batch], principal=principal)
            results.update(zip(batch, answers, strict=True))
            progress.advance(task, len(batch))
    return results


def _print_revenue(
    app: Ordertrail, *, traffic: Traffic, sample: list[int], revenue: demo_revenue.RevenueRun
) -> None:
    period = f"{traffic.month_start:%Y-%m}"
    closed = demo_revenue.close_month(app, tenant_id=DEMO_TENANT, period=period)
    orders = len({traffic.events[i]["order_id"] for i in sample})
    console.print(
        f"\nRevenue: the first {orders:,} orders' {revenue.messages:,} milestone messages went "
        f"through the revenue consumer in {revenue.elapsed_s:.1f} s; the close of {period} "
        f"posted {closed.entries:,} entries and closed the month."
    )
    if revenue.failed:
        console.print(
            f"[yellow]{revenue.failed} revenue messages failed; see `ordertrail dlq list`.[/]"
        )
    totals, excerpt = demo_revenue.revenue_tables(app, tenant_id=DEMO_TENANT, period=period)
    console.print(totals, excerpt)
    console.print(
        "The other orders' messages wait in the outbox: `ordertrail serve` sends them through "
        f"revenue, and as {period} is closed their entries post in the first open month."
    )


def _print_summary(
    app: Ordertrail, *, traffic: Traffic, results: list[IngestResult], elapsed_s: float
) -> None:
    by_status = app.queries.count_orders_by_status(tenant_id=DEMO_TENANT)
    console.print(_status_table(by_status), _outcome_table(results), _reason_table(results))
    rate = len(results) / elapsed_s if elapsed_s > 0 else float("inf")
    console.print(
        f"Throughput: [bold]{rate:,.0f} events/s[/] ({len(results):,} events in {elapsed_s:.1f} s, "
        f"batches of {BATCH_SIZE})."
    )
    surprises = _surprises(traffic=traffic, results=results)
    if surprises:
        console.print(f"[yellow]{surprises} events got another answer than the generator meant.[/]")
    else:
        console.print("Every event got exactly the answer the generator meant it to get.")


def _status_table(by_status: dict[str, int]) -> Table:
    table = Table("status", "orders", title="Orders by status")
    for status in LIFECYCLE:
        if by_status.get(status.value):
            table.add_row(status.value, f"{by_status[status.value]:,}")
    table.add_row("[bold]total[/]", f"[bold]{sum(by_status.values()):,}[/]")
    return table


def _outcome_table(results: list[IngestResult]) -> Table:
    summary = BatchSummary.of(results)
    late = sum(1 for r in results if r.outcome == Outcome.APPLIED and r.late)
    table = Table("outcome", "events", title="Events")
    table.add_row("applied", f"{summary.applied:,}")
    table.add_row("  of which late (arrived after newer events)", f"{late:,}")
    table.add_row("duplicate (resent, answered idempotently)", f"{summary.duplicate:,}")
    table.add_row("quarantined (rejected + conflict)", f"{summary.rejected + summary.conflict:,}")
    return table


def _reason_table(results: list[IngestResult]) -> Table:
    table = Table("reason code", "events", title="Quarantine reasons")
    codes = Counter(r.error_code for r in results if r.error_code is not None)
    for code, count in sorted(codes.items(), key=lambda item: (-item[1], item[0])):
        table.add_row(code, f"{count:,}")
    return table


def _surprises(*, traffic: Traffic, results: list[IngestResult]) -> int:
    return sum(
        1
        for intent, result in zip(traffic.intents, results, strict=True)
        if intent.outcome != result.outcome.value
    )


def _showcase(results: list[IngestResult]) -> str | None:
    """The order with the most applied events: the richest timeline to look at."""
    applied = Counter(r.order_id for r in results if r.outcome == Outcome.APPLIED)
    ranked = sorted(applied.items(), key=lambda item: (-item[1], item[0] or ""))
    return ranked[0][0] if ranked else None


def _print_next_steps(
    *, database: Path, token: str, order_id: str | None, period: str | None
) -> None:
    target = shlex.quote(str(database))
    auth = f'-H "Authorization: Bearer {token}"'
    lines = [
        "",
        "[bold]Next:[/] serve this database and look around with the admin key below.",
        f"  ordertrail serve --database {target}",
        f"  admin key for tenant {DEMO_TENANT} (shown once): {token}",
    ]
    if order_id is not None:
        lines.append(f"  curl {auth} http://127.0.0.1:8000/v1/orders/{order_id}/timeline")
    lines.append(f'  curl {auth} "http://127.0.0.1:8000/v1/quarantine?limit=5"')
    if period is not None:
        lines.append(f'  curl {auth} "http://127.0.0.1:8000/v1/reports/waterfall?periods=6"')
        lines.append(
            f"  ordertrail reports rollforward --tenant {DEMO_TENANT} --from {period} "
            f"--to {period} --database {target}"
        )
    console.print("\n".join(lines), highlight=False, soft_wrap=True)
