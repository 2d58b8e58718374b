"""`ordertrail audit verify|list|checkpoint|keygen`: the tamper-evident audit trail.

`verify` exits 0 only when every chain, checkpoint, signature and journal digest checks out; on
failure it names the first broken link per tenant and exits 1, so a scheduled job or a CI step
can alert on it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from ordertrail.adapters.audit_signing import (
    SigningKeyError,
    generate_key_pair,
    load_public_key,
)
from ordertrail.domain.audit import key_id_of
from ordertrail.entrypoints.cli.common import DatabaseOption, console, fail, open_app
from ordertrail.services import audit

app = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)

TenantOption = Annotated[
    str | None, typer.Option("--tenant", "-t", help="One tenant. Default: every tenant.")
]


@app.command("verify")
def verify(
    database: DatabaseOption = None,
    tenant: TenantOption = None,
    public_key: Annotated[
        Path | None,
        typer.Option(
            help="PEM public key to check checkpoint signatures with "
            "(default: the public half of $ORDERTRAIL_AUDIT_SIGNING_KEY).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Recompute every chain, check checkpoints, signatures and journal digests."""
    ordertrail = open_app(database)
    try:
        if public_key is not None:
            raw: bytes | None = load_public_key(public_key)
        else:
            signer = ordertrail.audit_signer
            raw = None if signer is None else signer.public_key_raw
    except SigningKeyError as error:
        raise fail(str(error)) from None
    key_id = None if raw is None else key_id_of(raw)
    try:
        if as_json:
            result = audit.verify(
                store=ordertrail.audit, tenant_id=tenant, public_key_raw=raw, key_id=key_id
            )
        else:
            with Progress(
                TextColumn("verifying"),
                BarColumn(),
                MofNCompleteColumn(),
                console=console,
                transient=True,
            ) as progress:
                task = progress.add_task("records", total=None)
                result = audit.verify(
                    store=ordertrail.audit,
                    tenant_id=tenant,
                    public_key_raw=raw,
                    key_id=key_id,
                    progress=lambda n: progress.advance(task, n),
                )
    finally:
        ordertrail.close()
    if as_json:
        console.print_json(json.dumps(audit.verification_view(result)))
    else:
        _render(result)
    if not result.ok:
        raise typer.Exit(1)


def _render(result: audit.Verification) -> None:
    table = Table(
        "tenant", "records", "checkpoints", "signatures", "entries", "result", title="audit verify"
    )
    for t in result.tenants:
        table.add_row(
            escape(t.tenant_id),
            str(t.records),
            str(t.checkpoints),
            str(t.signatures_checked),
            str(t.entries_checked),
            "[green]ok[/]" if t.ok else f"[bold red]{t.broken} broken[/]",
        )
    console.print(table)
    if result.signed_with is None:
        console.print("signatures: not checked (no public key given or configured)")
    else:
        console.print(f"signatures checked with key {result.signed_with}")
    for t in result.tenants:
        if t.first is None:
            continue
        first = t.first
        where = f"seq {first.seq}" if first.seq is not None else f"entry {first.entry_id}"
        console.print(
            f"[bold red]{escape(t.tenant_id)}: first broken link at {where}: "
            f"{first.problem.value}[/] - {escape(first.detail)}"
        )
        for other in t.breaks[1:10]:
            at = f"seq {other.seq}" if other.seq is not None else f"entry {other.entry_id}"
            console.print(f"  also at {at}: {other.problem.value} - {escape(other.detail)}")
    if not result.tenants:
        console.print("no audit chains or journal entries yet")


@app.command("list")
def list_records(
    *,
    tenant: Annotated[str, typer.Option("--tenant", "-t", help="The tenant.")],
    database: DatabaseOption = None,
    subject: Annotated[str | None, typer.Option(help="e.g. order:A-1, entry:E1.")] = None,
    kind: Annotated[str | None, typer.Option(help="e.g. recognition, hold.placed.")] = None,
    cause: Annotated[str | None, typer.Option(help="The milestone message id.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=audit.RECORDS_PAGE_MAX)] = 50,
    cursor: Annotated[str | None, typer.Option(help="next_cursor of a previous page.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the page as JSON.")] = False,
) -> None:
    """List a tenant's audit records in chain order."""
    ordertrail = open_app(database)
    try:
        page = audit.records_page(
            store=ordertrail.audit,
            tenant_id=tenant,
            subject=subject,
            kind=kind,
            cause=cause,
            limit=limit,
            cursor=cursor,
        )
    except ValueError as error:
        raise fail(str(error)) from None
    finally:
        ordertrail.close()
    if as_json:
        console.print_json(json.dumps({"items": page.items, "next_cursor": page.next_cursor}))
        return
    table = Table("seq", "occurred", "kind", "subject", "actor", "cause", "hash")
    for item in page.items:
        table.add_row(
            str(item["seq"]),
            item["occurred_at"],
            item["kind"],
            escape(item["subject"]),
            escape(item["actor"]),
            escape(item["cause"] or ""),
            item["hash"][:12] + "…",
        )
    console.print(table)
    if page.next_cursor is not None:
        console.print(f"more: --cursor {page.next_cursor}")


@app.command("checkpoint")
def checkpoint(database: DatabaseOption = None, tenant: TenantOption = None) -> None:
    """Record (and sign, when a key is configured) the head of every chain that moved."""
    ordertrail = open_app(database)
    try:
        try:
            signer = ordertrail.audit_signer
        except SigningKeyError as error:
            raise fail(str(error)) from None
        made = audit.checkpoint(
            store=ordertrail.audit, tenant_id=tenant, now=ordertrail.clock.now(), sign=signer
        )
    finally:
        ordertrail.close()
    for c in made:
        signed = f"signed by {c.key_id}" if c.signature else "unsigned"
        console.print(
            f"{escape(c.tenant_id)}: checkpoint at seq {c.seq} {c.head_hash[:12]}… {signed}"
        )
    if not made:
        console.print("no chain moved since its last checkpoint")


@app.command("keygen")
def keygen(
    private_key: Annotated[Path, typer.Option(help="Where to write the private key (PEM).")],
    public_key: Annotated[Path, typer.Option(help="Where to write the public key (PEM).")],
) -> None:
    """Write a new Ed25519 key pair for signing checkpoints (private key mode 0600)."""
    try:
        key_id = generate_key_pair(private_path=private_key, public_path=public_key)
    except (SigningKeyError, OSError) as error:
        raise fail(str(error)) from None
    console.print(
        f"key {key_id}: private {private_key} (set ORDERTRAIL_AUDIT_SIGNING_KEY to it), "
        f"public {public_key}"
    )
