"""Alerts (list, acknowledge, resolve), their rules and escalation paths, the root-cause Pareto.

Every route is tenant-scoped: another tenant's alert answers 404, as a missing one does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from ordertrail.domain.monitoring.alerts import AlertKind, AlertState, AlertTransitionRefused
from ordertrail.domain.monitoring.escalation import EscalationLevel, InvalidEscalation
from ordertrail.domain.monitoring.rules import InvalidRule, Severity, StagnationRule, SubjectType
from ordertrail.entrypoints.api.auth import container, require
from ordertrail.entrypoints.api.errors import ApiError
from ordertrail.services.access import Action
from ordertrail.services.alerts import AlertNotFound
from ordertrail.services.keys import Principal
from ordertrail.services.monitoring import level_dict
from ordertrail.services.root_causes_report import InvalidRange

router = APIRouter(tags=["monitoring"])
Reader = Annotated[Principal, Depends(require(Action.ALERTS_READ))]
Manager = Annotated[Principal, Depends(require(Action.ALERTS_MANAGE))]
Configurer = Annotated[Principal, Depends(require(Action.ALERTS_CONFIGURE))]
ReportReader = Annotated[Principal, Depends(require(Action.ROOT_CAUSES_READ))]


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject_type: SubjectType
    status: str = Field(max_length=32)
    threshold_minutes: int
    severity: Severity = Severity.WARNING
    enabled: bool = True


class RulesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: list[RuleIn] = Field(max_length=100)


class LevelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    level: int
    delay_minutes: int
    target_role: str = Field(max_length=64)
    email_to: list[str] = Field(default_factory=list, max_length=20)


class PathIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    levels: list[LevelIn] = Field(max_length=10)


def _not_found(alert_id: int) -> ApiError:
    return ApiError(404, "alert_not_found", f"no alert {alert_id}")


@router.get("/v1/alerts", summary="The tenant's alerts, newest first")
async def list_alerts(
    request: Request,
    principal: Reader,
    *,
    state: Annotated[list[AlertState] | None, Query()] = None,
    kind: AlertKind | None = None,
    severity: Severity | None = None,
    subject: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> dict[str, Any]:
    try:
        page = await run_in_threadpool(
            container(request).monitoring.alerts,
            tenant_id=principal.tenant_id,
            states=tuple(state or ()),
            kind=kind,
            severity=severity,
            subject=subject,
            limit=limit,
            cursor=cursor,
        )
    except ValueError as error:
        raise ApiError(422, "invalid_cursor", str(error)) from None
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get("/v1/alerts/rules", summary="The stagnation rules in force: defaults and the tenant's")
async def get_rules(request: Request, principal: Reader) -> dict[str, Any]:
    views = await run_in_threadpool(
        container(request).monitoring.rules, tenant_id=principal.tenant_id
    )
    return {"rules": [view.as_dict() for view in views]}


@router.put("/v1/alerts/rules", summary="Replace the tenant's own stagnation rules")
async def put_rules(request: Request, body: RulesIn, principal: Configurer) -> dict[str, Any]:
    try:
        rules = [StagnationRule(**item.model_dump()) for item in body.rules]
        views = await run_in_threadpool(
            container(request).monitoring.replace_rules,
            tenant_id=principal.tenant_id,
            rules=rules,
            actor=principal.actor,
        )
    except InvalidRule as error:
        raise ApiError(422, "invalid_rule", str(error)) from None
    return {"rules": [view.as_dict() for view in views]}


def _path_body(source: str, path: tuple[EscalationLevel, ...]) -> dict[str, Any]:
    return {"source": source, "levels": [level_dict(level) for level in path]}


@router.get("/v1/alerts/escalations", summary="The escalation path in force for the tenant")
async def get_escalations(request: Request, principal: Reader) -> dict[str, Any]:
    source, path = await run_in_threadpool(
        container(request).monitoring.path, tenant_id=principal.tenant_id
    )
    return _path_body(source, path)


@router.put(
    "/v1/alerts/escalations", summary="Replace the tenant's escalation path (empty: the default)"
)
async def put_escalations(request: Request, body: PathIn, principal: Configurer) -> dict[str, Any]:
    try:
        path = [
            EscalationLevel(
                level=item.level,
                delay_minutes=item.delay_minutes,
                target_role=item.target_role,
                email_to=tuple(item.email_to),
            )
            for item in body.levels
        ]
        source, stored = await run_in_threadpool(
            container(request).monitoring.replace_path,
            tenant_id=principal.tenant_id,
            path=path,
            actor=principal.actor,
        )
    except InvalidEscalation as error:
        raise ApiError(422, "invalid_escalation", str(error)) from None
    return _path_body(source, stored)


@router.get("/v1/alerts/{alert_id}", summary="One alert with its notification log")
async def show_alert(request: Request, alert_id: int, principal: Reader) -> dict[str, Any]:
    try:
        alert, notifications = await run_in_threadpool(
            container(request).monitoring.alert, tenant_id=principal.tenant_id, alert_id=alert_id
        )
    except AlertNotFound:
        raise _not_found(alert_id) from None
    return {**alert.as_dict(), "notifications": notifications}


async def _change(request: Request, alert_id: int, principal: Principal, *, resolve: bool) -> Any:
    monitoring = container(request).monitoring
    change = monitoring.resolve if resolve else monitoring.acknowledge
    try:
        alert = await run_in_threadpool(
            change, tenant_id=principal.tenant_id, alert_id=alert_id, actor=principal.actor
        )
    except AlertNotFound:
        raise _not_found(alert_id) from None
    except AlertTransitionRefused as error:
        raise ApiError(409, "alert_state_conflict", str(error)) from None
    return alert.as_dict()


@router.post(
    "/v1/alerts/{alert_id}/acknowledge", summary="Acknowledge an open alert: stops escalation"
)
async def acknowledge_alert(request: Request, alert_id: int, principal: Manager) -> dict[str, Any]:
    result: dict[str, Any] = await _change(request, alert_id, principal, resolve=False)
    return result


@router.post("/v1/alerts/{alert_id}/resolve", summary="Resolve an open or acknowledged alert")
async def resolve_alert(request: Request, alert_id: int, principal: Manager) -> dict[str, Any]:
    result: dict[str, Any] = await _change(request, alert_id, principal, resolve=True)
    return result


@router.get(
    "/v1/reports/root-causes",
    summary="Root causes ranked by count with cumulative percentages (Pareto); JSON or CSV",
    responses={200: {"content": {"text/csv": {}}}},
)
async def root_causes(
    request: Request,
    principal: ReportReader,
    *,
    start: Annotated[datetime, Query(alias="from")],
    end: Annotated[datetime, Query(alias="to")],
    carrier: Annotated[str | None, Query(max_length=64)] = None,
    format: Annotated[str | None, Query(pattern="^(json|csv)$")] = None,
) -> Any:
    if start.tzinfo is None or end.tzinfo is None:
        raise ApiError(422, "naive_timestamp", "from and to need a time zone, e.g. ...Z")
    try:
        report = await run_in_threadpool(
            container(request).monitoring.root_cause_report,
            tenant_id=principal.tenant_id,
            start=start,
            end=end,
            carrier=carrier,
        )
    except InvalidRange as error:
        raise ApiError(422, "invalid_range", str(error)) from None
    wants_csv = format == "csv" or (
        format is None and "text/csv" in request.headers.get("accept", "")
    )
    if wants_csv:
        return Response(content=report.as_csv(), media_type="text/csv; charset=utf-8")
    return report.as_dict()
