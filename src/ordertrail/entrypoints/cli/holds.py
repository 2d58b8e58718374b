"""`ordertrail holds`: list, place and release revenue holds, and the hold-aging report.

Placing and releasing act as an API key (`--key` or $ORDERTRAIL_API_KEY), with the same roles
as over HTTP; a hold whose reason needs dual approval gets a `hold.release` request instead.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from ordertrail.domain.controls.holds import HoldError
from ordertrail.entrypoints.cli.common import (
    DatabaseOption,
    KeyOption,
    acting,
    console,
    fail,
    open_app,
)
from ordertrail.services.access import Action
from ordertrail.services.approvals import ApprovalError, Party
from ordertrail.services.controls import hold_document

app = typer.Typer(help="Revenue holds: nothing under an open hold is recognized.")

TenantOption = Annotated[str, typer.Option(help="The tenant whose holds to read.")]


@app.command("list")
def list_cmd(
    tenant: TenantOption,
    order: Annotated[str | None, typer.Option(help="Only this order's holds.")] = None,
    all_holds: Annotated[bool, typer.Option("--all", help="Released ones too.")] = False,
    database: DatabaseOption = None,
) -> None:
    """List holds, oldest first."""
    ordertrail = open_app(database)
    try:
        holds = ordertrail.controls.holds(tenant_id=tenant, order_id=order, open_only=not all_holds)
    finally:
        ordertrail.close()
    table = Table("hold", "order", "line", "obligation", "reason", "source", "placed", "status")
    for h in holds:
        table.add_row(
            h.hold_id,
            h.order_id,
            h.line_id or "",
            h.obligation_id or "",
            h.reason_code,
            h.source,
            h.placed_at.isoformat(),
            "open" if h.is_open else f"released by {h.released_by}",
        )
    console.print(table)


@app.command("place")
def place_cmd(
    *,
    order: Annotated[str, typer.Option(help="The order to hold.")],
    reason: Annotated[str, typer.Option(help="The reason code, e.g. customer_complaint.")],
    line: Annotated[str | None, typer.Option(help="Hold only this line.")] = None,
    obligation: Annotated[
        str | None, typer.Option(help='Hold only this obligation ("1/unit").')
    ] = None,
    credit: Annotated[bool, typer.Option(help="A credit hold (source credit).")] = False,
    key: KeyOption = "",
    database: DatabaseOption = None,
) -> None:
    """Place a hold on an order, a line or an obligation."""
    ordertrail = open_app(database)
    try:
        principal = acting(ordertrail, key, Action.HOLDS_PLACE)
        hold = ordertrail.controls.place(
            tenant_id=principal.tenant_id,
            order_id=order,
            line_id=line,
            obligation_id=obligation,
            reason_code=reason,
            source="credit" if credit else "manual",
            source_ref=None,
            actor=principal.actor,
            now=ordertrail.clock.now(),
        )
    except HoldError as error:
        raise fail(str(error)) from None
    finally:
        ordertrail.close()
    console.print_json(json.dumps(hold_document(hold)))


@app.command("release")
def release_cmd(
    hold_id: str,
    reason: Annotated[str, typer.Option(help="Why; an approver reads it.")] = "released",
    key: KeyOption = "",
    database: DatabaseOption = None,
) -> None:
    """Release a hold (or request a dual-approved release when its reason needs one)."""
    ordertrail = open_app(database)
    try:
        principal = acting(ordertrail, key, Action.HOLDS_RELEASE)
        done = ordertrail.controls.release(
            tenant_id=principal.tenant_id,
            hold_id=hold_id,
            requester=Party.of(principal),
            reason=reason,
            now=ordertrail.clock.now(),
        )
    except (HoldError, ApprovalError) as error:
        raise fail(str(error)) from None
    finally:
        ordertrail.close()
    if done.request is not None:
        console.print(
            f"hold {hold_id} needs dual approval: request {done.request.request_id} "
            "awaits another person's `ordertrail approvals approve`"
        )
        return
    console.print_json(json.dumps(hold_document(done.hold)))


@app.command("aging")
def aging_cmd(tenant: TenantOption, database: DatabaseOption = None) -> None:
    """Open holds by age (0-7, 8-30, 31-90, >90 days) and the revenue they hold back."""
    ordertrail = open_app(database)
    try:
        buckets = ordertrail.controls.aging(tenant_id=tenant, now=ordertrail.clock.now())
    finally:
        ordertrail.close()
    table = Table("days", "holds", "held back (minor units)")
    for b in buckets:
        amounts = ", ".join(f"{c} {a}" for c, a in sorted(b.held_back_minor.items()))
        table.add_row(b.bucket, str(b.holds), amounts or "-")
    console.print(table)
