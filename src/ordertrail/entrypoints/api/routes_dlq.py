"""Dead letters of the caller's tenant: list, show, replay under the original id, purge (recorded).

Admin only. Another tenant's dead letter answers 404, as a missing one does.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool

from ordertrail.entrypoints.api.auth import container, require
from ordertrail.entrypoints.api.errors import ApiError
from ordertrail.services.access import Action
from ordertrail.services.dead_letters import DeadLetterNotFound, DeadLetterPurged
from ordertrail.services.keys import Principal
from ordertrail.services.messaging import PublishFailed

router = APIRouter(prefix="/v1/dlq", tags=["dead letters"])
Reader = Annotated[Principal, Depends(require(Action.DLQ_READ))]
Manager = Annotated[Principal, Depends(require(Action.DLQ_MANAGE))]
DeadLetterId = Annotated[int, "the dead letter's id"]


def _not_found(dead_letter_id: int) -> ApiError:
    return ApiError(404, "dead_letter_not_found", f"no dead letter {dead_letter_id}")


@router.get("", summary="The tenant's dead letters, newest first")
async def list_dead_letters(
    request: Request,
    principal: Reader,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    include_purged: bool = False,
) -> dict[str, Any]:
    try:
        page = await run_in_threadpool(
            container(request).pipeline.dead_letters.list,
            tenant_id=principal.tenant_id,
            include_purged=include_purged,
            limit=limit,
            cursor=cursor,
        )
    except ValueError as error:
        raise ApiError(422, "invalid_cursor", str(error)) from None
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get("/{dead_letter_id}", summary="One dead letter with its body, error and replays")
async def show_dead_letter(
    request: Request, dead_letter_id: DeadLetterId, principal: Reader
) -> dict[str, Any]:
    try:
        letter = await run_in_threadpool(
            container(request).dead_letter,
            tenant_id=principal.tenant_id,
            dead_letter_id=dead_letter_id,
        )
    except DeadLetterNotFound:
        raise _not_found(dead_letter_id) from None
    return letter.as_dict()


@router.post("/{dead_letter_id}/replay", summary="Publish the message again under its original id")
async def replay_dead_letter(
    request: Request, dead_letter_id: DeadLetterId, principal: Manager
) -> dict[str, Any]:
    try:
        letter = await container(request).replay_dead_letter(
            tenant_id=principal.tenant_id, dead_letter_id=dead_letter_id, actor=principal.actor
        )
    except DeadLetterNotFound:
        raise _not_found(dead_letter_id) from None
    except DeadLetterPurged as error:
        raise ApiError(409, "dead_letter_purged", str(error)) from None
    except PublishFailed as error:
        raise ApiError(
            503,
            "replay_not_confirmed",
            f"the broker did not confirm the replay ({error}); nothing was recorded, try again",
        ) from None
    return letter.as_dict()


@router.post("/{dead_letter_id}/purge", summary="Mark a dead letter purged; it is kept as evidence")
async def purge_dead_letter(
    request: Request, dead_letter_id: DeadLetterId, principal: Manager
) -> dict[str, Any]:
    try:
        letter = await run_in_threadpool(
            container(request).purge_dead_letter,
            tenant_id=principal.tenant_id,
            dead_letter_id=dead_letter_id,
            actor=principal.actor,
        )
    except DeadLetterNotFound:
        raise _not_found(dead_letter_id) from None
    return letter.as_dict()
