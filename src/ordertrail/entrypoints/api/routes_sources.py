"""The caller's tenant's sources: how each synchronises, event-driven or batch (admin sets it).

A source nobody configured is event-driven; GET says so rather than answering 404. Whatever the
mode, events a source pushes to `POST /v1/events` are accepted.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from ordertrail.entrypoints.api.auth import container, require
from ordertrail.entrypoints.api.errors import ApiError
from ordertrail.services.access import Action
from ordertrail.services.keys import Principal
from ordertrail.services.sources import (
    INTERVAL_S_MAX,
    InvalidSource,
    Source,
    SyncMode,
    check_source_name,
    configure_source,
)

router = APIRouter(prefix="/v1/sources", tags=["sources"])
Reader = Annotated[Principal, Depends(require(Action.SOURCES_READ))]
Manager = Annotated[Principal, Depends(require(Action.SOURCES_MANAGE))]


class SourceSetting(BaseModel):
    """How a source synchronises."""

    model_config = ConfigDict(extra="forbid")

    mode: SyncMode = Field(description="event: the source pushes each event; batch: imported.")
    interval_minutes: int | None = Field(
        default=None,
        ge=1,
        le=INTERVAL_S_MAX // 60,
        description="Batch only: minutes between imports of its drop directory (default 15).",
    )


def _document(request: Request, source: Source) -> dict[str, Any]:
    document = source.as_dict()
    document["configured"] = True
    document["drop_directory"] = (
        str(container(request).drop_box.directory(tenant_id=source.tenant_id, source=source.source))
        if source.mode is SyncMode.BATCH
        else None
    )
    return document


def _checked(source: str) -> str:
    try:
        return check_source_name(source)
    except InvalidSource as error:
        raise ApiError(422, "invalid_source", str(error)) from None


@router.get("", summary="The tenant's configured sources (any other source is event-driven)")
async def list_sources(request: Request, principal: Reader) -> dict[str, Any]:
    sources = await run_in_threadpool(
        container(request).sources.list_sources, tenant_id=principal.tenant_id
    )
    return {"items": [_document(request, source) for source in sources]}


@router.get("/{source}", summary="How one source synchronises")
async def show_source(request: Request, source: str, principal: Reader) -> dict[str, Any]:
    name = _checked(source)
    found = await run_in_threadpool(
        container(request).sources.get, tenant_id=principal.tenant_id, source=name
    )
    if found is None:
        return {
            "tenant_id": principal.tenant_id,
            "source": name,
            "mode": SyncMode.EVENT.value,
            "interval_minutes": None,
            "configured": False,
            "drop_directory": None,
        }
    return _document(request, found)


@router.put("/{source}", summary="Make a source event-driven or batch")
async def set_source(
    request: Request, source: str, setting: SourceSetting, principal: Manager
) -> dict[str, Any]:
    name = _checked(source)
    app = container(request)
    try:
        configured = await run_in_threadpool(
            configure_source,
            store=app.sources,
            tenant_id=principal.tenant_id,
            source=name,
            mode=setting.mode,
            interval_s=None if setting.interval_minutes is None else setting.interval_minutes * 60,
            actor=principal.actor,
            now=app.clock.now(),
        )
    except InvalidSource as error:
        raise ApiError(422, "invalid_source", str(error)) from None
    return _document(request, configured)
