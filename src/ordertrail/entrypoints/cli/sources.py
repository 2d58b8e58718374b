"""`ordertrail sources list|set` and `ordertrail sync`: per-source synchronisation modes.

`sources set` makes a source event-driven (it pushes every event) or batch (its drop directory
is imported every N minutes); `sync` runs the batch scheduler as a process of its own.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer
from rich.table import Table

from ordertrail.entrypoints.cli.common import (
    DatabaseOption,
    cli_principal,
    console,
    fail,
    open_app,
)
from ordertrail.entrypoints.cli.relay import (
    MaxSecondsOption,
    OnceOption,
    configure_logging,
    stop_on_signals,
)
from ordertrail.entrypoints.workers.sync import run_sync
from ordertrail.services.keys import TENANT_PATTERN
from ordertrail.services.sources import (
    INTERVAL_S_MAX,
    InvalidSource,
    SyncMode,
    configure_source,
)

app = typer.Typer(help="Sources: event-driven or batch, per source.", no_args_is_help=True)


@app.command("list")
def sources_list(
    tenant: Annotated[
        str | None, typer.Option(help="Only this tenant's. Default: every tenant.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    database: DatabaseOption = None,
) -> None:
    """List configured sources (a source not listed is event-driven)."""
    ordertrail = open_app(database)
    try:
        configured = ordertrail.sources.list_sources(tenant_id=tenant)
        drop_box = ordertrail.drop_box
        documents = [
            {
                **source.as_dict(),
                "drop_directory": str(
                    drop_box.directory(tenant_id=source.tenant_id, source=source.source)
                )
                if source.mode is SyncMode.BATCH
                else None,
            }
            for source in configured
        ]
    finally:
        ordertrail.close()
    if as_json:
        for document in documents:
            typer.echo(json.dumps(document, sort_keys=True))
        return
    table = Table("tenant", "source", "mode", "every", "drop directory", "last run", "next run")
    for d in documents:
        every = "" if d["interval_minutes"] is None else f"{d['interval_minutes']:g} min"
        table.add_row(
            d["tenant_id"],
            d["source"],
            d["mode"],
            every,
            d["drop_directory"] or "",
            (d["last_run_at"] or "")[:19]
            + (f" ({d['last_run_summary']})" if d["last_run_summary"] else ""),
            (d["next_run_at"] or "")[:19],
        )
    for column in table.columns:
        column.overflow = "fold"
    console.print(table)


@app.command("set")
def sources_set(
    *,
    source: Annotated[str, typer.Argument(help="The events' `source`: oms, wms, carrier:ups, …")],
    tenant: Annotated[str, typer.Option(help="The tenant whose source it is.")],
    mode: Annotated[SyncMode, typer.Option(help="event: pushed in real time; batch: imported.")],
    every_minutes: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=INTERVAL_S_MAX // 60,
            help="Batch only: minutes between imports (default 15).",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    database: DatabaseOption = None,
) -> None:
    """Make a source event-driven or batch; a batch source is first imported at the next sync."""
    if not TENANT_PATTERN.match(tenant):
        raise fail(f"tenant id {tenant!r} must be lowercase letters, digits, '-' or '_'", code=2)
    ordertrail = open_app(database)
    try:
        configured = configure_source(
            store=ordertrail.sources,
            tenant_id=tenant,
            source=source,
            mode=mode,
            interval_s=None if every_minutes is None else every_minutes * 60,
            actor=cli_principal(tenant).actor,
            now=ordertrail.clock.now(),
        )
        directory = ordertrail.drop_box.directory(tenant_id=tenant, source=source)
    except InvalidSource as error:
        raise fail(str(error), code=2) from None
    finally:
        ordertrail.close()
    document = configured.as_dict()
    if configured.mode is SyncMode.BATCH:
        document["drop_directory"] = str(directory)
    if as_json:
        typer.echo(json.dumps(document, sort_keys=True))
        return
    if configured.mode is SyncMode.BATCH:
        console.print(
            f"{tenant}/{source}: batch, every {document['interval_minutes']:g} min from "
            f"{directory} (run `ordertrail sync`, or `serve` runs it)",
            highlight=False,
        )
    else:
        console.print(f"{tenant}/{source}: event-driven", highlight=False)


def sync(
    once: OnceOption = False,
    max_seconds: MaxSecondsOption = None,
    database: DatabaseOption = None,
) -> None:
    """Import the drop directories of batch sources on their schedule, as a process of its own."""
    ordertrail = open_app(database)
    configure_logging()

    async def main() -> int:
        stop = asyncio.Event()
        stop_on_signals(stop)
        runs = await run_sync(app=ordertrail, stop=stop, once=once, max_seconds=max_seconds)
        return len(runs)

    try:
        ran = asyncio.run(main())
    finally:
        ordertrail.close()
    console.print(f"ran {ran} batch source run(s)")
