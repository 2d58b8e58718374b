"""`ordertrail reports`: reports over the tenant's data (root causes; more are added here)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from ordertrail.entrypoints.cli import ledger_reports
from ordertrail.entrypoints.cli.common import DatabaseOption, console, fail, open_app
from ordertrail.services.root_causes_report import InvalidRange

app = typer.Typer(help="Reports over the tenant's data.", no_args_is_help=True)
# The revenue reports (entrypoints/cli/ledger_reports.py).
app.command("waterfall")(ledger_reports.waterfall)
app.command("rollforward")(ledger_reports.rollforward)
app.command("rpo")(ledger_reports.rpo)
app.command("trial-balance")(ledger_reports.trial_balance)


def _aware(value: str, *, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise fail(f"--{name}: {value!r} is not an ISO 8601 date or time") from None
    if parsed.tzinfo is None:
        raise fail(f"--{name} needs a time zone, e.g. 2026-11-01T00:00:00Z")
    return parsed


@app.command("root-causes")
def root_causes(
    *,
    tenant: Annotated[str, typer.Option(help="The tenant.")],
    start: Annotated[str, typer.Option("--from", help="Start (inclusive), ISO 8601 with zone.")],
    end: Annotated[str, typer.Option("--to", help="End (exclusive), ISO 8601 with zone.")],
    carrier: Annotated[str | None, typer.Option(help="Only this carrier.")] = None,
    output: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table",
    database: DatabaseOption = None,
) -> None:
    """Root causes of shipment problems ranked by count, with cumulative percentages (Pareto)."""
    if output not in ("table", "json", "csv"):
        raise fail("--format must be table, json or csv")
    ordertrail = open_app(database)
    try:
        report = ordertrail.monitoring.root_cause_report(
            tenant_id=tenant,
            start=_aware(start, name="from"),
            end=_aware(end, name="to"),
            carrier=carrier,
        )
    except InvalidRange as error:
        raise fail(str(error)) from None
    finally:
        ordertrail.close()
    if output == "csv":
        typer.echo(report.as_csv(), nl=False)
        return
    document = report.as_dict()
    if output == "json":
        typer.echo(json.dumps(document, sort_keys=True))
        return
    scopes = [("all carriers", document["overall"]), *document["carriers"].items()]
    for scope, rows in scopes:
        table = Table("rank", "root cause", "count", "%", "cumulative %", title=scope)
        for row in rows:
            table.add_row(
                str(row["rank"]),
                row["root_cause"],
                str(row["count"]),
                f"{row['percent']:.2f}",
                f"{row['cumulative_percent']:.2f}",
            )
        console.print(table)
