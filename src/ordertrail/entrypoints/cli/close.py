"""`ordertrail close --period 2026-11`: the month-end close, with a progress bar and a summary."""

from __future__ import annotations

from typing import Annotated, cast

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ordertrail.domain.ledger import InvalidPeriod
from ordertrail.entrypoints.cli.common import DatabaseOption, cli_principal, console, fail, open_app
from ordertrail.services.close import CloseSummary, run_close
from ordertrail.services.revenue_ports import RevenueUnitOfWork


def print_summary(summary: CloseSummary) -> None:
    if summary.already_closed:
        console.print(f"Period {summary.period} is already closed: nothing changed.")
        return
    console.print(
        f"Closed {summary.period}: {summary.entries:,} entries over "
        f"{summary.obligations_seen:,} open over-time obligations; "
        f"{summary.obligations_completed:,} obligations completed."
    )
    table = Table("account", "currency", "amount (minor units, debit +)")
    for (account, currency), amount in sorted(summary.amounts_minor.items()):
        table.add_row(account, currency, f"{amount:,}")
    console.print(table)


def close(
    period: Annotated[str, typer.Option("--period", help="The month to close, YYYY-MM.")],
    tenant: Annotated[str, typer.Option(help="The tenant whose books to close.")] = "default",
    database: DatabaseOption = None,
) -> None:
    """Recognize everything due through the period end, post it, and close the period."""
    app = open_app(database)
    principal = cli_principal(tenant)
    try:
        with Progress(
            TextColumn("closing"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as bar:
            task = bar.add_task("close", total=None)
            summary = run_close(
                uow_factory=lambda: cast(RevenueUnitOfWork, app.uow_factory()),
                tenant_id=tenant,
                period=period,
                actor=principal.actor,
                now=app.clock.now,
                progress=lambda n: bar.advance(task, n),
            )
    except InvalidPeriod as error:
        raise fail(str(error), code=2) from None
    finally:
        app.close()
    print_summary(summary)
