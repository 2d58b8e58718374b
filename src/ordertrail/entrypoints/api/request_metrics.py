"""API response time per endpoint, as ASGI middleware feeding `Metrics.http_request_duration`.

The route label is the matched route's template (`/v1/orders/{order_id}`), never the raw path:
every distinct label value is a series Prometheus keeps, and raw paths carry order ids without
bound. A request no route matched is labelled "unmatched" for the same reason.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ordertrail.adapters.metrics import Metrics

UNMATCHED = "unmatched"


def route_template(scope: Scope) -> str:
    """The template of the route the router matched for this request, or "unmatched"."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return template if isinstance(template, str) and template else UNMATCHED


class RequestMetrics:
    """Times every HTTP request and records it by method, route template and status class."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets when the app raises before answering

        async def observing_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, observing_send)
        finally:
            self.metrics.http_request_duration.labels(
                method=scope["method"],
                route=route_template(scope),
                status_class=f"{status // 100}xx",
            ).observe(time.perf_counter() - started)
