"""The HTTP API (FastAPI). `create_app` takes a wired Ordertrail; nothing is built at import."""

from __future__ import annotations

from fastapi import FastAPI

from ordertrail import __version__
from ordertrail.bootstrap import Ordertrail
from ordertrail.entrypoints.api import (
    routes_events,
    routes_meta,
    routes_orders,
    routes_quarantine,
)
from ordertrail.entrypoints.api.errors import install_error_handlers
from ordertrail.entrypoints.api.limits import BodySizeLimit

DESCRIPTION = """
Ordertrail keeps every order's tracked state with its append-only history and answers
"where is this order, and why". Send lifecycle events from order management, fulfilment,
carriers and billing; read orders, timelines and the quarantine of rejected events.

Every endpoint but `/healthz` needs `Authorization: Bearer <key>`; keys are bound to a tenant
and roles (`ordertrail keys create --tenant T --role R`). Errors share one shape:
`{"error": {"code": "...", "message": "...", "fields": [...]}}`.
"""


def create_app(ordertrail: Ordertrail) -> FastAPI:
    app = FastAPI(
        title="Ordertrail",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/openapi.json",
    )
    app.state.ordertrail = ordertrail
    install_error_handlers(app)
    app.include_router(routes_meta.router)
    app.include_router(routes_events.router)
    app.include_router(routes_orders.router)
    app.include_router(routes_quarantine.router)
    app.add_middleware(BodySizeLimit, max_bytes=ordertrail.settings.request_body_max_bytes)
    return app
