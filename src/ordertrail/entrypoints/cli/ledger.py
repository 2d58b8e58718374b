"""`ordertrail ledger accounts|periods`: the chart of accounts and the periods' status."""

from __future__ import annotations

from typing import Annotated, cast

import typer
from rich.markup import escape
from rich.table import Table

from ordertrail.entrypoints.cli.common import DatabaseOption, console, open_app
from ordertrail.services import catalog
from ordertrail.services.revenue_ports import RevenueUnitOfWork

app = typer.Typer(help="The ledger: chart of accounts and periods.", no_args_is_help=True)
TenantOption = Annotated[str, typer.Option("--tenant", help="The tenant whose ledger it is.")]


@app.command("accounts")
def ledger_accounts(tenant: TenantOption = "default", database: DatabaseOption = None) -> None:
    """The chart of accounts, seeded from the default chart on first use."""
    ordertrail = open_app(database)
    try:
        found = catalog.accounts(
            uow_factory=lambda: cast(RevenueUnitOfWork, ordertrail.uow_factory()),
            tenant_id=tenant,
            now=ordertrail.clock.now(),
        )
    finally:
        ordertrail.close()
    table = Table("code", "name", "kind", "GL code", "active")
    for a in found:
        table.add_row(a.code, escape(a.name), a.kind, a.gl_code, "yes" if a.active else "no")
    console.print(table)


@app.command("periods")
def ledger_periods(tenant: TenantOption = "default", database: DatabaseOption = None) -> None:
    """Periods that have a status row (a month without one is open)."""
    ordertrail = open_app(database)
    try:
        found = catalog.periods(
            uow_factory=lambda: cast(RevenueUnitOfWork, ordertrail.uow_factory()),
            tenant_id=tenant,
        )
    finally:
        ordertrail.close()
    table = Table("period", "status", "closed at", "closed by")
    for p in found:
        table.add_row(
            p.period,
            p.status,
            "" if p.closed_at is None else p.closed_at.isoformat(),
            escape(p.closed_by or ""),
        )
    if not found:
        console.print("No period is closed yet: every month is open.")
        return
    console.print(table)
