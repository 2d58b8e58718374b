"""The HTTP API (FastAPI). `create_app` takes a wired Ordertrail; nothing is built at import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from ordertrail import __version__
from ordertrail.bootstrap import Ordertrail
from ordertrail.entrypoints.api import (
    routes_approvals,
    routes_audit,
    routes_carriers,
    routes_catalog,
    routes_controls,
    routes_disputes,
    routes_dlq,
    routes_events,
    routes_journal,
    routes_ledger,
    routes_meta,
    routes_metrics,
    routes_monitoring,
    routes_orders,
    routes_quarantine,
    routes_reports,
    routes_revenue,
    routes_sources,
)
from ordertrail.entrypoints.api.errors import install_error_handlers
from ordertrail.entrypoints.api.limits import BodySizeLimit
from ordertrail.entrypoints.api.request_metrics import RequestMetrics
from ordertrail.entrypoints.workers.embedded import EmbeddedPipeline

DESCRIPTION = """
Ordertrail keeps every order's tracked state with its append-only history and answers
"where is this order, and why". Send lifecycle events from order management, fulfilment,
carriers and billing; read orders, timelines and the quarantine of rejected events.

Every endpoint but `/healthz` needs `Authorization: Bearer <key>`; keys are bound to a tenant
and roles (`ordertrail keys create --tenant T --role R`). Errors share one shape:
`{"error": {"code": "...", "message": "...", "fields": [...]}}`.
"""


def create_app(ordertrail: Ordertrail, *, embedded_workers: bool = False) -> FastAPI:
    """Build the API; with `embedded_workers` its lifespan also runs the relay and workers."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if not embedded_workers:
            yield
            return
        pipeline = EmbeddedPipeline(ordertrail)
        await pipeline.start()
        try:
            yield
        finally:
            await pipeline.stop()

    app = FastAPI(
        title="Ordertrail",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        lifespan=lifespan,
    )
    app.state.ordertrail = ordertrail
    install_error_handlers(app)
    app.include_router(routes_meta.router)
    app.include_router(routes_events.router)
    app.include_router(routes_orders.router)
    app.include_router(routes_quarantine.router)
    app.include_router(routes_dlq.router)
    app.include_router(routes_carriers.router)
    app.include_router(routes_revenue.router)
    app.include_router(routes_metrics.router)
    app.include_router(routes_monitoring.router)
    app.include_router(routes_reports.router)
    app.include_router(routes_journal.router)
    app.include_router(routes_catalog.router)
    app.include_router(routes_ledger.router)
    app.include_router(routes_sources.router)
    app.include_router(routes_audit.router)
    app.include_router(routes_approvals.router)
    app.include_router(routes_controls.router)
    app.include_router(routes_disputes.router)
    app.add_middleware(BodySizeLimit, max_bytes=ordertrail.settings.request_body_max_bytes)
    # Outermost, so the time and status of every answer count, the body limit's 413 included.
    app.add_middleware(RequestMetrics, metrics=ordertrail.metrics)
    return app
