"""`ordertrail db`: schema migrations."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from ordertrail.adapters.db.migrate import current_revision, head_revision, upgrade
from ordertrail.entrypoints.cli.common import DatabaseOption, console, fail, open_app
from ordertrail.services.projections import verify_projections

app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)


@app.command("upgrade")
def db_upgrade(database: DatabaseOption = None) -> None:
    """Apply every pending migration."""
    ordertrail = open_app(database, migrate=False)
    try:
        before = current_revision(ordertrail.engine)
        upgrade(ordertrail.engine)
        after = current_revision(ordertrail.engine)
    finally:
        ordertrail.close()
    if before == after:
        console.print(f"Already at the newest schema ({after}).")
    else:
        console.print(f"Upgraded the schema from {before or 'empty'} to {after}.")


@app.command("status")
def db_status(database: DatabaseOption = None) -> None:
    """Show the schema revision and whether migrations are pending."""
    ordertrail = open_app(database, migrate=False)
    try:
        current = current_revision(ordertrail.engine)
    finally:
        ordertrail.close()
    head = head_revision()
    state = "up to date" if current == head else "migrations pending: run `ordertrail db upgrade`"
    console.print(f"schema {current or 'empty'} (newest {head}): {state}")


@app.command("verify")
def db_verify(
    tenant: Annotated[str | None, typer.Option(help="Only this tenant.")] = None,
    database: DatabaseOption = None,
) -> None:
    """Replay the event log and compare it with the stored order projection."""
    ordertrail = open_app(database)
    try:
        findings = verify_projections(log=ordertrail.event_log, tenant_id=tenant)
    finally:
        ordertrail.close()
    if not findings:
        console.print("The projection equals a replay of the event log.")
        return
    table = Table("tenant", "order", "finding", "detail")
    for f in findings[:200]:
        table.add_row(f.tenant_id, f.order_id, f.code, f.detail[:200])
    console.print(table)
    raise fail(f"{len(findings)} difference(s) between the projection and the event log")
