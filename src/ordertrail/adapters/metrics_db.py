"""Gauges read from the database when Prometheus scrapes: outbox lag, queue and dead-letter depth,
stagnant shipments.

Counting in the database at scrape time, rather than keeping counters in the process, gives every
replica the same true answer and survives restarts. Each probe is one or two cheap queries on an
index, counts stop at `COUNT_MAX` rows, and on PostgreSQL each probe runs under a statement
timeout: a slow or broken database costs a scrape a bounded time and shows as
`ordertrail_metrics_collector_up{collector} 0`, never as a failed scrape.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.exc import SQLAlchemyError

from ordertrail.adapters.db.tables import dead_letter_replays, dead_letters, outbox
from ordertrail.adapters.db.tables import queue_messages as queue
from ordertrail.adapters.db.tables_carriers import shipments
from ordertrail.adapters.db.tables_monitoring import alerts
from ordertrail.adapters.metrics import Metrics
from ordertrail.domain.monitoring.alerts import AlertKind
from ordertrail.services.messaging import LANES
from ordertrail.services.ports import Clock

logger = logging.getLogger("ordertrail.metrics")

# A count stops here: a backlog of a million is alarm enough, and counting further costs a scan.
COUNT_MAX = 1_000_000
# Each probe's statement timeout on PostgreSQL.
PROBE_TIMEOUT_MS = 2_000

Families = dict[str, GaugeMetricFamily]


def _families() -> Families:
    def gauge(name: str, documentation: str, labels: list[str]) -> GaugeMetricFamily:
        return GaugeMetricFamily(name, documentation, labels=labels)

    return {
        "outbox_lag": gauge(
            "ordertrail_outbox_lag_seconds",
            "Age of the oldest outbox row the relay has not published yet (0 when none).",
            ["lane"],
        ),
        "outbox_unpublished": gauge(
            "ordertrail_outbox_unpublished_messages",
            f"Outbox rows not yet published (counted up to {COUNT_MAX:,}).",
            ["lane"],
        ),
        "queue_depth": gauge(
            "ordertrail_queue_depth_messages",
            f"Messages in the embedded db:// queue per lane (counted up to {COUNT_MAX:,}).",
            ["lane"],
        ),
        "queue_age": gauge(
            "ordertrail_queue_oldest_message_age_seconds",
            "Age of the oldest message in the embedded db:// queue (0 when empty).",
            ["lane"],
        ),
        "dead_letters": gauge(
            "ordertrail_dead_letter_depth_messages",
            "Dead letters waiting for an operator: neither replayed nor purged.",
            ["lane", "consumer"],
        ),
        "stagnant": gauge(
            "ordertrail_shipments_stagnant",
            "Shipments with an open stagnation alert: no carrier update for longer than their "
            "tenant's rule for the status allows.",
            ["carrier", "status"],
        ),
        "up": gauge(
            "ordertrail_metrics_collector_up",
            "1 when the collector's database probe succeeded on this scrape, else 0.",
            ["collector"],
        ),
        "duration": gauge(
            "ordertrail_metrics_collector_duration_seconds",
            "How long the collector's database probe took on this scrape.",
            ["collector"],
        ),
    }


def _capped_count(connection: Connection, query: Any) -> int:
    bounded = query.limit(COUNT_MAX).subquery()
    return int(connection.execute(select(func.count()).select_from(bounded)).scalar_one())


class DatabaseCollector(Collector):
    """A prometheus-client collector that runs its probes on every scrape."""

    def __init__(
        self,
        *,
        engine: Engine,
        clock: Clock,
        embedded_queue: bool,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._probes: dict[str, Callable[[Connection, Families], None]] = {
            "outbox": self._outbox,
            "dead_letters": self._dead_letters,
        }
        # With RabbitMQ the queues live in the broker; its own exporter reports their depth.
        if embedded_queue:
            self._probes["queue"] = self._queue
        self._probes["shipments"] = self._stagnant

    def describe(self) -> Iterator[GaugeMetricFamily]:
        # Describing without values keeps registration from querying the database.
        yield from _families().values()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        families = _families()
        for name, probe in self._probes.items():
            started = time.perf_counter()
            up = 1.0
            try:
                with self._engine.connect() as connection, connection.begin():
                    if connection.dialect.name == "postgresql":
                        connection.exec_driver_sql(
                            f"SET LOCAL statement_timeout = {PROBE_TIMEOUT_MS}"
                        )
                    probe(connection, families)
            except SQLAlchemyError:
                # A scrape reports what it could read; the probe's failure is a series of its own.
                logger.warning("metrics probe %s failed", name, exc_info=True)
                up = 0.0
            families["up"].add_metric([name], up)
            families["duration"].add_metric([name], time.perf_counter() - started)
        yield from families.values()

    def _age_s(self, at: Any) -> float:
        return 0.0 if at is None else max(0.0, (self._clock.now() - at).total_seconds())

    def _outbox(self, connection: Connection, families: Families) -> None:
        for lane in LANES:
            pending = select(outbox.c.id).where(
                outbox.c.lane == lane, outbox.c.published_at.is_(None)
            )
            # The lowest id is the oldest row (ids follow commit order within milliseconds). The
            # order names the (lane, published_at, id) index's columns: ordered by id alone,
            # PostgreSQL walks the primary key past every published row instead.
            oldest = connection.execute(
                select(outbox.c.created_at)
                .where(outbox.c.lane == lane, outbox.c.published_at.is_(None))
                .order_by(outbox.c.lane, outbox.c.published_at, outbox.c.id)
                .limit(1)
            ).scalar_one_or_none()
            families["outbox_lag"].add_metric([lane], self._age_s(oldest))
            families["outbox_unpublished"].add_metric([lane], _capped_count(connection, pending))

    def _queue(self, connection: Connection, families: Families) -> None:
        for lane in LANES:
            # One pass over the lane's index entries gives both; past COUNT_MAX rows the oldest
            # is the oldest of those counted.
            held = select(queue.c.enqueued_at).where(queue.c.lane == lane).limit(COUNT_MAX)
            bounded = held.subquery()
            depth, oldest = connection.execute(
                select(func.count(), func.min(bounded.c.enqueued_at))
            ).one()
            families["queue_depth"].add_metric([lane], depth)
            families["queue_age"].add_metric([lane], self._age_s(oldest))

    def _dead_letters(self, connection: Connection, families: Families) -> None:
        replayed = select(dead_letter_replays.c.id).where(
            dead_letter_replays.c.tenant_id == dead_letters.c.tenant_id,
            dead_letter_replays.c.dead_letter_id == dead_letters.c.id,
        )
        waiting = (
            select(dead_letters.c.lane, dead_letters.c.consumer)
            .where(dead_letters.c.purged_at.is_(None), ~replayed.exists())
            .limit(COUNT_MAX)
            .subquery()
        )
        rows = connection.execute(
            select(waiting.c.lane, waiting.c.consumer, func.count()).group_by(
                waiting.c.lane, waiting.c.consumer
            )
        ).all()
        for lane, consumer, count in rows:
            families["dead_letters"].add_metric([lane, consumer], count)
        # Every lane reports, so "depth > 0" alerts have a series to resolve against.
        for lane in sorted(set(LANES) - {row[0] for row in rows}):
            families["dead_letters"].add_metric([lane, ""], 0)

    def _stagnant(self, connection: Connection, families: Families) -> None:
        # The monitoring job's open alerts are the stagnant shipments: they follow each tenant's
        # own rules, and the unresolved ones are few and indexed, where a scan of every shipment
        # against the thresholds would grow with the whole shipment history.
        rows = connection.execute(
            select(shipments.c.carrier, shipments.c.status, func.count())
            .select_from(alerts)
            .join(
                shipments,
                (shipments.c.tenant_id == alerts.c.tenant_id)
                & (shipments.c.shipment_id == alerts.c.subject),
            )
            .where(
                alerts.c.kind == AlertKind.SHIPMENT_STAGNANT.value, alerts.c.resolved_at.is_(None)
            )
            .group_by(shipments.c.carrier, shipments.c.status)
        ).all()
        for carrier, status, count in rows:
            families["stagnant"].add_metric([carrier, status], count)


def app_metrics(*, engine: Engine, clock: Clock, broker_url: str) -> Metrics:
    """A new app's metrics: its own registry, with the database collector registered."""
    metrics = Metrics()
    collector = DatabaseCollector(
        engine=engine,
        clock=clock,
        embedded_queue=broker_url.partition("://")[0].lower() == "db",
    )
    metrics.register([collector])
    return metrics
