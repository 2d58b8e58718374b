"""`ordertrail quarantine`: inspect refused events and replay them once their cause is fixed."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from ordertrail.entrypoints.cli.common import DatabaseOption, cli_principal, console, fail, open_app

app = typer.Typer(help="Refused events: list them, replay them.", no_args_is_help=True)
TenantOption = Annotated[str, typer.Option(help="The tenant whose quarantine to use.")]


@app.command("list")
def quarantine_list(
    *,
    tenant: TenantOption,
    order: Annotated[str | None, typer.Option(help="Only this order's items.")] = None,
    reason: Annotated[str | None, typer.Option(help="Only this reason code.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    database: DatabaseOption = None,
) -> None:
    """List quarantined submissions, newest first."""
    ordertrail = open_app(database)
    try:
        page = ordertrail.queries.list_quarantine(
            tenant_id=tenant, order_id=order, reason_code=reason, limit=limit, cursor=None
        )
    finally:
        ordertrail.close()
    if as_json:
        for item in page.items:
            typer.echo(json.dumps(item, sort_keys=True))
        return
    table = Table("received", "quarantine id", "order", "event", "reason", "applied since")
    for item in page.items:
        table.add_row(
            item["received_at"][:16],
            item["quarantine_id"],
            item["order_id"] or "",
            item["event_id"] or "",
            item["reason_code"],
            "yes" if item["now_applied"] else "",
        )
    for column in table.columns:
        column.overflow = "fold"
    console.print(table)


@app.command("replay")
def quarantine_replay(
    tenant: TenantOption,
    item: Annotated[
        list[str] | None, typer.Option("--id", help="A quarantine id (repeatable).")
    ] = None,
    order: Annotated[str | None, typer.Option(help="Replay this order's unapplied items.")] = None,
    database: DatabaseOption = None,
) -> None:
    """Re-ingest quarantined events exactly as they were sent."""
    if (item is None) == (order is None):
        raise fail("give either --id (one or more) or --order", code=2)
    ordertrail = open_app(database)
    try:
        results = ordertrail.replay_quarantined(
            principal=cli_principal(tenant), quarantine_ids=item, order_id=order
        )
    finally:
        ordertrail.close()
    table = Table("quarantine id", "event", "outcome", "detail")
    for replayed in results:
        body = replayed.as_dict()
        detail = body.get("error", {}).get("code") or body.get("order_status", "")
        table.add_row(replayed.quarantine_id, body.get("event_id") or "", body["outcome"], detail)
    console.print(table)
