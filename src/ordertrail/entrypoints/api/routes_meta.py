"""Health, the published event schemas and the AsyncAPI document of the milestone messages."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from ordertrail import __version__
from ordertrail.domain.orders import SCHEMAS
from ordertrail.entrypoints.api.auth import container, require
from ordertrail.entrypoints.api.errors import ApiError
from ordertrail.services.access import Action
from ordertrail.services.keys import Principal
from ordertrail.services.milestone_contract import asyncapi_document
from ordertrail.services.reference_docs import event_json_schema, schema_catalog

router = APIRouter()
SchemaReader = Annotated[Principal, Depends(require(Action.SCHEMAS_READ))]


@router.get("/healthz", tags=["meta"], summary="Liveness and database reachability (no auth)")
async def healthz(request: Request) -> JSONResponse:
    database_ok = await run_in_threadpool(container(request).database_ok)
    return JSONResponse(
        {
            "status": "ok" if database_ok else "degraded",
            "database": database_ok,
            "version": __version__,
        },
        status_code=200 if database_ok else 503,
    )


@router.get("/v1/schemas", tags=["schemas"], summary="Every event type and schema version")
async def list_schemas(_principal: SchemaReader) -> dict[str, Any]:
    return {"items": schema_catalog()}


@router.get(
    "/v1/schemas/{event_type}/{version}",
    tags=["schemas"],
    summary="The JSON Schema of one event type and version",
)
async def get_schema(event_type: str, version: int, _principal: SchemaReader) -> dict[str, Any]:
    if (event_type, version) not in SCHEMAS:
        raise ApiError(404, "schema_not_found", f"no schema for {event_type} v{version}")
    return event_json_schema(event_type, version)


@router.get(
    "/v1/asyncapi.json",
    tags=["schemas"],
    summary="The AsyncAPI 3.0 document of the milestone messages sent to revenue",
)
async def get_asyncapi(_principal: SchemaReader) -> dict[str, Any]:
    return asyncapi_document()
