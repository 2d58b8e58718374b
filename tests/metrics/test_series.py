"""Every series the app declares appears once the app has been exercised end to end.

These run on SQLite; test_collectors.py runs the database gauges on both databases.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ordertrail.adapters.clock import FixedClock
from ordertrail.bootstrap import Ordertrail
from ordertrail.entrypoints.api import create_app
from ordertrail.services.messaging import message_id_of
from tests.builders import delivered, dispatched, placed, qty
from tests.conftest import make_principal
from tests.metrics.support import (
    TRACEPARENT,
    add_stagnant_shipment,
    relay_and_consume,
    samples,
    total,
    value,
)
from tests.pipeline.handlers import RecordingHandler
from tests.pipeline.support import pipeline_app


@pytest.fixture
def recorder(clock: FixedClock) -> RecordingHandler:
    return RecordingHandler(clock=clock)


@pytest.fixture
def mapp(sqlite_engine: Engine, clock: FixedClock, recorder: RecordingHandler) -> Ordertrail:
    """The app with a recording consumer; one failed attempt dead-letters a message."""
    return pipeline_app(sqlite_engine, clock, recorder, retry_attempts_max=1)


@pytest.fixture
def client(mapp: Ordertrail) -> Iterator[TestClient]:
    with TestClient(create_app(mapp)) as test_client:
        yield test_client


def exercise(app: Ordertrail, client: TestClient, recorder: RecordingHandler) -> None:
    """Drive every path that records a series: the API, the pipeline, the carrier adapters."""
    _, token = make_principal(app)
    headers = {"Authorization": f"Bearer {token}", "traceparent": TRACEPARENT}
    order = placed(order_id="SO-1")
    assert client.post("/v1/events", json=order, headers=headers).status_code == 201
    assert client.post("/v1/events", json=order, headers=headers).status_code == 200
    assert client.post("/v1/events", json=order | {"type": "x"}, headers=headers).status_code in (
        409,
        422,
    )
    assert client.post("/v1/events", content=b"{", headers=headers).status_code == 422
    batch = [dispatched("S1", qty(l1=2), minutes=1), delivered("S1", minutes=2)]
    assert client.post("/v1/events/batch", json=batch, headers=headers).status_code == 200
    assert client.get("/v1/orders/SO-1", headers=headers).status_code == 200
    # The recorder fails: with one attempt allowed, its messages are dead-lettered.
    recorder.fail_always = True
    relay_and_consume(app)
    recorder.fail_always = False
    # The carrier adapters' counters, through the agreed attributes.
    m = app.metrics
    m.webhooks.labels(provider="aftership", outcome="accepted").inc()
    m.unmapped_codes.labels(provider="aftership").inc()
    m.carrier_requests.labels(provider="ups", outcome="throttled").inc()
    m.carrier_throttled.labels(provider="ups").inc()
    m.carrier_quota_remaining.labels(provider="ups", credential="main", window="day").set(99)
    m.alerts_raised.labels(kind="shipment_stagnant", severity="warning").inc()
    add_stagnant_shipment(app.engine, shipment_id="S9", carrier="dhl", status="in_transit")


def test_every_declared_series_has_samples_after_the_app_is_exercised(
    mapp: Ordertrail, client: TestClient, recorder: RecordingHandler
):
    exercise(mapp, client, recorder)
    declared = {family.name for family in mapp.metrics.registry.collect()}
    found = samples(mapp)
    suffixes = ("", "_total", "_bucket", "_count", "_sum")
    silent = {
        name for name in declared if not {name + x for x in suffixes} & {s.name for s in found}
    }
    assert not silent
    assert len(declared) >= 20


def test_ingest_counts_each_outcome_by_source(
    mapp: Ordertrail, client: TestClient, recorder: RecordingHandler
):
    exercise(mapp, client, recorder)
    found = samples(mapp)
    counts = {
        outcome: value(found, "ordertrail_ingest_events_total", source="api", outcome=outcome)
        for outcome in ("applied", "duplicate", "quarantined")
    }
    # Applied: the order, its dispatch and its delivery. Quarantined: the malformed body, plus
    # the unknown type when it is rejected rather than a conflict.
    assert counts["applied"] == 3
    assert counts["duplicate"] == 1
    assert (counts["quarantined"] or 0) + (
        value(found, "ordertrail_ingest_events_total", source="api", outcome="conflict") or 0
    ) == 2
    assert value(found, "ordertrail_ingest_batch_size_events_count", source="api") == 4
    assert value(found, "ordertrail_ingest_request_duration_seconds_count", route="/v1/events") == 3


def test_pipeline_latency_runs_from_ingest_to_the_consumers_commit(
    mapp: Ordertrail, client: TestClient, recorder: RecordingHandler, clock: FixedClock
):
    _, token = make_principal(mapp)
    headers = {"Authorization": f"Bearer {token}", "traceparent": TRACEPARENT}
    client.post("/v1/events", json=placed(), headers=headers)
    client.post("/v1/events", json=dispatched("S1", qty(l1=2), minutes=1), headers=headers)
    client.post("/v1/events", json=delivered("S1", minutes=2), headers=headers)
    clock.advance(timedelta(seconds=42))
    relay_and_consume(mapp)
    found = samples(mapp)
    # The revenue consumer's latency on deliveries is the delivery -> revenue latency.
    labels = {"consumer": "revenue", "event_type": "shipment.delivered"}
    assert value(found, "ordertrail_pipeline_latency_seconds_count", **labels) == 1
    assert value(found, "ordertrail_pipeline_latency_seconds_sum", **labels) == 42
    # 42 s is inside the 60 s delivery -> revenue objective's bucket, outside the 30 s one.
    assert value(found, "ordertrail_pipeline_latency_seconds_bucket", le="60.0", **labels) == 1
    assert value(found, "ordertrail_pipeline_latency_seconds_bucket", le="30.0", **labels) == 0
    exemplars = [
        s.exemplar.labels["trace_id"]
        for s in found
        if s.name == "ordertrail_pipeline_latency_seconds_bucket" and s.exemplar is not None
    ]
    assert exemplars
    assert set(exemplars) == {TRACEPARENT.split("-")[1]}
    recorded = {"consumer": "recorder", "event_type": "shipment.delivered"}
    assert value(found, "ordertrail_pipeline_latency_seconds_sum", **recorded) == 42
    assert total(found, "ordertrail_pipeline_handled_total", consumer="recorder", outcome="ok") == 3


def test_a_failed_run_counts_as_an_error_and_a_redelivery_the_inbox_skips_is_not_counted(
    sqlite_engine: Engine, clock: FixedClock, recorder: RecordingHandler
):
    app = pipeline_app(
        sqlite_engine, clock, recorder, retry_attempts_max=3, retry_backoff_initial_s=1
    )
    principal, _ = make_principal(app)
    order = placed()
    app.ingest(raw_events=[order], principal=principal)
    recorder.failures[message_id_of(tenant_id="acme", event_id=order["event_id"])] = 1
    relay_and_consume(app)  # the milestone log commits, the recorder fails
    clock.advance(timedelta(minutes=1))  # past the backoff
    relay_and_consume(app)  # the milestone log's inbox skips it, the recorder commits
    found = samples(app)
    handled = "ordertrail_pipeline_handled_total"
    assert value(found, handled, consumer="recorder", outcome="error") == 1
    assert value(found, handled, consumer="recorder", outcome="ok") == 1
    assert value(found, handled, consumer="milestone-log", outcome="ok") == 1
    assert value(found, handled, consumer="milestone-log", outcome="error") is None


def test_the_route_label_is_the_template_never_the_raw_path(mapp: Ordertrail, client: TestClient):
    _, token = make_principal(mapp)
    headers = {"Authorization": f"Bearer {token}"}
    for order_id in ("SO-1", "SO-2", "SO-3"):
        client.get(f"/v1/orders/{order_id}", headers=headers)
    client.get("/no/such/path/SO-4", headers=headers)
    found = [s for s in samples(mapp) if s.name.startswith("ordertrail_http_request_duration")]
    routes = {s.labels["route"] for s in found}
    assert routes == {"/v1/orders/{order_id}", "unmatched"}
    assert not any("SO-" in label for s in found for label in s.labels.values())
    assert (
        value(
            found,
            "ordertrail_http_request_duration_seconds_count",
            method="GET",
            route="/v1/orders/{order_id}",
            status_class="4xx",
        )
        == 3
    )
