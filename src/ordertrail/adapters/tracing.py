"""OpenTelemetry glue: one trace from the API request through the outbox, relay and consumers.

The services never see OpenTelemetry. Ingest gets the request's W3C `traceparent` as a plain
string and stores it on every outbox row of the request; the relay sends it on as the message's
`traceparent` header; a consumer's `process` span continues from that header. Spans follow the
OpenTelemetry messaging semantic conventions: the header is the message's creation context, the
publish span links to it (and is its child when a batch came from one request), and the process
span is its child.

Tracing is off unless bootstrap is given a TracerProvider or the settings name an exporter; off,
nothing here is wired in and no span is started. No global provider is ever set.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.trace import Link, SpanKind, Tracer, TracerProvider
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from ordertrail import __version__
from ordertrail.services.messaging import Broker, Delivery, Message

TRACEPARENT = "traceparent"
# The exporters OTEL_TRACES_EXPORTER may name; "none" (the default here) switches tracing off.
EXPORTERS = ("none", "console", "otlp")
# A relay batch holds up to 10,000 messages; its publish span links to at most this many of their
# creation contexts (the SDK's own default link limit).
PUBLISH_LINKS_MAX = 128
# messaging.system by broker URL scheme.
MESSAGING_SYSTEMS = {
    "db": "ordertrail-db",
    "amqp": "rabbitmq",
    "amqps": "rabbitmq",
    "kafka": "kafka",
}

_propagator = TraceContextTextMapPropagator()


def _context_of(traceparent: str | None) -> Context | None:
    """The remote context a `traceparent` value names, or None when it names none."""
    if not traceparent:
        return None
    context = _propagator.extract({TRACEPARENT: traceparent})
    if not trace.get_current_span(context).get_span_context().is_valid:
        return None
    return context


def _traceparent_of(context: Context | None = None) -> str | None:
    carrier: dict[str, str] = {}
    _propagator.inject(carrier, context=context)
    return carrier.get(TRACEPARENT)


def valid_traceparent(value: str | None) -> str | None:
    """Return `value` normalised if it is a valid W3C traceparent, else None."""
    context = _context_of(value)
    return None if context is None else _traceparent_of(context)


def messaging_system_for(broker_url: str) -> str:
    scheme = broker_url.partition("://")[0].lower()
    return MESSAGING_SYSTEMS.get(scheme, scheme)


def _exporter(name: str) -> SpanExporter:
    if name == "console":
        return ConsoleSpanExporter()
    try:
        # An optional package: only deployments that ship spans over OTLP install it.
        module = importlib.import_module("opentelemetry.exporter.otlp.proto.http.trace_exporter")
    except ImportError:
        raise ValueError(
            "OTEL_TRACES_EXPORTER=otlp needs the opentelemetry-exporter-otlp-proto-http package"
        ) from None
    exporter: SpanExporter = module.OTLPSpanExporter()
    return exporter


def make_tracer_provider(*, exporter: str) -> SdkTracerProvider | None:
    """Build the SDK provider the settings ask for, or None when tracing is off.

    The SDK reads the other OTEL_* variables itself (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES,
    OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_BSP_*, OTEL_TRACES_SAMPLER).
    """
    if exporter not in EXPORTERS:
        raise ValueError(f"OTEL_TRACES_EXPORTER must be one of {', '.join(EXPORTERS)}")
    if exporter == "none":
        return None
    provider = SdkTracerProvider()
    provider.add_span_processor(BatchSpanProcessor(_exporter(exporter)))
    return provider


class Tracing:
    """Starts the pipeline's spans on one provider; implements the consumer's DeliveryTracing."""

    def __init__(self, *, provider: TracerProvider, messaging_system: str) -> None:
        self._provider = provider
        self._tracer: Tracer = provider.get_tracer("ordertrail", __version__)
        self._system = messaging_system

    @contextmanager
    def request(self, *, method: str, route: str, traceparent: str | None) -> Iterator[str | None]:
        """Span an API request, continuing the caller's `traceparent`; yield the span's own."""
        with self._tracer.start_as_current_span(
            f"{method} {route}",
            context=_context_of(traceparent) or Context(),
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "http.route": route},
        ):
            yield _traceparent_of()

    @contextmanager
    def publish(self, *, messages: Sequence[Message]) -> Iterator[None]:
        """Span one confirmed publish of a batch of one lane."""
        headers = dict.fromkeys(m.headers.get(TRACEPARENT) for m in messages)
        headers.pop(None, None)
        contexts = [c for h in list(headers)[:PUBLISH_LINKS_MAX] if (c := _context_of(h))]
        # A batch from a single request continues that request's trace; a mixed one starts its
        # own and links to every request it carries, as the messaging conventions do for batches.
        only = contexts[0] if len(contexts) == 1 and len(headers) == 1 else None
        lane = messages[0].lane if messages else "none"
        attributes: dict[str, Any] = {
            "messaging.system": self._system,
            "messaging.destination.name": lane,
            "messaging.operation.name": "publish",
            "messaging.operation.type": "send",
        }
        if len(messages) == 1:
            attributes["messaging.message.id"] = messages[0].message_id
        else:
            attributes["messaging.batch.message_count"] = len(messages)
        links = [Link(trace.get_current_span(c).get_span_context()) for c in contexts]
        with self._tracer.start_as_current_span(
            f"ordertrail.{lane} publish",
            context=only or Context(),
            kind=SpanKind.PRODUCER,
            attributes=attributes,
            links=links,
        ):
            yield

    def process(self, *, message: Message) -> AbstractContextManager[object]:
        """Span the processing of a delivery, as a child of the message's creation context."""
        return self._tracer.start_as_current_span(
            f"ordertrail.{message.lane} process",
            context=_context_of(message.headers.get(TRACEPARENT)) or Context(),
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": self._system,
                "messaging.destination.name": message.lane,
                "messaging.operation.name": "process",
                "messaging.operation.type": "process",
                "messaging.message.id": message.message_id,
            },
        )

    def handle(self, *, consumer: str, message: Message) -> AbstractContextManager[object]:
        """Span one consumer's handler, inside the current `process` span."""
        return self._tracer.start_as_current_span(
            f"{consumer} handle",
            kind=SpanKind.INTERNAL,
            attributes={
                "messaging.consumer.group.name": consumer,
                "messaging.message.id": message.message_id,
            },
        )

    def flush(self) -> None:
        """Export what the provider still holds (an SDK provider batches its spans)."""
        if isinstance(self._provider, SdkTracerProvider):
            self._provider.force_flush()


