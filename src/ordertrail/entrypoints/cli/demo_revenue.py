"""The demo's revenue part: a catalog for the demo products, the revenue consumer over a sample of
the month's orders, the month-end close, and what it all comes to.

The revenue consumer handles one milestone message at a time, in its own transaction, as it does
in production; on SQLite that is tens of milliseconds per message, so the demo sends a sample of
the month's orders through it (all their events, in sending order, before the rest of the month
is ingested) and leaves the other orders' messages in the outbox for `ordertrail serve`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, cast

from rich.table import Table

from ordertrail.adapters.traffic.revenue_catalog import demo_catalog
from ordertrail.bootstrap import Ordertrail
from ordertrail.domain.ledger import month_index, period_key
from ordertrail.entrypoints.cli.ledger_reports import money
from ordertrail.services import catalog as catalog_service
from ordertrail.services import reports
from ordertrail.services.close import CloseSummary, run_close
from ordertrail.services.consumer import consume_round
from ordertrail.services.messaging import LANES
from ordertrail.services.relay import relay_round
from ordertrail.services.revenue_ports import RevenueUnitOfWork

# The catalog has been in force long before the demo month.
CATALOG_EFFECTIVE_FROM = date(2020, 1, 1)
CONSUMER_BATCH = 500
# Rounds of relay + consume; each round moves up to a batch, so this bounds a runaway loop.
ROUNDS_MAX = 10_000
WATERFALL_PERIODS = 6


@dataclass(frozen=True, slots=True)
class RevenueRun:
    messages: int
    failed: int
    elapsed_s: float


def seed_catalog(app: Ordertrail, *, tenant_id: str) -> int:
    """Add the demo products' templates and SSPs; return how many rows were added."""
    rows = demo_catalog(effective_from=CATALOG_EFFECTIVE_FROM)
    catalog_service.add_rows(
        uow_factory=lambda: cast(RevenueUnitOfWork, app.uow_factory()),
        tenant_id=tenant_id,
        rows=rows,
        actor="demo",
        now=app.clock.now(),
    )
    return len(rows)


def run_revenue(app: Ordertrail, *, advance: Callable[[int], None]) -> RevenueRun:
    """Relay the outbox and run the revenue-critical lane until nothing is left to handle."""
    pipeline = app.pipeline
    started = time.perf_counter()
    messages = failed = 0
    for _ in range(ROUNDS_MAX):
        published = asyncio.run(
            relay_round(
                outbox=pipeline.outbox,
                publisher=pipeline.broker,
                config=pipeline.relay,
                clock=app.clock,
            )
        )
        report = asyncio.run(
            consume_round(
                receiver=pipeline.broker,
                registry=pipeline.registry,
                uow_factory=pipeline.uow_factory,
                clock=app.clock,
                policy=pipeline.retry,
                lane=LANES[0],
                batch_size=CONSUMER_BATCH,
            )
        )
        messages += report.handled
        failed += report.retried + report.dead_lettered
        advance(report.handled)
        if not any(published.values()) and report.received == 0:
            break
    return RevenueRun(messages=messages, failed=failed, elapsed_s=time.perf_counter() - started)


def close_month(app: Ordertrail, *, tenant_id: str, period: str) -> CloseSummary:
    return run_close(
        uow_factory=lambda: cast(RevenueUnitOfWork, app.uow_factory()),
        tenant_id=tenant_id,
        period=period,
        actor="demo",
        now=app.clock.now,
    )


def _by_currency(rows: list[dict[str, Any]], field: str) -> dict[str, int]:
    totals: dict[str, int] = {}
    for row in rows:
        totals[row["currency"]] = totals.get(row["currency"], 0) + row[field]
    return totals


def revenue_tables(app: Ordertrail, *, tenant_id: str, period: str) -> tuple[Table, Table]:
    """The month's recognized and deferred totals per currency, and a waterfall excerpt."""
    queries = app.reports
    tb = reports.trial_balance(queries=queries, tenant_id=tenant_id, period=period, as_of=None)
    revenue_lines = [line for line in tb.body["lines"] if line["kind"] == "revenue"]
    recognized = _by_currency(revenue_lines, "credit_minor")
    reversed_ = _by_currency(revenue_lines, "debit_minor")
    forward = reports.rollforward_report(
        queries=queries, tenant_id=tenant_id, first_period=period, last_period=period
    ).body["lines"]
    following = period_key(month_index(date.fromisoformat(f"{period}-01")) + 1)
    waterfall = reports.waterfall_report(
        queries=queries,
        tenant_id=tenant_id,
        group_by="contract",
        first_period=following,
        periods=WATERFALL_PERIODS,
    ).body
    still = {t["currency"]: t["total_minor"] for t in waterfall["totals"]}
    totals = Table(
        "currency", "recognized", "deferred revenue", "contract assets", "remaining (RPO)",
        title=f"Revenue, {period} (closed)",
    )  # fmt: skip
    for line in forward:
        cur = line["currency"]
        totals.add_row(
            cur,
            money(recognized.get(cur, 0) - reversed_.get(cur, 0), cur),
            money(line["closing_liabilities_minor"], cur),
            money(line["closing_assets_minor"], cur),
            money(still.get(cur, 0), cur),
        )
    excerpt = Table(
        "currency", *waterfall["periods"], "later", "at fulfilment", "total",
        title=f"Revenue waterfall from {following} (all contracts)",
    )  # fmt: skip
    for total in waterfall["totals"]:
        cur = total["currency"]
        excerpt.add_row(
            cur,
            *(money(amount, cur) for amount in total["amounts_minor"]),
            money(total["later_minor"], cur),
            money(total["unscheduled_minor"], cur),
            money(total["total_minor"], cur),
        )
    for table in (totals, excerpt):
        for column in table.columns[1:]:
            column.justify = "right"
    return totals, excerpt
