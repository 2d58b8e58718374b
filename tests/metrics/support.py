"""Helpers for metrics tests: scrape an app's registry or its /metrics endpoint, read samples."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
from prometheus_client.parser import text_string_to_metric_families as parse_text
from prometheus_client.samples import Sample
from sqlalchemy import Engine, insert

from ordertrail.adapters.db.tables_carriers import shipments
from ordertrail.adapters.db.tables_monitoring import alerts
from ordertrail.bootstrap import Ordertrail
from ordertrail.domain.monitoring.alerts import AlertKind
from ordertrail.services.consumer import ConsumeReport
from ordertrail.services.relay import RelayConfig, relay_round
from tests.conftest import NOW
from tests.pipeline.support import consume, run

OPENMETRICS = "application/openmetrics-text; version=1.0.0"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
ROUNDS_MAX = 20


def samples(app: Ordertrail) -> list[Sample]:
    """Every sample the app exports right now, parsed back from its OpenMetrics exposition."""
    body, _ = app.metrics.exposition(accept=OPENMETRICS)
    return [s for family in parse_om(body.decode()) for s in family.samples]


def parse(body: str, *, openmetrics: bool) -> list[Sample]:
    families = parse_om(body) if openmetrics else parse_text(body)
    return [s for family in families for s in family.samples]


def value(found: Iterable[Sample], name: str, **labels: str) -> float | None:
    """The value of the one sample named `name` whose labels include `labels`, or None."""
    matches = [s for s in found if s.name == name and labels.items() <= s.labels.items()]
    if len(matches) > 1:
        raise AssertionError(f"{len(matches)} samples of {name} match {labels}: {matches}")
    return matches[0].value if matches else None


def total(found: Iterable[Sample], name: str, **labels: str) -> float:
    """The sum over every sample named `name` whose labels include `labels`."""
    return sum(s.value for s in found if s.name == name and labels.items() <= s.labels.items())


def relay_only(app: Ordertrail) -> None:
    """Publish what ingest wrote to the outbox, in-process."""
    run(
        relay_round(
            outbox=app.pipeline.outbox,
            publisher=app.pipeline.broker,
            clock=app.clock,
            config=RelayConfig(batch_size=500),
        )
    )


def relay_and_consume(app: Ordertrail) -> ConsumeReport:
    """Publish what ingest wrote to the outbox and run the consumers until both lanes are idle."""
    relay_only(app)
    # A lane hands out one message per order at a time: go round until both lanes are idle.
    report = ConsumeReport()
    for _ in range(ROUNDS_MAX):
        this_round = consume(app, lane="critical") + consume(app, lane="bulk")
        if this_round.received == 0:
            return report
        report += this_round
    raise AssertionError(f"the consumers were still busy after {ROUNDS_MAX} rounds")


def add_stagnant_shipment(
    engine: Engine,
    *,
    shipment_id: str,
    carrier: str = "ups",
    status: str = "in_transit",
    tenant_id: str = "acme",
    alert_open: bool = True,
) -> None:
    """A shipment and the monitoring job's stagnation alert on it, written as those modules do."""
    since = NOW - timedelta(hours=80)
    with engine.begin() as connection:
        connection.execute(
            insert(shipments).values(
                tenant_id=tenant_id,
                shipment_id=shipment_id,
                order_id=f"SO-{shipment_id}",
                carrier=carrier,
                tracking_number=f"1Z{shipment_id}",
                status=status,
                reason="none",
                last_update_at=since,
                created_at=since,
            )
        )
        connection.execute(
            insert(alerts).values(
                tenant_id=tenant_id,
                kind=AlertKind.SHIPMENT_STAGNANT.value,
                subject=shipment_id,
                severity="warning",
                state="open" if alert_open else "resolved",
                summary=f"{shipment_id} has had no update for 80 h",
                details="{}",
                opened_at=NOW,
                escalation_level=0,
                notified_level=0,
                resolved_at=None if alert_open else NOW,
            )
        )
