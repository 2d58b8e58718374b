"""`ordertrail alerts`: list, show, acknowledge and resolve alerts; run the evaluation job;
show and change stagnation rules and the escalation path."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer
from rich.table import Table

from ordertrail.domain.monitoring.alerts import AlertKind, AlertState, AlertTransitionRefused
from ordertrail.domain.monitoring.escalation import EscalationLevel, InvalidEscalation
from ordertrail.domain.monitoring.rules import InvalidRule, Severity, StagnationRule, SubjectType
from ordertrail.entrypoints.cli.common import (
    DatabaseOption,
    cli_principal,
    console,
    fail,
    open_app,
)
from ordertrail.entrypoints.cli.relay import MaxSecondsOption, configure_logging, stop_on_signals
from ordertrail.entrypoints.workers.monitoring import run_monitoring
from ordertrail.services.alerts import AlertNotFound, EvaluationReport
from ordertrail.services.monitoring import level_dict

app = typer.Typer(
    help="Alerts: stagnation and completion-rate drops, escalated until acknowledged.",
    no_args_is_help=True,
)
rules_app = typer.Typer(
    help="Stagnation rules: defaults and the tenant's own.", no_args_is_help=True
)
escalations_app = typer.Typer(help="The tenant's escalation path.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")
app.add_typer(escalations_app, name="escalations")

TenantOption = Annotated[str, typer.Option(help="The tenant.")]
IdArgument = Annotated[int, typer.Argument(help="The alert's id (see `alerts list`).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@app.command("list")
def alerts_list(
    *,
    tenant: TenantOption,
    state: Annotated[
        list[AlertState] | None, typer.Option(help="Only alerts in this state (repeatable).")
    ] = None,
    kind: Annotated[AlertKind | None, typer.Option(help="Only this kind.")] = None,
    severity: Annotated[Severity | None, typer.Option(help="Only this severity.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    database: DatabaseOption = None,
) -> None:
    """List the tenant's alerts, newest first."""
    ordertrail = open_app(database)
    try:
        page = ordertrail.monitoring.alerts(
            tenant_id=tenant, states=tuple(state or ()), kind=kind, severity=severity, limit=limit
        )
    finally:
        ordertrail.close()
    if as_json:
        for item in page.items:
            typer.echo(json.dumps(item, sort_keys=True))
        return
    table = Table("id", "opened", "state", "severity", "kind", "subject", "level", "summary")
    for item in page.items:
        table.add_row(
            str(item["id"]),
            item["opened_at"][:16],
            item["state"],
            item["severity"],
            item["kind"],
            item["subject"],
            str(item["escalation_level"]),
            item["summary"],
        )
    for column in table.columns:
        column.overflow = "fold"
    console.print(table)


def _change(alert_id: int, tenant: str, database: str | None, *, resolve: bool) -> None:
    ordertrail = open_app(database)
    actor = cli_principal(tenant).actor
    try:
        change = ordertrail.monitoring.resolve if resolve else ordertrail.monitoring.acknowledge
        alert = change(tenant_id=tenant, alert_id=alert_id, actor=actor)
    except (AlertNotFound, AlertTransitionRefused) as error:
        raise fail(str(error)) from None
    finally:
        ordertrail.close()
    typer.echo(json.dumps(alert.as_dict(), sort_keys=True))


@app.command("ack")
def alerts_ack(alert_id: IdArgument, tenant: TenantOption, database: DatabaseOption = None) -> None:
    """Acknowledge an open alert: escalation stops; it stays open until resolved."""
    _change(alert_id, tenant, database, resolve=False)


@app.command("resolve")
def alerts_resolve(
    alert_id: IdArgument, tenant: TenantOption, database: DatabaseOption = None
) -> None:
    """Resolve an open or acknowledged alert."""
    _change(alert_id, tenant, database, resolve=True)


@app.command("show")
def alerts_show(
    alert_id: IdArgument, tenant: TenantOption, database: DatabaseOption = None
) -> None:
    """Show one alert with its notification log, as JSON."""
    ordertrail = open_app(database)
    try:
        alert, notifications = ordertrail.monitoring.alert(tenant_id=tenant, alert_id=alert_id)
    except AlertNotFound as error:
        raise fail(str(error)) from None
    finally:
        ordertrail.close()
    typer.echo(json.dumps({**alert.as_dict(), "notifications": notifications}, sort_keys=True))


@app.command("evaluate")
def alerts_evaluate(
    loop: Annotated[
        bool,
        typer.Option("--loop", help="Keep evaluating every ORDERTRAIL_ALERT_EVALUATE_INTERVAL_S."),
    ] = False,
    max_seconds: MaxSecondsOption = None,
    database: DatabaseOption = None,
) -> None:
    """Run the alert job: raise and resolve stagnation and rate-drop alerts, escalate, notify."""
    ordertrail = open_app(database)
    try:
        if loop:
            configure_logging()

            async def main() -> EvaluationReport:
                stop = asyncio.Event()
                stop_on_signals(stop)
                return await run_monitoring(app=ordertrail, stop=stop, max_seconds=max_seconds)

            report = asyncio.run(main())
        else:
            report = ordertrail.monitoring.evaluate()
    finally:
        ordertrail.close()
    console.print(
        f"raised {report.raised}, resolved {report.resolved}, escalated {report.escalated}, "
        f"notified {report.notified} (failed deliveries: {report.failed_deliveries})"
    )


