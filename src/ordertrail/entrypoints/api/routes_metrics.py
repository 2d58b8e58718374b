"""`GET /metrics`: the Prometheus scrape endpoint.

It needs a key whose role allows `metrics:read`: the series count every tenant's traffic (without
tenant labels), so they are for the deployment's operators, not for a tenant's users. Prometheus
asks for OpenMetrics in its Accept header; only that format carries the exemplars (trace ids) on
the latency histograms, so the answer follows the header and is the classic text format otherwise.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool

from ordertrail.entrypoints.api.auth import container, require
from ordertrail.services.access import Action
from ordertrail.services.keys import Principal

router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    summary="Prometheus metrics (text format 0.0.4, or OpenMetrics when the Accept header asks)",
    response_class=Response,
    responses={
        200: {
            "description": "Every series; see docs/operations/README.md.",
            "content": {"text/plain": {}, "application/openmetrics-text": {}},
        }
    },
)
async def get_metrics(
    request: Request,
    _principal: Annotated[Principal, Depends(require(Action.METRICS_READ))],
) -> Response:
    # The database gauges query at scrape time: off the event loop.
    body, content_type = await run_in_threadpool(
        container(request).metrics.exposition, accept=request.headers.get("accept")
    )
    return Response(content=body, media_type=None, headers={"Content-Type": content_type})
