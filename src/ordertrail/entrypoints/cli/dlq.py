"""`ordertrail dlq`: inspect dead letters, replay them under their original ids, purge them."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer
from rich.table import Table

from ordertrail.entrypoints.cli.common import DatabaseOption, cli_principal, console, fail, open_app
from ordertrail.services.dead_letters import DeadLetterNotFound, DeadLetterPurged
from ordertrail.services.messaging import DeadLetter, PublishFailed

app = typer.Typer(help="Dead letters: list, show, replay, purge.", no_args_is_help=True)
TenantOption = Annotated[str, typer.Option(help="The tenant the dead letter belongs to.")]
IdArgument = Annotated[int, typer.Argument(help="The dead letter's id (see `dlq list`).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _print(letter: DeadLetter, *, as_json: bool) -> None:
    document = letter.as_dict()
    if as_json:
        typer.echo(json.dumps(document, sort_keys=True))
        return
    table = Table("field", "value", show_header=False)
    for key, value in document.items():
        shown = json.dumps(value) if isinstance(value, dict | list) else str(value)
        table.add_row(key, shown)
    for column in table.columns:
        column.overflow = "fold"
    console.print(table)


@app.command("list")
def dlq_list(
    tenant: Annotated[
        str | None, typer.Option(help="Only this tenant's. Default: every tenant.")
    ] = None,
    include_purged: Annotated[bool, typer.Option(help="Also list purged ones.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    database: DatabaseOption = None,
) -> None:
    """List dead letters, newest first."""
    ordertrail = open_app(database)
    try:
        page = ordertrail.pipeline.dead_letters.list(
            tenant_id=tenant, include_purged=include_purged, limit=limit, cursor=None
        )
    finally:
        ordertrail.close()
    if as_json:
        for item in page.items:
            typer.echo(json.dumps(item, sort_keys=True))
        return
    table = Table("id", "tenant", "dead at", "consumer", "message", "attempts", "error", "state")
    for item in page.items:
        state = "purged" if item["purged_at"] else ("replayed" if item["replays"] else "")
        table.add_row(
            str(item["id"]),
            item["tenant_id"],
            item["dead_at"][:19],
            item["consumer"],
            item["message_id"],
            str(item["attempts"]),
            item["error"][:80],
            state,
        )
    for column in table.columns:
        column.overflow = "fold"
    console.print(table)


@app.command("show")
def dlq_show(
    dead_letter_id: IdArgument,
    tenant: TenantOption,
    as_json: JsonOption = False,
    database: DatabaseOption = None,
) -> None:
    """Show one dead letter: message, error, attempts, replays."""
    ordertrail = open_app(database)
    try:
        letter = ordertrail.dead_letter(tenant_id=tenant, dead_letter_id=dead_letter_id)
    except DeadLetterNotFound as error:
        raise fail(str(error)) from None
    finally:
        ordertrail.close()
    _print(letter, as_json=as_json)


@app.command("replay")
def dlq_replay(
    dead_letter_id: IdArgument,
    tenant: TenantOption,
    as_json: JsonOption = False,
    database: DatabaseOption = None,
) -> None:
    """Publish the message again under its original id; the replay is recorded."""
    ordertrail = open_app(database)
    try:
        letter = asyncio.run(
            ordertrail.replay_dead_letter(
                tenant_id=tenant,
                dead_letter_id=dead_letter_id,
                actor=cli_principal(tenant).actor,
            )
        )
    except (DeadLetterNotFound, DeadLetterPurged, PublishFailed) as error:
        raise fail(str(error)) from None
    finally:
        ordertrail.close()
    _print(letter, as_json=as_json)


@app.command("purge")
def dlq_purge(
    dead_letter_id: IdArgument,
    tenant: TenantOption,
    as_json: JsonOption = False,
    database: DatabaseOption = None,
) -> None:
    """Mark a dead letter purged: hidden from `list`, kept as evidence with who purged it."""
    ordertrail = open_app(database)
    try:
        letter = ordertrail.purge_dead_letter(
            tenant_id=tenant, dead_letter_id=dead_letter_id, actor=cli_principal(tenant).actor
        )
    except DeadLetterNotFound as error:
        raise fail(str(error)) from None
    finally:
        ordertrail.close()
    _print(letter, as_json=as_json)
