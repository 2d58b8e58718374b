"""`ordertrail carriers mappings`: the versioned status mapping tables, and what a code maps to."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from ordertrail.adapters.carriers.mapping_tables import available_tables, load_tables
from ordertrail.domain.shipments.mapping import MappingTable
from ordertrail.entrypoints.cli.common import console, fail

app = typer.Typer(
    help="Carrier status mapping tables: list them, show one, look a code up.",
    no_args_is_help=True,
)

ProviderArgument = Annotated[str, typer.Argument(help="aftership, easypost, shippo, ups, ...")]
VersionOption = Annotated[
    int | None, typer.Option("--version", help="A table version; default: the newest.")
]


@app.command("list")
def list_tables() -> None:
    """Every shipped table: provider, version, rule count, the documentation it cites."""
    in_use = {(table.provider, table.version) for table in load_tables().values()}
    table = Table("provider", "version", "in use", "rules", "sources")
    for (provider, version), mapping in sorted(available_tables().items()):
        table.add_row(
            provider,
            str(version),
            "yes" if (provider, version) in in_use else "",
            str(len(mapping.rules)),
            "\n".join(mapping.sources),
        )
    console.print(table)


@app.command("show")
def show(provider: ProviderArgument, version: VersionOption = None) -> None:
    """Every rule of a provider's table: code, subcode, canonical status and reason."""
    mapping = _table(provider, version)
    table = Table("code", "subcode", "status", "reason", title=f"{provider} v{mapping.version}")
    for (code, subcode), mapped in sorted(mapping.rules.items()):
        table.add_row(code, subcode, mapped.status.value, mapped.reason.value)
    console.print(table)


@app.command("check")
def check(
    provider: ProviderArgument,
    code: Annotated[str, typer.Argument(help="The provider's status code, exactly as sent.")],
    subcode: Annotated[str | None, typer.Option("--subcode", help="Subtag, substatus, ...")] = None,
    version: VersionOption = None,
) -> None:
    """What a code maps to; a code no rule knows is `unknown (unmapped)`, never a guess."""
    mapped = _table(provider, version).lookup(code=code, subcode=subcode)
    if not mapped.mapped:
        console.print(f"{provider} {code} {subcode or ''}: unknown (unmapped)")
        raise typer.Exit(1)
    console.print(
        f"{provider} {code} {subcode or ''}: {mapped.status.value} ({mapped.reason.value})"
    )


def _table(provider: str, version: int | None) -> MappingTable:
    tables = available_tables()
    versions = sorted(v for p, v in tables if p == provider)
    if not versions:
        raise fail(f"no mapping table for {provider!r}")
    chosen = versions[-1] if version is None else version
    if (provider, chosen) not in tables:
        raise fail(f"no version {chosen} of the {provider} table (have {versions})")
    return tables[(provider, chosen)]
