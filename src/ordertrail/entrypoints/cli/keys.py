"""`ordertrail keys`: create, list and revoke API keys."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from ordertrail.entrypoints.cli.common import DatabaseOption, console, fail, open_app
from ordertrail.services.access import Role
from ordertrail.services.keys import InvalidKeyRequest, create_key

app = typer.Typer(help="API keys: bound to one tenant and one or more roles.", no_args_is_help=True)
ROLE_NAMES = ", ".join(r.value for r in Role)


@app.command("create")
def keys_create(
    tenant: Annotated[str, typer.Option(help="The tenant the key may see.")],
    role: Annotated[list[str], typer.Option(help=f"A role (repeatable): {ROLE_NAMES}.")],
    name: Annotated[str, typer.Option(help="A label for people reading key lists.")] = "",
    owner: Annotated[
        str | None,
        typer.Option(help="The person the key belongs to (dual approval: one person, one vote)."),
    ] = None,
    database: DatabaseOption = None,
) -> None:
    """Create a key and print it once; only its hash is stored."""
    ordertrail = open_app(database)
    try:
        record, token = create_key(
            store=ordertrail.keys,
            tenant_id=tenant,
            roles=role,
            name=name or f"{tenant} {'+'.join(role)}",
            now=ordertrail.clock.now(),
            owner=owner,
        )
    except InvalidKeyRequest as error:
        raise fail(str(error), code=2) from None
    finally:
        ordertrail.close()
    console.print(
        f"Created key [bold]{record.key_id}[/] for tenant [bold]{record.tenant_id}[/] "
        f"with roles {', '.join(record.roles)}. It is shown once; store it now:",
        highlight=False,
    )
    typer.echo(token)


@app.command("list")
def keys_list(
    tenant: Annotated[str | None, typer.Option(help="Only this tenant's keys.")] = None,
    database: DatabaseOption = None,
) -> None:
    """List keys (never their secrets)."""
    ordertrail = open_app(database)
    try:
        records = ordertrail.keys.list(tenant_id=tenant)
    finally:
        ordertrail.close()
    table = Table("key id", "tenant", "roles", "name", "created", "revoked")
    for r in records:
        table.add_row(
            r.key_id,
            r.tenant_id,
            ", ".join(r.roles),
            r.name,
            r.created_at.isoformat(timespec="seconds"),
            "" if r.revoked_at is None else r.revoked_at.isoformat(timespec="seconds"),
        )
    console.print(table)


@app.command("revoke")
def keys_revoke(key_id: str, database: DatabaseOption = None) -> None:
    """Revoke a key at once; requests with it then answer 401."""
    ordertrail = open_app(database)
    try:
        revoked = ordertrail.keys.revoke(key_id=key_id, revoked_at=ordertrail.clock.now())
    finally:
        ordertrail.close()
    if not revoked:
        raise fail(f"no active key {key_id}")
    console.print(f"Revoked key {key_id}.")
