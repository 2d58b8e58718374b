"""Dual approval over HTTP: request an override, list and read requests, approve or reject them.

The caller's key is the requester or the decider; two keys with the same owner are one person
(docs/revenue/approvals.md). Approving runs the kind's executor in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from ordertrail.entrypoints.api.auth import container, require
from ordertrail.entrypoints.api.errors import ApiError
from ordertrail.services.access import Action
from ordertrail.services.approval_ports import (
    APPROVALS_PAGE_MAX,
    ApprovalFilter,
    ApprovalRequest,
    ApprovalStatus,
)
from ordertrail.services.approvals import (
    REASON_MAX,
    ApprovalClosed,
    ApprovalError,
    ApprovalFailed,
    ApprovalNotFound,
    ApprovalRoleMissing,
    Party,
    SelfApproval,
)
from ordertrail.services.keys import Principal
from ordertrail.services.pagination import cursor_time, decode_cursor, encode_cursor

router = APIRouter(prefix="/v1/approvals", tags=["approvals"])
Reader = Annotated[Principal, Depends(require(Action.APPROVALS_READ))]
Requester = Annotated[Principal, Depends(require(Action.APPROVALS_REQUEST))]
Decider = Annotated[Principal, Depends(require(Action.APPROVALS_DECIDE))]

# Each refusal's HTTP status; the code is the exception's.
STATUS_OF: tuple[tuple[type[ApprovalError], int], ...] = (
    (ApprovalNotFound, 404),
    (SelfApproval, 403),
    (ApprovalRoleMissing, 403),
    (ApprovalClosed, 409),
    (ApprovalFailed, 409),
)


def document(request: ApprovalRequest) -> dict[str, Any]:
    """A request as clients see it."""
    return {
        "request_id": request.request_id,
        "kind": request.kind,
        "subject": request.subject,
        "payload": dict(request.payload),
        "reason": request.reason,
        "requester": request.requester,
        "requester_owner": request.requester_owner,
        "requested_at": request.requested_at.isoformat(),
        "expires_at": request.expires_at.isoformat(),
        "status": request.status,
        "decided_by": request.decided_by,
        "decided_by_owner": request.decided_by_owner,
        "decided_at": None if request.decided_at is None else request.decided_at.isoformat(),
        "decision_note": request.decision_note,
        "result": None if request.result is None else dict(request.result),
    }


async def _run(work: Callable[[], Any]) -> Any:
    try:
        return await run_in_threadpool(work)
    except ApprovalError as error:
        status = next((s for kind, s in STATUS_OF if isinstance(error, kind)), 422)
        raise ApiError(status, error.code, str(error)) from None


class NewRequest(BaseModel):
    """An override to be applied only when another person approves it."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(min_length=1, max_length=64, description="See GET /v1/approvals/kinds.")
    subject: str = Field(min_length=1, max_length=300, description='e.g. "order:SO-1".')
    payload: dict[str, Any] = Field(default_factory=dict, description="The kind's arguments.")
    reason: str = Field(min_length=1, max_length=REASON_MAX)
    expires_at: AwareDatetime | None = Field(
        default=None, description="Default: 3 days from now; at most 30 days."
    )


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=500)


@router.get("/kinds", summary="The kinds a request may name and the role each approver needs")
async def get_kinds(request: Request, _principal: Reader) -> Any:
    kinds = container(request).approval_kinds.kinds()
    return {"items": [{"kind": k.kind, "required_role": k.required_role} for k in kinds]}


@router.post("", status_code=201, summary="Request an override (applied when approved)")
async def post_request(request: Request, principal: Requester, body: NewRequest) -> Any:
    app = container(request)
    created = await _run(
        lambda: app.approvals.request(
            tenant_id=principal.tenant_id,
            kind=body.kind,
            subject=body.subject,
            payload=body.payload,
            reason=body.reason,
            requester=Party.of(principal),
            now=app.clock.now(),
            expires_at=body.expires_at,
        )
    )
    return document(created)


@router.get("", summary="Approval requests, newest first")
async def list_requests(
    request: Request,
    principal: Reader,
    *,
    status: ApprovalStatus | None = None,
    kind: str | None = Query(default=None, max_length=64),
    subject: str | None = Query(default=None, max_length=300),
    requester: str | None = Query(default=None, max_length=200),
    limit: int = Query(default=50, ge=1, le=APPROVALS_PAGE_MAX),
    cursor: str | None = None,
) -> Any:
    after: tuple[datetime, str] | None = None
    if cursor is not None:
        try:
            at, request_id = decode_cursor(cursor, arity=2)
            after = (cursor_time(at), request_id)
        except ValueError as error:
            raise ApiError(
                422,
                "invalid_cursor",
                str(error),
                fields=[{"loc": "cursor", "code": "invalid_cursor", "message": str(error)}],
            ) from None
    where = ApprovalFilter(status=status, kind=kind, subject=subject, requester=requester)
    rows: list[ApprovalRequest] = await _run(
        lambda: container(request).approvals.find(
            tenant_id=principal.tenant_id, where=where, after=after, limit=limit
        )
    )
    shown = rows[:limit]
    next_cursor = (
        encode_cursor(shown[-1].requested_at.isoformat(), shown[-1].request_id)
        if len(rows) > limit
        else None
    )
    return {"items": [document(r) for r in shown], "next_cursor": next_cursor}


@router.get("/{request_id}", summary="One approval request")
async def get_request(request: Request, request_id: str, principal: Reader) -> Any:
    found = await _run(
        lambda: container(request).approvals.get(
            tenant_id=principal.tenant_id, request_id=request_id
        )
    )
    return document(found)


@router.post("/{request_id}/approve", summary="Approve a request and apply it")
async def post_approve(
    request: Request, request_id: str, principal: Decider, body: Decision | None = None
) -> Any:
    app = container(request)
    decided = await _run(
        lambda: app.approvals.approve(
            tenant_id=principal.tenant_id,
            request_id=request_id,
            approver=Party.of(principal),
            approver_roles=principal.roles,
            now=app.clock.now(),
            note=None if body is None else body.note,
        )
    )
    return document(decided)


@router.post("/{request_id}/reject", summary="Reject (or, as its requester, withdraw) a request")
async def post_reject(
    request: Request, request_id: str, principal: Decider, body: Decision | None = None
) -> Any:
    app = container(request)
    decided = await _run(
        lambda: app.approvals.reject(
            tenant_id=principal.tenant_id,
            request_id=request_id,
            decider=Party.of(principal),
            now=app.clock.now(),
            note=None if body is None else body.note,
        )
    )
    return document(decided)
