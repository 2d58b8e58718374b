"""The `ordertrail` command line (Typer + Rich)."""

from __future__ import annotations

import typer

from ordertrail.entrypoints.cli import db, docs, keys, quarantine
from ordertrail.entrypoints.cli.demo import demo
from ordertrail.entrypoints.cli.importer import import_file
from ordertrail.entrypoints.cli.serve import serve

app = typer.Typer(
    name="ordertrail",
    help="Ordertrail: order tracking to revenue. Start with `ordertrail demo`.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
app.command("serve")(serve)
app.command("demo")(demo)
app.command("import")(import_file)
app.add_typer(db.app, name="db")
app.add_typer(keys.app, name="keys")
app.add_typer(quarantine.app, name="quarantine")
app.add_typer(docs.app, name="docs")


def main() -> None:
    app()
