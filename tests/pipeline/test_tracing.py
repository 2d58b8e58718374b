"""One trace joins an event's API request, its outbox row, the relay's publish and its consumers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy import Engine, select

from ordertrail.adapters.clock import FixedClock
from ordertrail.adapters.db.engine import make_engine, sqlite_url
from ordertrail.adapters.db.migrate import upgrade
from ordertrail.adapters.db.tables import outbox
from ordertrail.bootstrap import Ordertrail, Settings, bootstrap
from ordertrail.entrypoints.api import create_app
from ordertrail.services.milestone_log import CONSUMER as MILESTONE_LOG
from ordertrail.services.relay import RelayConfig, relay_round
from tests.builders import placed
from tests.conftest import make_principal
from tests.pipeline.handlers import RecordingHandler
from tests.pipeline.support import FAST, consume, effects, run
from tests.pipeline.test_embedded import wait_until

CALLER_TRACE_ID = 0x0AF7651916CD43DD8448EB211C80319C
CALLER_SPAN_ID = 0xB7AD6B7169203331
CALLER_TRACEPARENT = f"00-{CALLER_TRACE_ID:032x}-{CALLER_SPAN_ID:016x}-01"


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(sqlite_url(tmp_path / "ordertrail.db"))
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> Iterator[TracerProvider]:
    """An SDK provider for this test only: handed to bootstrap, never installed globally."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider
    provider.shutdown()


def traced_app(
    engine: Engine, clock: FixedClock, recorder: RecordingHandler, provider: TracerProvider | None
) -> Ordertrail:
    return bootstrap(
        settings=Settings(database_url=str(engine.url), **FAST),
        engine=engine,
        clock=clock,
        migrate=False,
        handlers=[recorder],
        tracer_provider=provider,
    )


def post_event(app: Ordertrail, *, traceparent: str | None, embedded: bool = False) -> str:
    """POST one critical event through the API; return its message id."""
    event = placed()
    _, token = make_principal(app)
    headers = {"Authorization": f"Bearer {token}"}
    if traceparent is not None:
        headers["traceparent"] = traceparent
    with TestClient(create_app(app, embedded_workers=embedded)) as client:
        response = client.post("/v1/events", json=event, headers=headers)
        assert response.status_code == 201, response.text
        if embedded:
            wait_until(lambda: len(effects(app.engine)) == 1, what="the recorder's effect")
    return f"acme/{event['event_id']}"


def stored_traceparents(engine: Engine) -> list[str | None]:
    with engine.connect() as connection:
        return list(connection.execute(select(outbox.c.traceparent)).scalars())


def traceparent_of(span: ReadableSpan) -> str:
    context = span.get_span_context()
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"


def one(spans: list[ReadableSpan], name: str) -> ReadableSpan:
    [span] = [s for s in spans if s.name == name]
    return span


def assert_one_trace(spans: list[ReadableSpan], engine: Engine, *, message_id: str) -> ReadableSpan:
    """Check the whole chain of spans and the stored context; return the request span."""
    request = one(spans, "POST /v1/events")
    publish = one(spans, "ordertrail.critical publish")
    process = one(spans, "ordertrail.critical process")
    handles = [one(spans, "recorder handle"), one(spans, f"{MILESTONE_LOG} handle")]
    trace_id = request.context.trace_id
    assert {s.context.trace_id for s in [request, publish, process, *handles]} == {trace_id}
    assert stored_traceparents(engine) == [traceparent_of(request)]

    assert request.kind is SpanKind.SERVER
    assert publish.kind is SpanKind.PRODUCER
    assert publish.parent is not None
    assert publish.parent.span_id == request.context.span_id
    assert [link.context.span_id for link in publish.links] == [request.context.span_id]
    assert publish.attributes is not None
    assert publish.attributes["messaging.system"] == "ordertrail-db"
    assert publish.attributes["messaging.destination.name"] == "critical"
    assert publish.attributes["messaging.message.id"] == message_id
    assert process.kind is SpanKind.CONSUMER
    assert process.parent is not None
    assert process.parent.span_id == request.context.span_id
    for handle in handles:
        assert handle.parent is not None
        assert handle.parent.span_id == process.context.span_id
    return request


def relay_and_consume(app: Ordertrail) -> None:
    counts = run(
        relay_round(
            outbox=app.pipeline.outbox,
            publisher=app.pipeline.broker,
            clock=app.clock,
            config=RelayConfig(),
        )
    )
    assert counts["critical"] == 1
    assert consume(app).handled == 1


def test_an_event_without_trace_context_starts_one_trace_to_its_consumers(
    sqlite_engine, clock, recorder, provider, exporter
):
    app = traced_app(sqlite_engine, clock, recorder, provider)
    message_id = post_event(app, traceparent=None)
    relay_and_consume(app)
    spans = list(exporter.get_finished_spans())
    request = assert_one_trace(spans, sqlite_engine, message_id=message_id)
    assert request.parent is None


def test_a_callers_traceparent_is_continued_through_the_pipeline(
    sqlite_engine, clock, recorder, provider, exporter
):
    app = traced_app(sqlite_engine, clock, recorder, provider)
    message_id = post_event(app, traceparent=CALLER_TRACEPARENT)
    relay_and_consume(app)
    spans = list(exporter.get_finished_spans())
    request = assert_one_trace(spans, sqlite_engine, message_id=message_id)
    assert request.context.trace_id == CALLER_TRACE_ID
    assert request.parent is not None
    assert request.parent.span_id == CALLER_SPAN_ID
    assert request.parent.is_remote


def test_the_embedded_workers_continue_the_trace_under_serve(
    sqlite_engine, clock, recorder, provider, exporter
):
    app = traced_app(sqlite_engine, clock, recorder, provider)
    message_id = post_event(app, traceparent=CALLER_TRACEPARENT, embedded=True)
    spans = list(exporter.get_finished_spans())
    request = assert_one_trace(spans, sqlite_engine, message_id=message_id)
    assert request.context.trace_id == CALLER_TRACE_ID


@pytest.mark.parametrize(
    ("incoming", "stored"),
    [(None, None), (CALLER_TRACEPARENT, CALLER_TRACEPARENT), ("00-not-a-trace", None)],
)
def test_without_tracing_the_pipeline_works_and_a_valid_callers_context_is_still_carried(
    sqlite_engine, clock, recorder, incoming, stored
):
    app = traced_app(sqlite_engine, clock, recorder, None)
    assert app.tracing is None
    post_event(app, traceparent=incoming)
    assert stored_traceparents(sqlite_engine) == [stored]
    relay_and_consume(app)
    assert len(effects(sqlite_engine)) == 1
