"""Prometheus metrics: every series the app exports, on one registry per wired app.

Each `Ordertrail` owns a `Metrics` with its own `CollectorRegistry`, never the process-global one:
tests wire many apps in one process, and two apps must not count into each other. Entry points
and adapters increment the attributes below; the services never import prometheus (they report
through plain callbacks that bootstrap connects here).

Names follow the Prometheus conventions: an `ordertrail_` prefix, base units (seconds), `_total`
on counters. Labels are bounded sets (route templates, never raw paths; no tenant ids), because
every label value combination is a series Prometheus keeps.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterable, Sequence
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from ordertrail.services.messaging import Message

# Request-scale latencies: the ingest latency SLO threshold (0.25 s) is a bucket bound, so the
# SLO ratio is read straight from `le="0.25"`.
REQUEST_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Pipeline latency (ingest -> consumer effect) spans retries with backoff, so it reaches hours;
# the delivery -> revenue SLO threshold (60 s) is a bucket bound.
PIPELINE_BUCKETS_S = (
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0, 14400.0,
)  # fmt: skip
# Events per ingest call: a single event, or a batch of up to 1,000.
BATCH_SIZE_BUCKETS = (1, 10, 50, 100, 250, 500, 1000)

# The ingest outcome label per service outcome: a rejected event is always quarantined.
INGEST_OUTCOME_LABELS = {
    "applied": "applied",
    "duplicate": "duplicate",
    "rejected": "quarantined",
    "conflict": "conflict",
}


def trace_id_of(traceparent: str | None) -> str | None:
    """The 32-hex trace id of a W3C `traceparent` (version-traceid-spanid-flags), or None."""
    if not traceparent:
        return None
    parts = traceparent.split("-")
    if len(parts) != 4 or len(parts[1]) != 32 or parts[1] == "0" * 32:
        return None
    return parts[1]


def _exemplar(trace_id: str | None) -> dict[str, str] | None:
    return None if trace_id is None else {"trace_id": trace_id}


class Metrics:
    """The app's Prometheus series. Attribute names are an interface other modules rely on."""

    def __init__(self, *, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry

        # Carrier tracking (incremented by the carrier webhook and polling adapters).
        self.webhooks = Counter(
            "ordertrail_carrier_webhooks",
            "Carrier webhook deliveries, by provider and outcome (accepted|rejected|duplicate).",
            ["provider", "outcome"],
            registry=r,
        )
        self.unmapped_codes = Counter(
            "ordertrail_carrier_unmapped_codes",
            "Carrier status codes no mapping table knows; each became status unknown.",
            ["provider"],
            registry=r,
        )
        self.carrier_requests = Counter(
            "ordertrail_carrier_requests",
            "Requests to carrier tracking APIs, by provider and outcome (ok|throttled|error).",
            ["provider", "outcome"],
            registry=r,
        )
        self.carrier_throttled = Counter(
            "ordertrail_carrier_throttled",
            "HTTP 429 answers from carrier tracking APIs.",
            ["provider"],
            registry=r,
        )
        self.carrier_quota_remaining = Gauge(
            "ordertrail_carrier_quota_remaining",
            "Requests left in a carrier quota window, per provider and credential.",
            ["provider", "credential", "window"],
            registry=r,
        )
        self.alerts_raised = Counter(
            "ordertrail_alerts_raised",
            "Monitoring alerts raised, by kind and severity.",
            ["kind", "severity"],
            registry=r,
        )

        # Ingest.
        self.ingest_events = Counter(
            "ordertrail_ingest_events",
            "Events submitted to ingest, by source (channel) and outcome "
            "(applied|duplicate|quarantined|conflict); their sum is the events received.",
            ["source", "outcome"],
            registry=r,
        )
        self.ingest_request_duration = Histogram(
            "ordertrail_ingest_request_duration_seconds",
            "Time to answer one ingest request (one event or one batch), trace id as exemplar.",
            ["route"],
            buckets=REQUEST_BUCKETS_S,
            registry=r,
        )
        self.ingest_batch_duration = Histogram(
            "ordertrail_ingest_batch_duration_seconds",
            "Time the ingest transaction took for one batch of events, trace id as exemplar.",
            ["source"],
            buckets=REQUEST_BUCKETS_S,
            registry=r,
        )
        self.ingest_batch_size = Histogram(
            "ordertrail_ingest_batch_size_events",
            "Events per ingest call.",
            ["source"],
            buckets=BATCH_SIZE_BUCKETS,
            registry=r,
        )

        # HTTP API, per route template (never the raw path) and status class.
        self.http_request_duration = Histogram(
            "ordertrail_http_request_duration_seconds",
            "API response time by method, route template and status class.",
            ["method", "route", "status_class"],
            buckets=REQUEST_BUCKETS_S,
            registry=r,
        )

        # Pipeline: from the outbox row's creation to a consumer's handling of the message.
        self.pipeline_latency = Histogram(
            "ordertrail_pipeline_latency_seconds",
            "Time from ingest (outbox row created) to a consumer handling the message.",
            ["consumer", "event_type"],
            buckets=PIPELINE_BUCKETS_S,
            registry=r,
        )
        self.pipeline_handled = Counter(
            "ordertrail_pipeline_handled",
            "Messages a consumer handled, by consumer and outcome (ok|error).",
            ["consumer", "outcome"],
            registry=r,
        )

    def observe_ingest(
        self,
        *,
        source: str,
        outcomes: Sequence[str],
        duration_s: float,
        trace_id: str | None,
    ) -> None:
        """Count one ingest call's events by outcome and time the call."""
        # One increment per outcome, not per event: a batch holds up to 1,000 events.
        for outcome, count in Tally(outcomes).items():
            label = INGEST_OUTCOME_LABELS.get(outcome, outcome)
            self.ingest_events.labels(source=source, outcome=label).inc(count)
        self.ingest_batch_size.labels(source=source).observe(len(outcomes))
        self.ingest_batch_duration.labels(source=source).observe(
            duration_s, exemplar=_exemplar(trace_id)
        )

    def observe_ingest_request(
        self, *, route: str, duration_s: float, trace_id: str | None
    ) -> None:
        self.ingest_request_duration.labels(route=route).observe(
            duration_s, exemplar=_exemplar(trace_id)
        )

    def handled(self, *, consumer: str, message: Message, handled_at: datetime, ok: bool) -> None:
        """The consumer loop's observer: count the run and, when it committed, its latency.

        Latency runs from the message's creation (the ingest that wrote its outbox row) to the
        consumer's commit, so it includes relay, broker and retry time: for consumer "revenue"
        and event type "shipment.delivered" it is the delivery -> revenue latency.
        """
        self.pipeline_handled.labels(consumer=consumer, outcome="ok" if ok else "error").inc()
        if not ok:
            return
        latency_s = max(0.0, (handled_at - message.created_at).total_seconds())
        self.pipeline_latency.labels(consumer=consumer, event_type=message.event_type).observe(
            latency_s, exemplar=_exemplar(trace_id_of(message.headers.get("traceparent")))
        )

    def register(self, collectors: Iterable[Collector]) -> None:
        """Add scrape-time collectors (database gauges) to this app's registry."""
        for collector in collectors:
            self.registry.register(collector)

    def exposition(self, *, accept: str | None) -> tuple[bytes, str]:
        """Render every series in the format the Accept header asks for: (body, content type).

        Prometheus asks for OpenMetrics when it can; only that format carries exemplars. Without
        it (curl, older scrapers) the classic text format 0.0.4 is the answer.
        """
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type
