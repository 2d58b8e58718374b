"""Stagnation alerts on both databases, with an injected clock: raise, de-duplicate, auto-resolve,
escalate by time, stop escalating on acknowledgement."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from ordertrail.adapters.db.tables_carriers import shipments
from ordertrail.adapters.db.tables_monitoring import alert_notifications, alerts
from ordertrail.bootstrap import Ordertrail
from ordertrail.domain.monitoring.alerts import AlertState, AlertTransitionRefused
from ordertrail.domain.monitoring.escalation import EscalationLevel
from ordertrail.domain.monitoring.rules import StagnationRule, SubjectType
from ordertrail.services.keys import Principal
from tests.builders import envelope, placed
from tests.conftest import NOW
from tests.monitoring.support import RecordingSink, add_shipment

H = timedelta(hours=1)


@pytest.fixture
def sink(app: Ordertrail) -> RecordingSink:
    recording = RecordingSink()
    app.monitoring.sinks = [recording]
    return recording


def open_alerts(app: Ordertrail, tenant_id: str = "acme") -> list[dict]:
    return app.monitoring.alerts(
        tenant_id=tenant_id, states=(AlertState.OPEN, AlertState.ACKNOWLEDGED), limit=500
    ).items


def test_a_shipment_without_an_update_past_its_threshold_raises_one_alert_until_it_moves(
    app, clock, sink
):
    add_shipment(
        app.engine, shipment_id="S1", status="in_transit", last_update_at=NOW, created_at=NOW
    )
    clock.advance(71 * H)
    assert app.monitoring.evaluate().raised == 0
    clock.advance(2 * H)
    assert app.monitoring.evaluate().raised == 1
    [alert] = open_alerts(app)
    assert (alert["kind"], alert["subject"], alert["severity"]) == (
        "shipment_stagnant",
        "S1",
        "warning",
    )
    assert alert["details"]["carrier"] == "ups"
    # Seen again on the next runs: the same alert, not a new one.
    clock.advance(H)
    assert app.monitoring.evaluate().raised == 0
    assert len(open_alerts(app)) == 1
    # A new scan arrives: the condition clears and the alert resolves itself.
    with app.engine.begin() as connection:
        connection.execute(update(shipments).values(last_update_at=clock.now()))
    report = app.monitoring.evaluate()
    assert report.resolved == 1
    assert open_alerts(app) == []
    [resolved] = app.monitoring.alerts(tenant_id="acme", states=(AlertState.RESOLVED,)).items
    assert (resolved["resolution"], resolved["resolved_by"]) == ("auto", "ordertrail")
    # Stuck again later: a new alert, since the old one is resolved.
    clock.advance(73 * H)
    assert app.monitoring.evaluate().raised == 1


def test_terminal_and_other_tenants_shipments_are_judged_by_their_own_rules(app, clock, sink):
    add_shipment(
        app.engine, shipment_id="D", status="delivered", last_update_at=NOW, created_at=NOW
    )
    add_shipment(
        app.engine, shipment_id="X", status="exception", last_update_at=None, created_at=NOW
    )
    add_shipment(
        app.engine,
        shipment_id="G",
        status="exception",
        last_update_at=NOW,
        created_at=NOW,
        tenant_id="globex",
    )
    app.monitoring.replace_rules(
        tenant_id="globex",
        rules=[
            StagnationRule(
                subject_type=SubjectType.SHIPMENT,
                status="exception",
                threshold_minutes=24 * 60,
                enabled=False,
            )
        ],
        actor="test",
    )
    clock.advance(25 * H)
    assert app.monitoring.evaluate().raised == 1
    [alert] = open_alerts(app)
    # No scan yet: stagnation counts from the shipment's creation. Exception is critical.
    assert (alert["subject"], alert["severity"]) == ("X", "critical")
    assert open_alerts(app, "globex") == []


def test_an_order_left_pending_past_its_sla_alerts_and_resolves_once_confirmed(app, clock, sink):
    principal = Principal(key_id="k", tenant_id="acme", roles=("admin",))
    # The order was placed at NOW (its occurred_at); the SLA counts from then.
    app.ingest(raw_events=[placed(order_id="SO-9", at=NOW)], principal=principal)
    app.monitoring.replace_rules(
        tenant_id="acme",
        rules=[
            StagnationRule(subject_type=SubjectType.ORDER, status="pending", threshold_minutes=120)
        ],
        actor="test",
    )
    clock.advance(H)
    assert app.monitoring.evaluate().raised == 0
    clock.advance(2 * H)
    assert app.monitoring.evaluate().raised == 1
    [alert] = open_alerts(app)
    assert (alert["kind"], alert["subject"]) == ("order_stagnant", "SO-9")
    app.ingest(
        raw_events=[envelope("order.confirmed", {}, order_id="SO-9", at=clock.now())],
        principal=principal,
    )
    assert app.monitoring.evaluate().resolved == 1
    assert open_alerts(app) == []


def test_escalation_climbs_by_time_and_stops_when_acknowledged(app, clock, sink):
    app.monitoring.replace_path(
        tenant_id="acme",
        path=[
            EscalationLevel(level=1, delay_minutes=0, target_role="ops"),
            EscalationLevel(level=2, delay_minutes=4 * 60, target_role="ops-lead"),
            EscalationLevel(level=3, delay_minutes=24 * 60, target_role="finance"),
        ],
        actor="test",
    )
    for name in ("A", "B"):
        add_shipment(
            app.engine, shipment_id=name, status="exception", last_update_at=NOW, created_at=NOW
        )
    clock.advance(25 * H)
    app.monitoring.evaluate()
    assert sorted((n.alert.subject, n.level.target_role, n.event) for n in sink.sent) == [
        ("A", "ops", "raised"),
        ("B", "ops", "raised"),
    ]
    alerts = {a["subject"]: a for a in open_alerts(app)}
    app.monitoring.acknowledge(tenant_id="acme", alert_id=alerts["A"]["id"], actor="key:alice")
    sink.sent.clear()
    clock.advance(3 * H)
    app.monitoring.evaluate()
    assert sink.sent == []
    clock.advance(2 * H)
    app.monitoring.evaluate()
    assert [(n.alert.subject, n.level.target_role) for n in sink.sent] == [("B", "ops-lead")]
    clock.advance(20 * H)
    app.monitoring.evaluate()
    assert [(n.alert.subject, n.level.level) for n in sink.sent][-1] == ("B", 3)
    alerts = {a["subject"]: a for a in open_alerts(app)}
    assert (alerts["A"]["escalation_level"], alerts["B"]["escalation_level"]) == (1, 3)
    assert (alerts["A"]["state"], alerts["A"]["acknowledged_by"]) == ("acknowledged", "key:alice")
    # Every notification is in the log, per level and sink.
    with app.engine.connect() as connection:
        logged = connection.execute(
            select(alert_notifications.c.level, alert_notifications.c.outcome).where(
                alert_notifications.c.alert_id == alerts["B"]["id"]
            )
        ).all()
    assert sorted(logged) == [(1, "sent"), (2, "sent"), (3, "sent")]


def test_a_late_run_notifies_every_level_it_skipped_and_failures_are_logged(app, clock, sink):
    sink.fail = True
    add_shipment(
        app.engine, shipment_id="A", status="exception", last_update_at=NOW, created_at=NOW
    )
    clock.advance(25 * H)
    app.monitoring.evaluate()
    clock.advance(30 * H)
    report = app.monitoring.evaluate()
    assert [n.level.level for n in sink.sent] == [1, 2, 3]
    assert report.failed_deliveries == 2
    _, log = app.monitoring.alert(tenant_id="acme", alert_id=open_alerts(app)[0]["id"])
    assert {(n["level"], n["outcome"]) for n in log} == {
        (1, "failed"),
        (2, "failed"),
        (3, "failed"),
    }


def test_acknowledging_twice_or_touching_a_resolved_alert_is_refused(app, clock, sink):
    add_shipment(
        app.engine, shipment_id="A", status="exception", last_update_at=NOW, created_at=NOW
    )
    clock.advance(25 * H)
    app.monitoring.evaluate()
    [alert] = open_alerts(app)
    app.monitoring.acknowledge(tenant_id="acme", alert_id=alert["id"], actor="a")
    with pytest.raises(AlertTransitionRefused):
        app.monitoring.acknowledge(tenant_id="acme", alert_id=alert["id"], actor="b")
    resolved = app.monitoring.resolve(tenant_id="acme", alert_id=alert["id"], actor="b")
    assert (resolved.state, resolved.resolved_by, resolved.resolution.value) == (
        AlertState.RESOLVED,
        "b",
        "manual",
    )
    with pytest.raises(AlertTransitionRefused):
        app.monitoring.resolve(tenant_id="acme", alert_id=alert["id"], actor="c")


def test_raised_alerts_are_counted_in_the_metric(app, clock, sink):
    add_shipment(
        app.engine, shipment_id="A", status="exception", last_update_at=NOW, created_at=NOW
    )
    clock.advance(25 * H)
    app.monitoring.evaluate()
    value = app.metrics.registry.get_sample_value(
        "ordertrail_alerts_raised_total", {"kind": "shipment_stagnant", "severity": "critical"}
    )
    assert value == 1.0


def test_alerts_page_newest_first_with_a_keyset_cursor(app, clock, sink):
    for i in range(5):
        add_shipment(
            app.engine, shipment_id=f"S{i}", status="exception", last_update_at=NOW, created_at=NOW
        )
        clock.advance(H)
    clock.advance(24 * H)
    app.monitoring.evaluate()
    first = app.monitoring.alerts(tenant_id="acme", limit=3)
    second = app.monitoring.alerts(tenant_id="acme", limit=3, cursor=first.next_cursor)
    ids = [a["id"] for a in first.items + second.items]
    assert len(ids) == 5 == len(set(ids))
    assert second.next_cursor is None


def test_an_alert_past_the_end_of_a_shortened_path_is_not_looked_at_again(app, clock, sink):
    add_shipment(
        app.engine, shipment_id="A", status="exception", last_update_at=NOW, created_at=NOW
    )
    clock.advance(25 * H)
    app.monitoring.evaluate()
    assert len(open_alerts(app)) == 1
    # As if the path had three levels when the alert climbed and one when it is notified.
    app.monitoring.replace_path(
        tenant_id="acme",
        path=[EscalationLevel(level=1, delay_minutes=0, target_role="ops")],
        actor="test",
    )
    with app.engine.begin() as connection:
        connection.execute(update(alerts).values(escalation_level=3))
    app.monitoring.evaluate()
    assert app.monitoring.store.pending_notifications(limit=10) == []
    assert [n.level.level for n in sink.sent] == [1]
