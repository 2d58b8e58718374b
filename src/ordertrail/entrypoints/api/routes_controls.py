"""Revenue controls over HTTP: holds, recognition decisions, rules, and their reports.

Holds stop recognition on an order, a line or an obligation until released; decisions answer
"why was this obligation recognized (or not)?"; rules are proposed here and take effect when a
second person approves the `rule.change` request (POST /v1/approvals/{id}/approve).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from ordertrail.domain.controls.amendments import AmendmentThreshold, InvalidThreshold
from ordertrail.domain.controls.holds import (
    HoldAlreadyReleased,
    HoldError,
    HoldNeedsApproval,
    HoldNotFound,
    InvalidHold,
)
from ordertrail.domain.controls.rules import InvalidRule
from ordertrail.entrypoints.api.auth import container, require
from ordertrail.entrypoints.api.errors import ApiError
from ordertrail.services.access import Action
from ordertrail.services.approval_ports import ApprovalRequest
from ordertrail.services.approvals import REASON_MAX, ApprovalError, Party
from ordertrail.services.controls import decision_document, hold_document, rule_document
from ordertrail.services.controls_ports import DECISIONS_PAGE_MAX, HOLDS_PAGE_MAX
from ordertrail.services.keys import Principal
from ordertrail.services.rules import RuleNotFound

router = APIRouter(tags=["controls"])
HoldReader = Annotated[Principal, Depends(require(Action.HOLDS_READ))]
HoldPlacer = Annotated[Principal, Depends(require(Action.HOLDS_PLACE))]
HoldReleaser = Annotated[Principal, Depends(require(Action.HOLDS_RELEASE))]
RuleReader = Annotated[Principal, Depends(require(Action.RULES_READ))]
RuleProposer = Annotated[Principal, Depends(require(Action.RULES_PROPOSE))]
ReportReader = Annotated[Principal, Depends(require(Action.REPORTS_READ))]
SettingsWriter = Annotated[Principal, Depends(require(Action.REVENUE_SETTINGS_WRITE))]

# Each refusal's HTTP status and code (docs/integrators/README.md lists every code).
REFUSALS: tuple[tuple[type[Exception], int, str], ...] = (
    (HoldNotFound, 404, "hold_not_found"),
    (HoldAlreadyReleased, 409, "hold_already_released"),
    (HoldNeedsApproval, 409, "hold_needs_approval"),
    (InvalidHold, 422, "invalid_hold"),
    (InvalidRule, 422, "invalid_recognition_rule"),
    (RuleNotFound, 404, "recognition_rule_not_found"),
)


def request_document(request: ApprovalRequest) -> dict[str, Any]:
    """The approval request a control created, as clients see it (see /v1/approvals)."""
    return {
        "request_id": request.request_id,
        "kind": request.kind,
        "subject": request.subject,
        "payload": dict(request.payload),
        "reason": request.reason,
        "requester": request.requester,
        "requested_at": request.requested_at.isoformat(),
        "expires_at": request.expires_at.isoformat(),
        "status": request.status,
    }


async def _run(work: Callable[[], Any]) -> Any:
    try:
        return await run_in_threadpool(work)
    except (HoldError, InvalidRule, RuleNotFound) as error:
        status, code = next((s, c) for kind, s, c in REFUSALS if isinstance(error, kind))
        raise ApiError(status, code, str(error)) from None
    except ApprovalError as error:
        raise ApiError(422, error.code, str(error)) from None


class NewHold(BaseModel):
    """A hold on an order, or on one of its lines or obligations."""

    model_config = ConfigDict(extra="forbid")

    order_id: str = Field(min_length=1, max_length=128)
    line_id: str | None = Field(default=None, min_length=1, max_length=128)
    obligation_id: str | None = Field(
        default=None, min_length=1, max_length=128, description='e.g. "1/unit"'
    )
    reason_code: str = Field(min_length=1, max_length=64, examples=["customer_complaint"])
    source: Literal["manual", "credit"] = Field(
        default="manual", description="credit: a billing system's credit hold"
    )
    source_ref: str | None = Field(default=None, max_length=128)


class Release(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="released", min_length=1, max_length=REASON_MAX)


class RuleProposal(BaseModel):
    """A new version of a recognition rule (docs/revenue/controls.md)."""

    model_config = ConfigDict(extra="forbid")

    rule: dict[str, Any]
    reason: str = Field(min_length=1, max_length=REASON_MAX)


@router.post("/v1/holds", status_code=201, summary="Place a hold: nothing under it is recognized")
async def post_hold(request: Request, principal: HoldPlacer, body: NewHold) -> Any:
    app = container(request)
    hold = await _run(
        lambda: app.controls.place(
            tenant_id=principal.tenant_id,
            order_id=body.order_id,
            line_id=body.line_id,
            obligation_id=body.obligation_id,
            reason_code=body.reason_code,
            source=body.source,
            source_ref=body.source_ref,
            actor=principal.actor,
            now=app.clock.now(),
        )
    )
    return hold_document(hold)


@router.post(
    "/v1/holds/{hold_id}/release",
    summary="Release a hold (or request a dual-approved release when its reason needs one)",
)
async def post_release(
    request: Request,
    response: Response,
    principal: HoldReleaser,
    hold_id: str,
    body: Release | None = None,
) -> Any:
    app = container(request)
    done = await _run(
        lambda: app.controls.release(
            tenant_id=principal.tenant_id,
            hold_id=hold_id,
            requester=Party.of(principal),
            reason=(body or Release()).reason,
            now=app.clock.now(),
        )
    )
    if done.request is not None:
        response.status_code = 202
        return {"hold": hold_document(done.hold), "approval": request_document(done.request)}
    return {"hold": hold_document(done.hold), "approval": None}


@router.get("/v1/holds", summary="Holds, oldest first")
async def get_holds(
    request: Request,
    principal: HoldReader,
    *,
    order_id: str | None = Query(default=None, max_length=128),
    status: Literal["open", "all"] = "open",
    limit: int = Query(default=100, ge=1, le=HOLDS_PAGE_MAX),
) -> Any:
    app = container(request)
    holds = await _run(
        lambda: app.controls.holds(
            tenant_id=principal.tenant_id,
            order_id=order_id,
            open_only=status == "open",
            limit=limit,
        )
    )
    return {"items": [hold_document(h) for h in holds]}


@router.get(
    "/v1/obligations/{contract_id}/{obligation_id:path}/decisions",
    summary="Why an obligation was recognized (or not): its decisions, newest first",
)
async def get_decisions(
    request: Request,
    principal: RuleReader,
    contract_id: str,
    obligation_id: str,
    limit: int = Query(default=50, ge=1, le=DECISIONS_PAGE_MAX),
) -> Any:
    app = container(request)
    found = await _run(
        lambda: app.controls.decisions(
            tenant_id=principal.tenant_id,
            contract_id=contract_id,
            obligation_id=obligation_id,
            limit=limit,
        )
    )
    return {"items": [decision_document(d) for d in found]}


@router.get("/v1/reports/fallbacks", summary="Recognitions and escalations made by a fallback")
async def get_fallbacks(
    request: Request,
    principal: ReportReader,
    limit: int = Query(default=100, ge=1, le=DECISIONS_PAGE_MAX),
) -> Any:
    app = container(request)
    found = await _run(
        lambda: app.controls.decisions(
            tenant_id=principal.tenant_id, fallback_only=True, limit=limit
        )
    )
    return {"items": [decision_document(d) for d in found]}


@router.get("/v1/reports/hold-aging", summary="Open holds by age, with the revenue held back")
async def get_hold_aging(request: Request, principal: ReportReader) -> Any:
    app = container(request)
    buckets = await _run(
        lambda: app.controls.aging(tenant_id=principal.tenant_id, now=app.clock.now())
    )
    return {
        "buckets": [
            {
                "bucket": b.bucket,
                "holds": b.holds,
                "held_back_minor": b.held_back_minor,
            }
            for b in buckets
        ]
    }


@router.get("/v1/rules", summary="Every version of the tenant's recognition rules")
async def get_rules(request: Request, principal: RuleReader) -> Any:
    app = container(request)
    found = await _run(lambda: app.controls.rules(tenant_id=principal.tenant_id))
    return {"items": [rule_document(r) for r in found]}


@router.get("/v1/rules/{rule_id}", summary="One rule's versions")
async def get_rule(request: Request, principal: RuleReader, rule_id: str) -> Any:
    app = container(request)
    found = await _run(lambda: app.controls.rules(tenant_id=principal.tenant_id, rule_id=rule_id))
    if not found:
        raise ApiError(404, "recognition_rule_not_found", f"no rule {rule_id} for your tenant")
    return {"items": [rule_document(r) for r in found]}


@router.post(
    "/v1/rules",
    status_code=202,
    summary="Propose a rule version: a rule.change request another person approves",
)
async def post_rule(request: Request, principal: RuleProposer, body: RuleProposal) -> Any:
    app = container(request)
    stored, approval = await _run(
        lambda: app.controls.propose(
            tenant_id=principal.tenant_id,
            definition=body.rule,
            reason=body.reason,
            requester=Party.of(principal),
            now=app.clock.now(),
        )
    )
    return {"rule": rule_document(stored), "approval": request_document(approval)}


class Threshold(BaseModel):
    """Amendments moving an order's value by at least this much wait for approval."""

    model_config = ConfigDict(extra="forbid")

    absolute_minor: int | None = Field(default=None, ge=0, le=10**15)
    percent_bp: int | None = Field(
        default=None, ge=0, le=1_000_000, description="Basis points: 1000 is 10%."
    )


@router.put(
    "/v1/amendments/thresholds/{currency}",
    summary="Set the impact above which an order amendment waits for approval",
)
async def put_threshold(
    request: Request,
    principal: SettingsWriter,
    currency: Annotated[str, Path(pattern="^[A-Z]{3}$")],
    body: Threshold,
) -> Any:
    app = container(request)
    try:
        threshold = AmendmentThreshold(
            currency=currency, absolute_minor=body.absolute_minor, percent_bp=body.percent_bp
        )
    except InvalidThreshold as error:
        raise ApiError(422, "invalid_threshold", str(error)) from None
    await _run(
        lambda: app.controls.set_threshold(
            tenant_id=principal.tenant_id,
            threshold=threshold,
            actor=principal.actor,
            now=app.clock.now(),
        )
    )
    return {
        "currency": currency,
        "absolute_minor": threshold.absolute_minor,
        "percent_bp": threshold.percent_bp,
    }
