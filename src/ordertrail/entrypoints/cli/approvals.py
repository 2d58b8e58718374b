"""`ordertrail approvals`: request, list, show, approve, reject and expire dual-approval requests.

Requesting and deciding act as an API key (`--key` or $ORDERTRAIL_API_KEY), so the same
self-approval and role rules apply as over HTTP: the key is the requester or the decider.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from ordertrail.entrypoints.cli.common import (
    DatabaseOption,
    KeyOption,
    acting,
    console,
    fail,
    open_app,
)
from ordertrail.services.access import Action
from ordertrail.services.approval_ports import ApprovalFilter, ApprovalRequest, ApprovalStatus
from ordertrail.services.approvals import ApprovalError, Party

app = typer.Typer(help="Dual approval: overrides one person requests and another approves.")

TenantOption = Annotated[str, typer.Option(help="The tenant whose requests to read.")]


def _print(request: ApprovalRequest) -> None:
    console.print_json(
        json.dumps(
            {
                "request_id": request.request_id,
                "kind": request.kind,
                "subject": request.subject,
                "status": request.status,
                "payload": dict(request.payload),
                "reason": request.reason,
                "requester": request.requester,
                "requester_owner": request.requester_owner,
                "requested_at": request.requested_at.isoformat(),
                "expires_at": request.expires_at.isoformat(),
                "decided_by": request.decided_by,
                "decided_at": None
                if request.decided_at is None
                else request.decided_at.isoformat(),
                "decision_note": request.decision_note,
                "result": None if request.result is None else dict(request.result),
            },
            default=str,
        )
    )


def _refused(error: ApprovalError) -> typer.Exit:
    return fail(f"{error} ({error.code})", code=1)


@app.command("request")
def request_cmd(
    kind: Annotated[str, typer.Argument(help="e.g. recognize_now, hold.release.")],
    *,
    subject: Annotated[str, typer.Option(help='What it is about, e.g. "order:SO-1".')],
    reason: Annotated[str, typer.Option(help="Why; the approver reads it.")],
    payload: Annotated[str, typer.Option(help="The kind's arguments as a JSON object.")] = "{}",
    expires_at: Annotated[
        datetime | None, typer.Option(help="Default: 3 days from now (at most 30).")
    ] = None,
    key: KeyOption = "",
    database: DatabaseOption = None,
) -> None:
    """Request an override; it takes effect only when another person approves it."""
    try:
        arguments: Any = json.loads(payload)
    except ValueError:
        raise fail("--payload is not JSON", code=2) from None
    if not isinstance(arguments, dict):
        raise fail("--payload must be a JSON object", code=2)
    ordertrail = open_app(database)
    try:
        principal = acting(ordertrail, key, Action.APPROVALS_REQUEST)
        created = ordertrail.approvals.request(
            tenant_id=principal.tenant_id,
            kind=kind,
            subject=subject,
            payload=arguments,
            reason=reason,
            requester=Party.of(principal),
            now=ordertrail.clock.now(),
            expires_at=expires_at,
        )
    except ApprovalError as error:
        raise _refused(error) from None
    finally:
        ordertrail.close()
    _print(created)


@app.command("approve")
def approve_cmd(
    request_id: str,
    note: Annotated[str | None, typer.Option(help="A note kept with the decision.")] = None,
    key: KeyOption = "",
    database: DatabaseOption = None,
) -> None:
    """Approve a request (not your own) and apply it."""
    ordertrail = open_app(database)
    try:
        principal = acting(ordertrail, key, Action.APPROVALS_DECIDE)
        decided = ordertrail.approvals.approve(
            tenant_id=principal.tenant_id,
            request_id=request_id,
            approver=Party.of(principal),
            approver_roles=principal.roles,
            now=ordertrail.clock.now(),
            note=note,
        )
    except ApprovalError as error:
        raise _refused(error) from None
    finally:
        ordertrail.close()
    _print(decided)


@app.command("reject")
def reject_cmd(
    request_id: str,
    note: Annotated[str | None, typer.Option(help="A note kept with the decision.")] = None,
    key: KeyOption = "",
    database: DatabaseOption = None,
) -> None:
    """Reject a request (or withdraw your own)."""
    ordertrail = open_app(database)
    try:
        principal = acting(ordertrail, key, Action.APPROVALS_DECIDE)
        decided = ordertrail.approvals.reject(
            tenant_id=principal.tenant_id,
            request_id=request_id,
            decider=Party.of(principal),
            now=ordertrail.clock.now(),
            note=note,
        )
    except ApprovalError as error:
        raise _refused(error) from None
    finally:
        ordertrail.close()
    _print(decided)


@app.command("list")
def list_cmd(
    tenant: TenantOption,
    status: Annotated[ApprovalStatus | None, typer.Option(help="Only this status.")] = None,
    kind: Annotated[str | None, typer.Option(help="Only this kind.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    database: DatabaseOption = None,
) -> None:
    """List a tenant's requests, newest first."""
    ordertrail = open_app(database)
    try:
        rows = ordertrail.approvals.find(
            tenant_id=tenant, where=ApprovalFilter(status=status, kind=kind), limit=limit
        )[:limit]
    finally:
        ordertrail.close()
    table = Table("request", "kind", "subject", "status", "requester", "decided by", "expires")
    for r in rows:
        table.add_row(
            r.request_id,
            r.kind,
            r.subject,
            r.status,
            r.requester,
            r.decided_by or "",
            r.expires_at.isoformat(timespec="seconds"),
        )
    console.print(table)


@app.command("show")
def show_cmd(request_id: str, tenant: TenantOption, database: DatabaseOption = None) -> None:
    """Show one request with its payload, decision and result."""
    ordertrail = open_app(database)
    try:
        found = ordertrail.approvals.get(tenant_id=tenant, request_id=request_id)
    except ApprovalError as error:
        raise _refused(error) from None
    finally:
        ordertrail.close()
    _print(found)


@app.command("expire")
def expire_cmd(database: DatabaseOption = None) -> None:
    """Mark every open request past its expiry as expired (`serve` does this every minute)."""
    ordertrail = open_app(database)
    try:
        expired = ordertrail.approvals.expire_due(now=ordertrail.clock.now())
    finally:
        ordertrail.close()
    console.print(f"{len(expired)} request(s) expired.")