class TracingBroker:
    """A broker whose every publish (relay rounds, dead-letter replays) is a producer span."""

    def __init__(self, broker: Broker, *, tracing: Tracing) -> None:
        self._broker = broker
        self._tracing = tracing

    async def publish(self, *, messages: Sequence[Message]) -> None:
        with self._tracing.publish(messages=messages):
            await self._broker.publish(messages=messages)

    async def receive(self, *, lane: str, limit: int) -> list[Delivery]:
        return await self._broker.receive(lane=lane, limit=limit)

    async def ack(self, *, delivery: Delivery) -> None:
        await self._broker.ack(delivery=delivery)

    async def retry(self, *, delivery: Delivery, error: str, delay_s: float) -> None:
        await self._broker.retry(delivery=delivery, error=error, delay_s=delay_s)

    async def dead_letter(self, *, delivery: Delivery, consumer: str, error: str) -> None:
        await self._broker.dead_letter(delivery=delivery, consumer=consumer, error=error)

    async def close(self) -> None:
        await self._broker.close()


@contextmanager
def traced_request(
    tracing: Tracing | None, *, method: str, route: str, traceparent: str | None
) -> Iterator[str | None]:
    """Yield the traceparent ingest should store for a request: its span's, or the caller's."""
    if tracing is None:
        # Tracing off: no span, but a caller's valid trace context is still carried through.
        yield valid_traceparent(traceparent) if traceparent else None
        return
    with tracing.request(method=method, route=route, traceparent=traceparent) as own:
        yield own
