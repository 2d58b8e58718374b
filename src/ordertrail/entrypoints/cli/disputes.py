"""`ordertrail disputes`: list, show, open, attach evidence, resolve, and the reasons' thresholds.

Writes act as an API key (`--key` or $ORDERTRAIL_API_KEY), with the same roles as over HTTP;
a rejection whose reason wants a second person files a `dispute.reinstate` request instead.
"""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ordertrail.domain.disputes import EVIDENCE_BYTES_MAX, DisputeError, DisputeReason
from ordertrail.entrypoints.cli.common import (
    DatabaseOption,
    KeyOption,
    acting,
    console,
    fail,
    open_app,
)
from ordertrail.entrypoints.cli.holds import TenantOption
from ordertrail.services.access import Action, Role
from ordertrail.services.approvals import ApprovalError, Party
from ordertrail.services.dispute_ports import DisputeFilter
from ordertrail.services.disputes import dispute_document, evidence_document, reason_document

app = typer.Typer(help="Disputes: their revenue is held until they are upheld or rejected.")


@app.command("list")
def list_cmd(
    tenant: TenantOption,
    status: Annotated[str | None, typer.Option(help="open, upheld or rejected.")] = None,
    order: Annotated[str | None, typer.Option(help="Only this order's disputes.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    database: DatabaseOption = None,
) -> None:
    """List disputes, newest first."""
    ordertrail = open_app(database)
    try:
        rows = ordertrail.disputes.page(
            tenant_id=tenant,
            where=DisputeFilter(status=status, order_id=order),
            after=None,
            limit=limit,
        )
    finally:
        ordertrail.close()
    table = Table("dispute", "order", "lines", "reason", "status", "opened", "reference")
    for d in rows[:limit]:
        table.add_row(
            d.dispute_id,
            d.order_id,
            ",".join(d.line_ids) or "(order)",
            d.reason_code,
            d.status,
            d.opened_at.isoformat(),
            d.external_ref or "",
        )
    console.print(table)


@app.command("show")
def show_cmd(tenant: TenantOption, dispute_id: str, database: DatabaseOption = None) -> None:
    """One dispute with its evidence (hashes) and resolution, as JSON."""
    ordertrail = open_app(database)
    try:
        dispute, evidence = ordertrail.disputes.get(tenant_id=tenant, dispute_id=dispute_id)
    except DisputeError as error:
        raise fail(str(error)) from None
    finally:
        ordertrail.close()
    console.print_json(json.dumps(dispute_document(dispute, evidence)))


@app.command("open")
def open_cmd(
    *,
    order: Annotated[str, typer.Option(help="The disputed order.")],
    reason: Annotated[str, typer.Option(help="A reason code (`ordertrail disputes reasons`).")],
    description: Annotated[str, typer.Option(help="What the customer says.")],
    line: Annotated[
        list[str] | None, typer.Option(help="A disputed line (repeat); none: the whole order.")
    ] = None,
    reference: Annotated[str | None, typer.Option(help="The case id (idempotency).")] = None,
    key: KeyOption = "",
    database: DatabaseOption = None,
) -> None:
    """Open a dispute: holds are placed on its lines (or the order)."""
    ordertrail = open_app(database)
    try:
        principal = acting(ordertrail, key, Action.DISPUTES_OPEN)
        dispute, _ = ordertrail.disputes.open(
            tenant_id=principal.tenant_id,
            order_id=order,
            line_ids=line or [],
            reason_code=reason,
            description=description,
            external_ref=reference,
            channel="cli",
            actor=principal.actor,
            now=ordertrail.clock.now(),
        )
    except DisputeError as error:
        raise fail(str(error)) from None
    finally:
        ordertrail.close()
    console.print_json(json.dumps(dispute_document(dispute)))


@app.command("evidence")
def evidence_cmd(
    dispute_id: str,
    document: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    *,
    kind: Annotated[
        str,
        typer.Option(
            help="delivery_proof, customer_acceptance, legal_signoff, correspondence or other."
        ),
    ],
    note: Annotated[str, typer.Option()] = "",
    key: KeyOption = "",
    database: DatabaseOption = None,
) -> None:
    """Attach a document; its SHA-256 is stored and audited."""
    if document.stat().st_size > EVIDENCE_BYTES_MAX:
        raise fail(f"an evidence document is at most {EVIDENCE_BYTES_MAX} bytes")
    ordertrail = open_app(database)
    try:
        principal = acting(ordertrail, key, Action.DISPUTES_EVIDENCE)
        evidence = ordertrail.disputes.attach(
            tenant_id=principal.tenant_id,
            dispute_id=dispute_id,
            kind=kind,
            filename=document.name[:200],
            media_type=mimetypes.guess_type(document.name)[0] or "application/octet-stream",
            content=document.read_bytes(),
            note=note,
            actor=principal.actor,
            now=ordertrail.clock.now(),
        )
    except DisputeError as error:
        raise fail(str(error)) from None
    finally:
        ordertrail.close()
    console.print_json(json.dumps(evidence_document(evidence)))


@app.command("resolve")
def resolve_cmd(
    dispute_id: str,
    *,
    outcome: Annotated[str, typer.Option(help="upheld or rejected.")],
    note: Annotated[str, typer.Option(help="Why; kept with the resolution.")],
    amount_minor: Annotated[
        int | None, typer.Option(help="Upheld: the amount to reverse, in minor units.")
    ] = None,
    refund: Annotated[
        bool, typer.Option(help="Upheld after a return: a refund, not a price concession.")
    ] = False,
    key: KeyOption = "",
    database: DatabaseOption = None,
) -> None:
    """Resolve: upheld reverses revenue; rejected reinstates once the evidence suffices."""
    ordertrail = open_app(database)
    try:
        principal = acting(ordertrail, key, Action.DISPUTES_RESOLVE)
        resolved = ordertrail.disputes.resolve(
            tenant_id=principal.tenant_id,
            dispute_id=dispute_id,
            outcome=outcome,
            amount_minor=amount_minor,
            treatment="refund" if refund else "price_concession",
            note=note,
            decider=Party.of(principal),
            decider_roles=principal.roles,
            now=ordertrail.clock.now(),
        )
    except (DisputeError, ApprovalError) as error:
        raise fail(f"{getattr(error, 'code', 'refused')}: {error}") from None
    finally:
        ordertrail.close()
    if resolved.request is not None:
        console.print(
            f"dispute {dispute_id} needs a second person: request {resolved.request.request_id} "
            "awaits another person's `ordertrail approvals approve`"
        )
        return
    console.print_json(json.dumps(dispute_document(resolved.dispute)))


@app.command("reasons")
def reasons_cmd(
    tenant: TenantOption,
    *,
    set_code: Annotated[
        str | None, typer.Option("--set", help="Add or change this reason (needs --key).")
    ] = None,
    description: Annotated[str, typer.Option()] = "",
    require: Annotated[
        list[str] | None, typer.Option(help="An evidence kind a rejection needs (repeat).")
    ] = None,
    signer_role: Annotated[str, typer.Option(help="The role that must reject.")] = "controller",
    second_approval: Annotated[bool, typer.Option(help="A second person approves.")] = False,
    inactive: Annotated[bool, typer.Option(help="No new disputes may give it.")] = False,
    key: KeyOption = "",
    database: DatabaseOption = None,
) -> None:
    """List the reasons and their evidence thresholds, or (--set) add or change one."""
    ordertrail = open_app(database)
    try:
        if set_code is not None:
            principal = acting(ordertrail, key, Action.DISPUTES_CONFIGURE)
            if principal.tenant_id != tenant:
                raise fail("the key belongs to another tenant", code=2)
            ordertrail.disputes.set_reason(
                tenant_id=tenant,
                reason=DisputeReason(
                    set_code,
                    description=description or set_code,
                    required_evidence=tuple(require or ()),
                    signer_role=signer_role,
                    second_approval=second_approval,
                    active=not inactive,
                ),
                roles=[str(role) for role in Role if role is not Role.OPERATOR],
                actor=principal.actor,
                now=ordertrail.clock.now(),
            )
        reasons = ordertrail.disputes.reasons(tenant_id=tenant)
    except DisputeError as error:
        raise fail(str(error)) from None
    finally:
        ordertrail.close()
    table = Table("reason", "requires", "signer", "second person", "active", "description")
    for r in (reason_document(r) for r in reasons):
        table.add_row(
            r["code"],
            ", ".join(r["required_evidence"]) or "(nothing)",
            r["signer_role"],
            "yes" if r["second_approval"] else "",
            "yes" if r["active"] else "no",
            r["description"],
        )
    console.print(table)
