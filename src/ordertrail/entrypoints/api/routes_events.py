"""Event ingest over HTTP: one event, or a batch of up to 1,000 in one transaction."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from ordertrail.adapters.metrics import trace_id_of
from ordertrail.adapters.tracing import TRACEPARENT, traced_request
from ordertrail.bootstrap import Ordertrail
from ordertrail.domain.canonical import NotCanonicalJson, parse_strict_json
from ordertrail.domain.orders.events import Envelope
from ordertrail.entrypoints.api.auth import container, require
from ordertrail.entrypoints.api.errors import ApiError
from ordertrail.services.access import Action
from ordertrail.services.ingest import BATCH_SIZE_MAX
from ordertrail.services.keys import Principal
from ordertrail.services.results import BatchSummary, IngestResult

router = APIRouter(prefix="/v1/events", tags=["events"])

EVENT_EXAMPLE = {
    "event_id": "oms-7f3c-0001",
    "type": "order.placed",
    "schema_version": 2,
    "tenant_id": "acme",
    "source": "oms",
    "occurred_at": "2026-11-02T09:15:00Z",
    "order_id": "SO-1001",
    "payload": {
        "customer_id": "CUST-42",
        "currency": "USD",
        "lines": [{"line_id": "1", "sku": "WIDGET-9", "quantity": 2, "unit_price_minor": 1999}],
    },
}


ENVELOPE_SCHEMA = Envelope.model_json_schema()


def _request_body(schema: dict[str, Any], *, example: Any) -> dict[str, Any]:
    # The body is read raw (so that even malformed JSON can be quarantined); this documents it.
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schema, "example": example}},
        }
    }


async def _quarantine_body(
    request: Request, principal: Principal, *, code: str, message: str
) -> str:
    """Keep the raw request body in quarantine with its reason; return the quarantine id."""
    text = (await request.body()).decode("utf-8", errors="replace")
    container(request).metrics.ingest_events.labels(source="api", outcome="quarantined").inc()
    quarantine_id: str = await run_in_threadpool(
        container(request).quarantine_unparseable,
        body=text,
        principal=principal,
        code=code,
        message=message,
    )
    return quarantine_id


async def _json_body(request: Request, principal: Principal) -> Any:
    """Read the body as JSON; a body that is not JSON is quarantined before the 422 answer."""
    raw = await request.body()
    try:
        return parse_strict_json(raw)
    except NotCanonicalJson as error:
        quarantine_id = await _quarantine_body(
            request,
            principal,
            code="malformed_json",
            message=f"the body is not valid JSON: {error}",
        )
        raise ApiError(
            422,
            "malformed_json",
            f"the request body is not valid JSON ({error}); it was kept in quarantine",
            extra={"quarantine_id": quarantine_id},
        ) from None


async def _ingest(
    app: Ordertrail,
    *,
    route: str,
    raw_events: list[Any],
    principal: Principal,
    traceparent: str | None,
    started: float,
) -> list[IngestResult]:
    """Ingest off the event loop; count the outcomes, time the batch and the whole request."""
    batch_started = time.perf_counter()
    results = await run_in_threadpool(
        app.ingest, raw_events=raw_events, principal=principal, traceparent=traceparent
    )
    done = time.perf_counter()
    trace_id = trace_id_of(traceparent)
    outcomes = [result.outcome.value for result in results]
    app.metrics.observe_ingest(
        source="api", outcomes=outcomes, duration_s=done - batch_started, trace_id=trace_id
    )
    app.metrics.observe_ingest_request(route=route, duration_s=done - started, trace_id=trace_id)
    return results


@router.post(
    "",
    summary="Ingest one event",
    openapi_extra=_request_body(ENVELOPE_SCHEMA, example=EVENT_EXAMPLE),
    responses={
        201: {"description": "Applied."},
        200: {"description": "A duplicate of an applied event: the original result."},
        409: {"description": "The event id was used before with a different payload."},
        422: {"description": "Invalid, or not allowed by the order lifecycle; quarantined."},
    },
)
async def post_event(
    request: Request,
    principal: Annotated[Principal, Depends(require(Action.EVENTS_WRITE))],
) -> JSONResponse:
    started = time.perf_counter()
    event = await _json_body(request, principal)
    app = container(request)
    with traced_request(
        app.tracing, method="POST", route="/v1/events", traceparent=request.headers.get(TRACEPARENT)
    ) as traceparent:
        [result] = await _ingest(
            app,
            route="/v1/events",
            raw_events=[event],
            principal=principal,
            traceparent=traceparent,
            started=started,
        )
    return JSONResponse(result.as_dict(), status_code=result.http_status)


@router.post(
    "/batch",
    summary="Ingest up to 1,000 events in one transaction",
    openapi_extra=_request_body(
        {"type": "array", "items": ENVELOPE_SCHEMA, "maxItems": BATCH_SIZE_MAX},
        example=[EVENT_EXAMPLE],
    ),
    responses={200: {"description": "One result per event, in order, and a summary."}},
)
async def post_batch(
    request: Request,
    principal: Annotated[Principal, Depends(require(Action.EVENTS_WRITE))],
) -> JSONResponse:
    started = time.perf_counter()
    payload = await _json_body(request, principal)
    events = payload.get("events") if isinstance(payload, dict) else payload
    if not isinstance(events, list):
        message = "a batch is a JSON array of events, or an object with an 'events' array"
        # Nothing a client sent is lost: a wrong-shaped body is kept like one that is not JSON.
        quarantine_id = await _quarantine_body(
            request, principal, code="invalid_batch", message=message
        )
        raise ApiError(422, "invalid_batch", message, extra={"quarantine_id": quarantine_id})
    if len(events) > BATCH_SIZE_MAX:
        raise ApiError(
            413,
            "batch_too_large",
            f"a batch holds at most {BATCH_SIZE_MAX} events; this one has {len(events)}",
        )
    app = container(request)
    # One span for the whole batch, never one per event.
    with traced_request(
        app.tracing,
        method="POST",
        route="/v1/events/batch",
        traceparent=request.headers.get(TRACEPARENT),
    ) as traceparent:
        results = await _ingest(
            app,
            route="/v1/events/batch",
            raw_events=events,
            principal=principal,
            traceparent=traceparent,
            started=started,
        )
    summary = BatchSummary.of(results)
    return JSONResponse(
        {
            "summary": {
                "applied": summary.applied,
                "duplicate": summary.duplicate,
                "rejected": summary.rejected,
                "conflict": summary.conflict,
            },
            "results": [r.as_dict() for r in results],
        }
    )
