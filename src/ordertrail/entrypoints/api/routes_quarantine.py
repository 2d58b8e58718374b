"""Replaying quarantined events once their cause is fixed (e.g. the missing dispatch arrived)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from ordertrail.entrypoints.api.auth import container, require
from ordertrail.entrypoints.api.errors import ApiError
from ordertrail.services.access import Action
from ordertrail.services.keys import Principal

router = APIRouter(prefix="/v1/quarantine", tags=["quarantine"])
Replayer = Annotated[Principal, Depends(require(Action.QUARANTINE_REPLAY))]


@router.post("/{quarantine_id}/replay", summary="Re-ingest one quarantined event as it was sent")
async def replay_one(request: Request, quarantine_id: str, principal: Replayer) -> JSONResponse:
    results = await run_in_threadpool(
        container(request).replay_quarantined, principal=principal, quarantine_ids=[quarantine_id]
    )
    if not results:
        raise ApiError(404, "quarantine_not_found", f"no quarantine item {quarantine_id!r}")
    [replayed] = results
    if replayed.result is None:
        raise ApiError(422, "not_replayable", replayed.not_replayable or "not replayable")
    return JSONResponse(replayed.as_dict(), status_code=replayed.result.http_status)


@router.post("/replay", summary="Re-ingest an order's quarantined events not applied since")
async def replay_order(
    request: Request,
    principal: Replayer,
    order_id: Annotated[str, Query(min_length=1, max_length=128)],
) -> dict[str, Any]:
    results = await run_in_threadpool(
        container(request).replay_quarantined, principal=principal, order_id=order_id
    )
    return {"results": [r.as_dict() for r in results]}