@rules_app.command("show")
def rules_show(
    tenant: TenantOption, as_json: JsonOption = False, database: DatabaseOption = None
) -> None:
    """The rules in force for the tenant: each default, or the tenant's own rule for its status."""
    ordertrail = open_app(database)
    try:
        views = ordertrail.monitoring.rules(tenant_id=tenant)
    finally:
        ordertrail.close()
    if as_json:
        typer.echo(json.dumps([view.as_dict() for view in views], sort_keys=True))
        return
    table = Table("subject", "status", "threshold (h)", "severity", "enabled", "source")
    for view in views:
        rule = view.rule
        table.add_row(
            rule.subject_type.value,
            rule.status,
            f"{rule.threshold_minutes / 60:g}",
            rule.severity.value,
            "yes" if rule.enabled else "no",
            view.source,
        )
    console.print(table)


@rules_app.command("set")
def rules_set(
    *,
    tenant: TenantOption,
    subject: Annotated[SubjectType, typer.Option(help="shipment or order.")],
    status: Annotated[str, typer.Option(help="The status the rule watches.")],
    threshold_hours: Annotated[float, typer.Option(min=0.02, help="Hours without an update.")],
    severity: Annotated[Severity, typer.Option()] = Severity.WARNING,
    enabled: Annotated[bool, typer.Option("--enabled/--disabled")] = True,
    database: DatabaseOption = None,
) -> None:
    """Set the tenant's own rule for one subject and status (other rules stay as they are)."""
    ordertrail = open_app(database)
    try:
        rule = StagnationRule(
            subject_type=subject,
            status=status,
            threshold_minutes=round(threshold_hours * 60),
            severity=severity,
            enabled=enabled,
        )
        own = [
            v.rule for v in ordertrail.monitoring.rules(tenant_id=tenant) if v.source == "tenant"
        ]
        rules = [r for r in own if r.key != rule.key] + [rule]
        ordertrail.monitoring.replace_rules(
            tenant_id=tenant, rules=rules, actor=cli_principal(tenant).actor
        )
    except InvalidRule as error:
        raise fail(str(error)) from None
    finally:
        ordertrail.close()
    console.print(f"{subject.value} {status}: {threshold_hours:g} h, {severity.value}")


@rules_app.command("reset")
def rules_reset(tenant: TenantOption, database: DatabaseOption = None) -> None:
    """Drop the tenant's own rules: the defaults apply again."""
    ordertrail = open_app(database)
    try:
        ordertrail.monitoring.replace_rules(
            tenant_id=tenant, rules=[], actor=cli_principal(tenant).actor
        )
    finally:
        ordertrail.close()
    console.print("the default rules apply")


def _parse_level(text: str) -> EscalationLevel:
    parts = text.split(":")
    if len(parts) not in (3, 4):
        raise InvalidEscalation(f"{text!r}: write LEVEL:DELAY_MINUTES:ROLE[:EMAIL,EMAIL]")
    try:
        level, delay = int(parts[0]), int(parts[1])
    except ValueError:
        raise InvalidEscalation(f"{text!r}: level and delay must be whole numbers") from None
    emails = tuple(a.strip() for a in parts[3].split(",") if a.strip()) if len(parts) == 4 else ()
    return EscalationLevel(level=level, delay_minutes=delay, target_role=parts[2], email_to=emails)


@escalations_app.command("show")
def escalations_show(tenant: TenantOption, database: DatabaseOption = None) -> None:
    """The escalation path in force for the tenant, as JSON."""
    ordertrail = open_app(database)
    try:
        source, path = ordertrail.monitoring.path(tenant_id=tenant)
    finally:
        ordertrail.close()
    typer.echo(json.dumps({"source": source, "levels": [level_dict(p) for p in path]}))


@escalations_app.command("set")
def escalations_set(
    tenant: TenantOption,
    level: Annotated[
        list[str] | None,
        typer.Option(help="LEVEL:DELAY_MINUTES:ROLE[:EMAIL,EMAIL] (repeatable). None: default."),
    ] = None,
    database: DatabaseOption = None,
) -> None:
    """Replace the tenant's escalation path; with no --level the default path applies again."""
    ordertrail = open_app(database)
    try:
        path = [_parse_level(item) for item in level or []]
        source, stored = ordertrail.monitoring.replace_path(
            tenant_id=tenant, path=path, actor=cli_principal(tenant).actor
        )
    except InvalidEscalation as error:
        raise fail(str(error)) from None
    finally:
        ordertrail.close()
    typer.echo(json.dumps({"source": source, "levels": [level_dict(p) for p in stored]}))
