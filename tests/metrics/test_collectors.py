"""The database gauges, read at scrape time on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, insert

from ordertrail.adapters.clock import FixedClock
from ordertrail.adapters.db.engine import make_engine, sqlite_url
from ordertrail.adapters.db.tables import dead_letter_replays, dead_letters
from ordertrail.adapters.metrics_db import app_metrics
from ordertrail.bootstrap import Ordertrail
from tests.conftest import NOW
from tests.metrics.support import add_stagnant_shipment, relay_only, samples, value
from tests.pipeline.support import add_outbox, message, pipeline_app


def gauge(app: Ordertrail, name: str, **labels: str) -> float | None:
    return value(samples(app), name, **labels)


def test_outbox_lag_is_the_age_of_the_oldest_unpublished_row_per_lane(
    engine: Engine, clock: FixedClock
):
    app = pipeline_app(engine, clock)
    assert gauge(app, "ordertrail_outbox_lag_seconds", lane="critical") == 0
    add_outbox(engine, [message(order_id="SO-1"), message(order_id="SO-2", lane="bulk")])
    clock.advance(timedelta(seconds=25))
    # message() dates its rows 5 s before NOW.
    assert gauge(app, "ordertrail_outbox_lag_seconds", lane="critical") == 30
    assert gauge(app, "ordertrail_outbox_lag_seconds", lane="bulk") == 30
    assert gauge(app, "ordertrail_outbox_unpublished_messages", lane="critical") == 1
    relay_only(app)
    assert gauge(app, "ordertrail_outbox_lag_seconds", lane="critical") == 0
    assert gauge(app, "ordertrail_outbox_unpublished_messages", lane="critical") == 0


def test_queue_depth_and_age_count_what_the_embedded_queue_holds(engine: Engine, clock: FixedClock):
    app = pipeline_app(engine, clock)
    add_outbox(engine, [message(order_id=f"SO-{n}") for n in range(3)])
    relay_only(app)
    clock.advance(timedelta(seconds=12))
    assert gauge(app, "ordertrail_queue_depth_messages", lane="critical") == 3
    assert gauge(app, "ordertrail_queue_depth_messages", lane="bulk") == 0
    assert gauge(app, "ordertrail_queue_oldest_message_age_seconds", lane="critical") == 12


def _dead_letter(
    engine: Engine, *, consumer: str, lane: str = "critical", purged: bool = False
) -> int:
    sent = message(lane=lane)
    with engine.begin() as connection:
        return int(
            connection.execute(
                insert(dead_letters)
                .values(
                    tenant_id=sent.tenant_id,
                    message_id=sent.message_id,
                    lane=lane,
                    consumer=consumer,
                    order_id=sent.order_id,
                    event_type=sent.event_type,
                    body=sent.body,
                    headers="{}",
                    error="HandlerFailed: told to",
                    attempts=3,
                    first_failed_at=NOW,
                    last_failed_at=NOW,
                    dead_at=NOW,
                    purged_at=NOW if purged else None,
                    purged_by="ops" if purged else None,
                )
                .returning(dead_letters.c.id)
            ).scalar_one()
        )


def test_dead_letter_depth_counts_letters_neither_replayed_nor_purged(
    engine: Engine, clock: FixedClock
):
    app = pipeline_app(engine, clock)
    assert gauge(app, "ordertrail_dead_letter_depth_messages", lane="critical") == 0
    _dead_letter(engine, consumer="revenue")
    _dead_letter(engine, consumer="revenue")
    _dead_letter(engine, consumer="tracking", lane="bulk")
    _dead_letter(engine, consumer="revenue", purged=True)
    replayed = _dead_letter(engine, consumer="revenue")
    with engine.begin() as connection:
        connection.execute(
            insert(dead_letter_replays).values(
                tenant_id="acme",
                dead_letter_id=replayed,
                message_id="acme/x",
                replayed_by="ops",
                replayed_at=NOW,
            )
        )
    name = "ordertrail_dead_letter_depth_messages"
    assert gauge(app, name, lane="critical", consumer="revenue") == 2
    assert gauge(app, name, lane="bulk", consumer="tracking") == 1


def test_stagnant_shipments_are_the_open_stagnation_alerts_by_carrier_and_status(
    engine: Engine, clock: FixedClock
):
    app = pipeline_app(engine, clock)
    add_stagnant_shipment(engine, shipment_id="S1", carrier="ups", status="in_transit")
    add_stagnant_shipment(engine, shipment_id="S2", carrier="ups", status="in_transit")
    add_stagnant_shipment(
        engine, shipment_id="S3", carrier="ups", status="in_transit", tenant_id="globex"
    )
    add_stagnant_shipment(engine, shipment_id="S4", carrier="dhl", status="out_for_delivery")
    add_stagnant_shipment(
        engine, shipment_id="S5", carrier="dhl", status="in_transit", alert_open=False
    )
    name = "ordertrail_shipments_stagnant"
    found = samples(app)
    assert value(found, name, carrier="ups", status="in_transit") == 3
    assert value(found, name, carrier="dhl", status="out_for_delivery") == 1
    assert value(found, name, carrier="dhl", status="in_transit") is None
    # Tenants are summed, never labelled.
    assert all("tenant_id" not in s.labels for s in found)


def test_every_probe_reports_it_succeeded(engine: Engine, clock: FixedClock):
    found = samples(pipeline_app(engine, clock))
    probes = {
        s.labels["collector"]: s.value for s in found if s.name == "ordertrail_metrics_collector_up"
    }
    assert probes == {"outbox": 1, "dead_letters": 1, "queue": 1, "shipments": 1}


def test_a_database_without_the_tables_fails_the_probes_not_the_scrape(tmp_path: Path):
    engine = make_engine(sqlite_url(tmp_path / "empty.db"))
    metrics = app_metrics(engine=engine, clock=FixedClock(NOW), broker_url="db://")
    body, _ = metrics.exposition(accept=None)
    text = body.decode()
    assert 'ordertrail_metrics_collector_up{collector="outbox"} 0.0' in text
    assert 'ordertrail_metrics_collector_up{collector="shipments"} 0.0' in text
    engine.dispose()


def test_with_rabbitmq_the_queue_depth_is_left_to_the_broker(tmp_path: Path):
    engine = make_engine(sqlite_url(tmp_path / "empty.db"))
    metrics = app_metrics(
        engine=engine, clock=FixedClock(NOW), broker_url="amqp://guest:guest@127.0.0.1:5672/"
    )
    text = metrics.exposition(accept=None)[0].decode()
    assert 'collector="queue"' not in text
    assert 'collector="outbox"' in text
    engine.dispose()
