"""The `ordertrail` command line (Typer + Rich)."""

from __future__ import annotations

import typer

from ordertrail.entrypoints.cli import (
    alerts,
    approvals,
    audit,
    carriers,
    db,
    disputes,
    dlq,
    docs,
    holds,
    journal,
    keys,
    ledger,
    quarantine,
    reports,
    revenue,
    rules,
    sources,
)
from ordertrail.entrypoints.cli.close import close
from ordertrail.entrypoints.cli.common import err_console
from ordertrail.entrypoints.cli.demo import demo
from ordertrail.entrypoints.cli.importer import import_file
from ordertrail.entrypoints.cli.relay import relay
from ordertrail.entrypoints.cli.serve import serve
from ordertrail.entrypoints.cli.worker import worker
from ordertrail.services.messaging import BrokerNotAvailable

app = typer.Typer(
    name="ordertrail",
    help="Ordertrail: order tracking to revenue. Start with `ordertrail demo`.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
app.command("serve")(serve)
app.command("demo")(demo)
app.command("import")(import_file)
app.command("relay")(relay)
app.command("worker")(worker)
app.command("close")(close)
app.command("sync")(sources.sync)
app.add_typer(db.app, name="db")
app.add_typer(keys.app, name="keys")
app.add_typer(quarantine.app, name="quarantine")
app.add_typer(docs.app, name="docs")
app.add_typer(dlq.app, name="dlq")
app.add_typer(revenue.app, name="revenue")
app.add_typer(alerts.app, name="alerts")
app.add_typer(carriers.app, name="carriers")
app.add_typer(reports.app, name="reports")
app.add_typer(journal.app, name="journal")
app.add_typer(ledger.app, name="ledger")
app.add_typer(sources.app, name="sources")
app.add_typer(audit.app, name="audit")
app.add_typer(approvals.app, name="approvals")
app.add_typer(holds.app, name="holds")
app.add_typer(disputes.app, name="disputes")
app.add_typer(rules.app, name="rules")


def main() -> None:
    try:
        app()
    except BrokerNotAvailable as error:
        # A configuration mistake, not a crash: say what to change, without a traceback.
        err_console.print(f"[bold red]error:[/] {error}")
        raise SystemExit(2) from None
