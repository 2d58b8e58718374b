"""Embedded mode and the commands: serve drains the outbox itself; relay and worker stop cleanly."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from ordertrail.adapters.brokers import BrokerContext, make_broker
from ordertrail.adapters.brokers.db import DbBroker
from ordertrail.adapters.brokers.kafka import KafkaBroker
from ordertrail.adapters.brokers.rabbitmq import RabbitBroker
from ordertrail.bootstrap import Settings
from ordertrail.entrypoints.api import create_app
from ordertrail.entrypoints.cli import app as cli
from ordertrail.entrypoints.cli import main
from ordertrail.services.messaging import BrokerNotAvailable
from ordertrail.services.milestone_log import CONSUMER as MILESTONE_LOG
from tests.builders import delivered, dispatched, envelope, placed, qty
from tests.conftest import make_principal
from tests.pipeline.support import FAST, add_outbox, effects, message, pipeline_app, queued
from tests.pipeline.support import unpublished as unpublished_rows

runner = CliRunner()
PATIENCE_S = 30.0


def wait_until(condition, *, what: str) -> None:
    """Poll until `condition()` holds; fail after PATIENCE_S (a bound, not a timing claim)."""
    deadline = time.monotonic() + PATIENCE_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.02)


def test_serve_in_embedded_mode_drains_the_outbox_to_a_registered_handler(engine, clock, recorder):
    app = pipeline_app(engine, clock, recorder, **FAST)
    _, token = make_principal(app)
    headers = {"Authorization": f"Bearer {token}"}
    events = [
        placed(),
        envelope("order.confirmed", {}, minutes=1),
        dispatched("S1", qty(l1=2, l2=1), minutes=2),
        delivered("S1", minutes=3),
    ]
    with TestClient(create_app(app, embedded_workers=True)) as client:
        response = client.post("/v1/events/batch", json=events, headers=headers)
        assert response.status_code == 200, response.text
        wait_until(lambda: len(effects(engine)) == len(events), what="the recorder's effects")
    expected = [f"acme/{event['event_id']}" for event in events]
    # Per-order ordering held across the two lanes' workers within each lane.
    critical = [e for e in expected if not e.endswith(events[1]["event_id"])]
    assert [e for e in effects(engine) if e in critical] == critical
    assert sorted(effects(engine, consumer=MILESTONE_LOG)) == sorted(expected)
    assert unpublished_rows(engine) == 0
    assert queued(engine) == []


def test_the_api_alone_runs_no_pipeline(engine, clock, recorder):
    app = pipeline_app(engine, clock, recorder, **FAST)
    add_outbox(engine, [message()])
    with TestClient(create_app(app)) as client:
        assert client.get("/healthz").status_code == 200
        time.sleep(0.1)
    assert unpublished_rows(engine) == 1


def test_relay_and_worker_commands_drain_and_stop_with_once(papp):
    database = papp.engine.url.render_as_string(hide_password=False)
    add_outbox(papp.engine, [message(), message(lane="bulk", event_type="line.allocated")])
    relayed = runner.invoke(cli, ["relay", "--once", "--database", database])
    assert relayed.exit_code == 0, relayed.output
    assert "published 2 message(s)" in relayed.output
    worked = runner.invoke(cli, ["worker", "--lane", "critical", "--once", "--database", database])
    assert worked.exit_code == 0, worked.output
    assert "critical: handled 1" in worked.output
    assert "bulk" not in worked.output
    assert len(queued(papp.engine, lane="bulk")) == 1


def test_relay_and_worker_commands_stop_after_max_seconds_with_nothing_to_do(papp):
    database = papp.engine.url.render_as_string(hide_password=False)
    for command in (["relay"], ["worker"]):
        started = time.monotonic()
        result = runner.invoke(cli, [*command, "--max-seconds", "0.3", "--database", database])
        assert result.exit_code == 0, result.output
        assert time.monotonic() - started < PATIENCE_S


def test_the_broker_is_chosen_by_url_scheme_with_a_clear_error_otherwise(engine, clock):
    def broker(url: str):
        return make_broker(BrokerContext(url=url, engine=engine, clock=clock, lease_s=30))

    assert isinstance(broker("db://"), DbBroker)
    assert isinstance(broker("amqp://guest@rabbit:5672/"), RabbitBroker)  # connects on first use
    assert isinstance(broker("kafka://kafka:9092"), KafkaBroker)  # connects on first use
    with pytest.raises(BrokerNotAvailable, match="bad Kafka broker URL"):
        broker("kafka://kafka:9092?partitions=0")
    with pytest.raises(BrokerNotAvailable, match="takes one of db://, amqp://"):
        broker("redis://cache")
    with pytest.raises(BrokerNotAvailable, match="no address"):
        broker("db://elsewhere:5432")


def test_the_command_line_reports_an_unavailable_broker_without_a_traceback(
    tmp_path, monkeypatch, capsys
):
    database = str(tmp_path / "o.db")
    monkeypatch.setenv("ORDERTRAIL_BROKER_URL", "kafka://kafka:9092?linger=5")
    monkeypatch.setattr("sys.argv", ["ordertrail", "relay", "--once", "--database", database])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    said = " ".join(capsys.readouterr().err.split())
    assert "bad Kafka broker URL: unknown Kafka option 'linger'" in said
    assert "Traceback" not in said


def test_pipeline_settings_are_read_once_from_the_environment():
    settings = Settings.from_env(
        {
            "ORDERTRAIL_DATABASE_URL": "sqlite:///x.db",
            "ORDERTRAIL_BROKER_URL": "db://",
            "ORDERTRAIL_RELAY_BATCH_SIZE": "100",
            "ORDERTRAIL_RELAY_LINGER_S": "0.05",
            "ORDERTRAIL_RETRY_ATTEMPTS_MAX": "4",
            "ORDERTRAIL_EMBEDDED_WORKERS": "false",
            "ORDERTRAIL_HANDLERS": "a.b:c, d.e:f",
        }
    )
    assert (settings.relay.batch_size, settings.relay.linger_s) == (100, 0.05)
    assert settings.retry.attempts_max == 4
    assert settings.embedded_workers is False
    assert settings.handlers == ("a.b:c", "d.e:f")
    with pytest.raises(ValueError, match="ORDERTRAIL_EMBEDDED_WORKERS"):
        Settings.from_env({"ORDERTRAIL_EMBEDDED_WORKERS": "maybe"})
