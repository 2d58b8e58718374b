"""The API timing middleware on its own: templates, status classes, and a handler that raises."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from ordertrail.adapters.metrics import Metrics
from ordertrail.entrypoints.api.request_metrics import RequestMetrics
from tests.metrics.support import parse, value


def timed_app(metrics: Metrics) -> FastAPI:
    app = FastAPI()

    @app.get("/items/{item_id}")
    def item(item_id: str) -> dict[str, str]:
        if item_id == "boom":
            raise RuntimeError("the handler failed")
        return {"item_id": item_id}

    app.add_middleware(RequestMetrics, metrics=metrics)
    return app


def counts(metrics: Metrics) -> dict[tuple[str, str, str], float]:
    body, _ = metrics.exposition(accept=None)
    return {
        (s.labels["method"], s.labels["route"], s.labels["status_class"]): s.value
        for s in parse(body.decode(), openmetrics=False)
        if s.name == "ordertrail_http_request_duration_seconds_count"
    }


def test_a_handler_that_raises_is_recorded_as_5xx_under_its_route_template():
    metrics = Metrics()
    with TestClient(timed_app(metrics), raise_server_exceptions=False) as client:
        assert client.get("/items/1").status_code == 200
        assert client.get("/items/2").status_code == 200
        assert client.get("/items/boom").status_code == 500
        assert client.post("/items/3").status_code == 405
        assert client.get("/elsewhere").status_code == 404
    assert counts(metrics) == {
        ("GET", "/items/{item_id}", "2xx"): 2,
        ("GET", "/items/{item_id}", "5xx"): 1,
        ("POST", "/items/{item_id}", "4xx"): 1,
        ("GET", "unmatched", "4xx"): 1,
    }


def test_the_time_of_a_request_is_observed_once():
    metrics = Metrics()
    with TestClient(timed_app(metrics)) as client:
        client.get("/items/1")
    body, _ = metrics.exposition(accept=None)
    found = parse(body.decode(), openmetrics=False)
    assert value(found, "ordertrail_http_request_duration_seconds_bucket", le="+Inf") == 1
