"""`ordertrail rules`: list and show recognition rules, propose a version, test against an order,
and re-evaluate the orders the gate still holds back (the scheduled job, runnable by hand).

A proposed version takes effect only when another person approves its `rule.change` request
(`ordertrail approvals approve <request id>`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from ordertrail.domain.controls.rules import InvalidRule
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
from ordertrail.services.controls import rule_document
from ordertrail.services.recognition_rerun import reevaluate_pending
from ordertrail.services.rules import RuleNotFound

app = typer.Typer(help="Recognition rules: when an obligation's revenue may be recognized.")
TenantOption = Annotated[str, typer.Option(help="The tenant whose rules to read.")]


@app.command("list")
def list_cmd(tenant: TenantOption, database: DatabaseOption = None) -> None:
    """Every version of every rule, with its status."""
    ordertrail = open_app(database)
    try:
        rules = ordertrail.controls.rules(tenant_id=tenant)
    finally:
        ordertrail.close()
    table = Table("rule", "version", "status", "sku", "customer", "criterion", "fallback")
    for s in rules:
        r = s.rule
        fallback = "-" if r.fallback.kind == "none" else f"{r.fallback.kind} +{r.fallback.days}d"
        table.add_row(
            r.rule_id,
            str(r.version),
            s.status,
            r.sku or "*",
            r.customer_id or "*",
            r.criterion,
            fallback,
        )
    console.print(table)


@app.command("show")
def show_cmd(rule_id: str, tenant: TenantOption, database: DatabaseOption = None) -> None:
    """One rule's versions, as JSON."""
    ordertrail = open_app(database)
    try:
        rules = ordertrail.controls.rules(tenant_id=tenant, rule_id=rule_id)
    finally:
        ordertrail.close()
    if not rules:
        raise fail(f"no rule {rule_id} for tenant {tenant}")
    console.print_json(json.dumps([rule_document(s) for s in rules]))


@app.command("propose")
def propose_cmd(
    file: Annotated[Path, typer.Argument(help="The rule as a JSON file.", exists=True)],
    reason: Annotated[str, typer.Option(help="Why; the approver reads it.")],
    key: KeyOption = "",
    database: DatabaseOption = None,
) -> None:
    """Propose a new version of a rule; it applies once another person approves it."""
    try:
        definition: Any = json.loads(file.read_text(encoding="utf-8"))
    except ValueError as error:
        raise fail(f"{file} is not JSON: {error}", code=2) from None
    if not isinstance(definition, dict):
        raise fail(f"{file} must hold one JSON object", code=2)
    ordertrail = open_app(database)
    try:
        principal = acting(ordertrail, key, Action.RULES_PROPOSE)
        stored, request = ordertrail.controls.propose(
            tenant_id=principal.tenant_id,
            definition=definition,
            reason=reason,
            requester=Party.of(principal),
            now=ordertrail.clock.now(),
        )
    except (InvalidRule, ApprovalError) as error:
        raise fail(f"the rule was not proposed: {error}") from None
    finally:
        ordertrail.close()
    console.print(
        f"rule {stored.rule.rule_id} v{stored.rule.version} proposed; "
        f"request {request.request_id} awaits another person's approval"
    )


@app.command("test")
def try_cmd(
    tenant: TenantOption,
    order: Annotated[str, typer.Option("--order", help="The order to test the rules on.")],
    database: DatabaseOption = None,
) -> None:
    """Evaluate the active rules on an order's known facts now; records nothing."""
    ordertrail = open_app(database)
    try:
        results = ordertrail.controls.test(
            tenant_id=tenant, order_id=order, now=ordertrail.clock.now()
        )
    except RuleNotFound as error:
        raise fail(str(error)) from None
    finally:
        ordertrail.close()
    table = Table("line", "rule", "met", "facts")
    for t in results:
        rule = "-" if t.rule_id is None else f"{t.rule_id} v{t.rule_version}"
        met = (
            "no rule"
            if t.met is None and t.error is None
            else t.error or ("yes" if t.met else "no")
        )
        table.add_row(t.line_id, rule, met, json.dumps(t.facts, default=str))
    console.print(table)


@app.command("reevaluate")
def reevaluate_cmd(database: DatabaseOption = None) -> None:
    """Re-judge every order with revenue still held back (rules met with time, fallbacks due)."""
    ordertrail = open_app(database)
    try:
        result = reevaluate_pending(uow_factory=ordertrail.uow_factory, clock=ordertrail.clock)  # type: ignore[arg-type]
    finally:
        ordertrail.close()
    console.print(f"re-evaluated {result.orders} orders, {result.failed} failed")
    if result.failed:
        raise typer.Exit(1)
