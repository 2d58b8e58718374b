"""`ordertrail db`: schema migrations."""

from __future__ import annotations

import typer

from ordertrail.adapters.db.migrate import current_revision, head_revision, upgrade
from ordertrail.entrypoints.cli.common import DatabaseOption, console, open_app

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
