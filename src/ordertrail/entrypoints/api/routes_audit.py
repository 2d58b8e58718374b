"""The audit trail over HTTP: records, verification, the published key and checkpoints.

Every answer is scoped to the caller's tenant: an auditor verifies the chain of the tenant their
key belongs to. Verification answers 200 with `ok` false on tampered data: a broken chain is the
finding the auditor asked for, not a fault in the request.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool

from ordertrail.adapters.audit_signing import SigningKeyError, public_pem
from ordertrail.entrypoints.api.auth import container, require
from ordertrail.entrypoints.api.errors import ApiError
from ordertrail.services import audit
from ordertrail.services.access import Action
from ordertrail.services.keys import Principal

router = APIRouter(prefix="/v1/audit", tags=["audit"])

Reader = Annotated[Principal, Depends(require(Action.AUDIT_READ))]
Checkpointer = Annotated[Principal, Depends(require(Action.AUDIT_CHECKPOINT))]


def _signer(request: Request) -> Any:
    try:
        return container(request).audit_signer
    except SigningKeyError as error:
        raise ApiError(503, "audit_key_unavailable", str(error)) from None


@router.get("/records", summary="The tenant's audit records in chain order, filtered")
async def list_records(
    *,
    request: Request,
    principal: Reader,
    subject: str | None = None,
    kind: str | None = None,
    cause: str | None = None,
    limit: Annotated[int, Query(ge=1, le=audit.RECORDS_PAGE_MAX)] = 100,
    cursor: str | None = None,
) -> dict[str, Any]:
    try:
        page = await run_in_threadpool(
            audit.records_page,
            store=container(request).audit,
            tenant_id=principal.tenant_id,
            subject=subject,
            kind=kind,
            cause=cause,
            limit=limit,
            cursor=cursor,
        )
    except ValueError as error:
        raise ApiError(
            422,
            "invalid_cursor",
            str(error),
            fields=[{"loc": "cursor", "code": "invalid_cursor", "message": str(error)}],
        ) from None
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get("/verify", summary="Recompute the tenant's chain, checkpoints and journal digests")
async def verify(request: Request, principal: Reader) -> dict[str, Any]:
    signer = _signer(request)
    result = await run_in_threadpool(
        audit.verify,
        store=container(request).audit,
        tenant_id=principal.tenant_id,
        public_key_raw=None if signer is None else signer.public_key_raw,
        key_id=None if signer is None else signer.key_id,
    )
    return audit.verification_view(result)


@router.get("/public-key", summary="The Ed25519 public key that checkpoint signatures verify with")
async def public_key(request: Request, principal: Reader) -> dict[str, Any]:  # noqa: ARG001
    signer = _signer(request)
    if signer is None:
        raise ApiError(
            404, "audit_key_not_configured", "checkpoints are not signed on this deployment"
        )
    return {
        "algorithm": "Ed25519",
        "key_id": signer.key_id,
        "public_key_pem": public_pem(signer.public_key_raw),
    }


@router.post("/checkpoints", status_code=201, summary="Checkpoint the tenant's chain head now")
async def take_checkpoint(request: Request, principal: Checkpointer) -> dict[str, Any]:
    app = container(request)
    signer = _signer(request)
    made = await run_in_threadpool(
        audit.checkpoint,
        store=app.audit,
        tenant_id=principal.tenant_id,
        now=app.clock.now(),
        sign=signer,
    )
    return {"checkpoint": audit.checkpoint_view(made[0]) if made else None}
