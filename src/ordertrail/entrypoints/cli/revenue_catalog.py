"""`ordertrail revenue catalog list|load FILE|show SKU` and `ordertrail revenue settings`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, cast

import typer
from rich.markup import escape
from rich.table import Table

from ordertrail.bootstrap import Ordertrail
from ordertrail.domain.revenue.errors import RevenueError
from ordertrail.entrypoints.cli.common import DatabaseOption, cli_principal, console, fail, open_app
from ordertrail.services import catalog
from ordertrail.services.revenue_codec import to_plain
from ordertrail.services.revenue_ports import CatalogRecord, RevenueUnitOfWork

app = typer.Typer(help="Revenue catalogs: obligation templates and SSPs.", no_args_is_help=True)
TenantOption = Annotated[str, typer.Option("--tenant", help="The tenant whose catalog it is.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
INVALID_INPUT = 2
FILE_BYTES_MAX = 8 * 1024 * 1024


def _uow(app: Ordertrail) -> catalog.UowFactory:
    return lambda: cast(RevenueUnitOfWork, app.uow_factory())


def _table(records: list[CatalogRecord]) -> Table:
    table = Table("kind", "sku", "component", "currency", "version", "from", "to", "by")
    for r in records:
        table.add_row(
            r.kind,
            escape(r.sku),
            escape(r.component),
            r.currency,
            str(r.version),
            r.effective_from.isoformat(),
            "" if r.effective_to is None else r.effective_to.isoformat(),
            escape(r.created_by),
        )
    return table


def _print(records: list[CatalogRecord], *, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps([to_plain(r) for r in records], sort_keys=True, default=str))
    else:
        console.print(_table(records))


@app.command("list")
def catalog_list(
    tenant: TenantOption = "default", as_json: JsonOption = False, database: DatabaseOption = None
) -> None:
    """List every catalog row with its version and effective range."""
    ordertrail = open_app(database)
    try:
        records = catalog.catalog_records(uow_factory=_uow(ordertrail), tenant_id=tenant)
    finally:
        ordertrail.close()
    _print(records, as_json=as_json)


@app.command("show")
def catalog_show(
    sku: str,
    tenant: TenantOption = "default",
    as_json: JsonOption = False,
    database: DatabaseOption = None,
) -> None:
    """Show a SKU's templates and SSPs, every version, with their bodies."""
    ordertrail = open_app(database)
    try:
        records = catalog.catalog_records(uow_factory=_uow(ordertrail), tenant_id=tenant, sku=sku)
    finally:
        ordertrail.close()
    if not records:
        raise fail(escape(f"no catalog rows for sku {sku}"))
    if as_json:
        _print(records, as_json=True)
        return
    console.print(_table(records))
    for r in records:
        console.print(f"[bold]{r.kind} v{r.version}[/]: {escape(json.dumps(to_plain(r.body)))}")


@app.command("load")
def catalog_load(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Catalog JSON file.")],
    tenant: TenantOption = "default",
    database: DatabaseOption = None,
) -> None:
    """Load a catalog file (docs/revenue/catalog.md): every row becomes a new version."""
    if path.stat().st_size > FILE_BYTES_MAX:
        raise fail(escape(f"{path} is larger than {FILE_BYTES_MAX} bytes"), code=INVALID_INPUT)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise fail(escape(f"cannot read {path}: {error}"), code=INVALID_INPUT) from None
    ordertrail = open_app(database)
    principal = cli_principal(tenant)
    try:
        added = catalog.load_catalog(
            uow_factory=_uow(ordertrail),
            tenant_id=tenant,
            document=document,
            actor=principal.actor,
            now=ordertrail.clock.now(),
        )
    except (catalog.CatalogFileInvalid, RevenueError) as error:
        raise fail(escape(f"{path}: {error}"), code=INVALID_INPUT) from None
    finally:
        ordertrail.close()
    console.print(f"Loaded {len(added)} catalog rows for tenant {escape(tenant)}.")
    console.print(_table(added))


def settings(
    tenant: TenantOption = "default",
    set_file: Annotated[
        Path | None,
        typer.Option("--set", dir_okay=False, help="Replace the settings with this JSON file."),
    ] = None,
    database: DatabaseOption = None,
) -> None:
    """Print the tenant's revenue settings as JSON, or replace them with `--set FILE`."""
    ordertrail = open_app(database)
    try:
        if set_file is not None:
            try:
                parsed = catalog.parse_settings(json.loads(set_file.read_text(encoding="utf-8")))
            except (OSError, ValueError) as error:
                raise fail(escape(f"{set_file}: {error}"), code=INVALID_INPUT) from None
            catalog.put_revenue_settings(
                uow_factory=_uow(ordertrail),
                tenant_id=tenant,
                settings=parsed,
                actor=cli_principal(tenant).actor,
                now=ordertrail.clock.now(),
            )
        current = catalog.revenue_settings(uow_factory=_uow(ordertrail), tenant_id=tenant)
    finally:
        ordertrail.close()
    typer.echo(json.dumps(to_plain(current), indent=2, sort_keys=True))
