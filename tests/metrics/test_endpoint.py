"""GET /metrics: operator keys only; plain text by default, OpenMetrics with exemplars if asked."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from ordertrail.bootstrap import Ordertrail, bootstrap
from tests.builders import placed
from tests.conftest import make_principal
from tests.metrics.conftest import Headers
from tests.metrics.support import OPENMETRICS, TRACE_ID, TRACEPARENT, parse, value


def test_metrics_without_a_key_answer_401_with_a_bearer_challenge(client: TestClient):
    response = client.get("/metrics")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["error"]["code"] == "unauthenticated"


@pytest.mark.parametrize("role", ["admin", "integration", "viewer", "auditor"])
def test_a_tenant_key_without_the_operator_role_gets_403(
    client: TestClient, app: Ordertrail, role: str
):
    _, token = make_principal(app, tenant_id="acme", roles=(role,))
    response = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert "metrics:read" in response.json()["error"]["message"]


def test_the_default_answer_is_the_classic_text_format_without_exemplars(
    client: TestClient, operator: Headers, integration: Headers
):
    client.post("/v1/events", json=placed(), headers=integration | {"traceparent": TRACEPARENT})
    response = client.get("/metrics", headers=operator)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "# TYPE ordertrail_ingest_events_total counter" in response.text
    assert TRACE_ID not in response.text
    found = parse(response.text, openmetrics=False)
    assert value(found, "ordertrail_ingest_events_total", outcome="applied", source="api") == 1


def test_openmetrics_when_asked_carries_the_requests_trace_id_as_exemplar(
    client: TestClient, operator: Headers, integration: Headers
):
    client.post("/v1/events", json=placed(), headers=integration | {"traceparent": TRACEPARENT})
    # What Prometheus 3 sends: OpenMetrics first, text as the fallback.
    accept = f"{OPENMETRICS};q=0.6,text/plain;version=0.0.4;q=0.3,*/*;q=0.1"
    response = client.get("/metrics", headers=operator | {"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.endswith("# EOF\n")
    found = parse(response.text, openmetrics=True)
    exemplars = {
        s.name: s.exemplar.labels["trace_id"]
        for s in found
        if s.exemplar is not None and s.name.startswith("ordertrail_ingest_")
    }
    assert exemplars == {
        "ordertrail_ingest_request_duration_seconds_bucket": TRACE_ID,
        "ordertrail_ingest_batch_duration_seconds_bucket": TRACE_ID,
    }


def test_two_apps_in_one_process_count_apart(app: Ordertrail):
    other = bootstrap(settings=app.settings, engine=app.engine, clock=app.clock, migrate=False)
    app.metrics.webhooks.labels(provider="shippo", outcome="accepted").inc()
    assert app.metrics.registry is not other.metrics.registry
    body, _ = other.metrics.exposition(accept=None)
    assert (
        value(parse(body.decode(), openmetrics=False), "ordertrail_carrier_webhooks_total") is None
    )


@pytest.mark.parametrize(
    ("accept", "content_type"),
    [
        (None, "text/plain; version=0.0.4"),
        ("*/*", "text/plain; version=0.0.4"),
        ("text/plain", "text/plain; version=0.0.4"),
        (OPENMETRICS, "application/openmetrics-text; version=1.0.0"),
        # Prometheus 3's default: protobuf first, which this endpoint does not speak.
        (
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
            "encoding=delimited;q=0.5,application/openmetrics-text;version=1.0.0;q=0.4,"
            "text/plain;version=0.0.4;q=0.2,*/*;q=0.1",
            "application/openmetrics-text; version=1.0.0",
        ),
    ],
)
def test_the_format_follows_the_accept_header(
    app: Ordertrail, accept: str | None, content_type: str
):
    _, answered = app.metrics.exposition(accept=accept)
    assert answered.startswith(content_type)
