"""Alerts over HTTP: tenant-scoped lists, acknowledgement and resolution, rules and paths."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ordertrail.adapters.alerting import make_sinks
from ordertrail.adapters.alerting.settings import AlertingSettings
from ordertrail.adapters.alerting.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from ordertrail.bootstrap import Ordertrail
from ordertrail.entrypoints.api import create_app
from tests.conftest import NOW, make_principal
from tests.monitoring.support import add_shipment

H = timedelta(hours=1)


def bearer(app: Ordertrail, *roles: str, tenant_id: str = "acme") -> dict[str, str]:
    _, token = make_principal(app, tenant_id=tenant_id, roles=roles)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def stuck(app: Ordertrail, clock: Any) -> Iterator[TestClient]:
    """Two exception shipments of acme stuck for 25 h, evaluated once."""
    for name in ("A", "B"):
        add_shipment(
            app.engine, shipment_id=name, status="exception", last_update_at=NOW, created_at=NOW
        )
    clock.advance(25 * H)
    app.monitoring.evaluate()
    with TestClient(create_app(app)) as client:
        yield client


def test_an_operator_lists_acknowledges_and_resolves_an_alert(app, stuck):
    ops = bearer(app, "fulfilment")
    listed = stuck.get("/v1/alerts", params={"state": "open", "limit": 1}, headers=ops).json()
    assert len(listed["items"]) == 1
    assert listed["next_cursor"]
    alert_id = listed["items"][0]["id"]
    acked = stuck.post(f"/v1/alerts/{alert_id}/acknowledge", headers=ops)
    assert acked.status_code == 200
    assert acked.json()["state"] == "acknowledged"
    assert acked.json()["acknowledged_by"].startswith("key:")
    again = stuck.post(f"/v1/alerts/{alert_id}/acknowledge", headers=ops)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "alert_state_conflict")
    resolved = stuck.post(f"/v1/alerts/{alert_id}/resolve", headers=ops).json()
    assert (resolved["state"], resolved["resolution"]) == ("resolved", "manual")
    shown = stuck.get(f"/v1/alerts/{alert_id}", headers=ops).json()
    assert [n["sink"] for n in shown["notifications"]] == ["log"]
    open_ones = stuck.get("/v1/alerts", params={"state": ["open", "acknowledged"]}, headers=ops)
    assert [a["subject"] for a in open_ones.json()["items"]] != []
    assert alert_id not in [a["id"] for a in open_ones.json()["items"]]


def test_another_tenants_alert_looks_missing(app, stuck):
    [alert, *_] = stuck.get("/v1/alerts", headers=bearer(app, "admin")).json()["items"]
    other = bearer(app, "admin", tenant_id="globex")
    assert stuck.get("/v1/alerts", headers=other).json()["items"] == []
    for method, path in (
        ("GET", f"/v1/alerts/{alert['id']}"),
        ("POST", f"/v1/alerts/{alert['id']}/acknowledge"),
    ):
        response = stuck.request(method, path, headers=other)
        assert (response.status_code, response.json()["error"]["code"]) == (404, "alert_not_found")
    bad = stuck.get("/v1/alerts", params={"cursor": "nope"}, headers=other)
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "invalid_cursor")


def test_an_admin_changes_the_rules_and_the_path_and_bad_ones_are_refused(app, stuck):
    admin = bearer(app, "admin")
    put = stuck.put(
        "/v1/alerts/rules",
        json={
            "rules": [{"subject_type": "order", "status": "confirmed", "threshold_minutes": 720}]
        },
        headers=admin,
    )
    assert put.status_code == 200
    confirmed = [r for r in put.json()["rules"] if r["status"] == "confirmed"]
    assert confirmed == [
        {
            "subject_type": "order",
            "status": "confirmed",
            "threshold_minutes": 720,
            "severity": "warning",
            "enabled": True,
            "source": "tenant",
        }
    ]
    terminal = stuck.put(
        "/v1/alerts/rules",
        json={
            "rules": [{"subject_type": "shipment", "status": "delivered", "threshold_minutes": 60}]
        },
        headers=admin,
    )
    assert (terminal.status_code, terminal.json()["error"]["code"]) == (422, "invalid_rule")
    path = {
        "levels": [
            {"level": 1, "delay_minutes": 0, "target_role": "ops", "email_to": ["ops@example.com"]},
            {"level": 2, "delay_minutes": 60, "target_role": "finance"},
        ]
    }
    stored = stuck.put("/v1/alerts/escalations", json=path, headers=admin).json()
    assert stored["source"] == "tenant"
    assert stored["levels"][1] == {
        "level": 2,
        "delay_minutes": 60,
        "target_role": "finance",
        "email_to": [],
    }
    gap = stuck.put(
        "/v1/alerts/escalations",
        json={"levels": [{"level": 2, "delay_minutes": 0, "target_role": "ops"}]},
        headers=admin,
    )
    assert (gap.status_code, gap.json()["error"]["code"]) == (422, "invalid_escalation")
    reset = stuck.put("/v1/alerts/escalations", json={"levels": []}, headers=admin).json()
    assert reset["source"] == "default"
    assert [lvl["target_role"] for lvl in reset["levels"]] == ["ops", "ops-lead", "finance"]
    viewer = stuck.put("/v1/alerts/rules", json={"rules": []}, headers=bearer(app, "viewer"))
    assert viewer.status_code == 403


class Hook(BaseHTTPRequestHandler):
    secret = b""
    verified: list[bool]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.verified.append(
            verify(
                secret=self.secret,
                timestamp_header=self.headers[TIMESTAMP_HEADER],
                signature_header=self.headers[SIGNATURE_HEADER],
                body=body,
                now_s=time.time(),
            )
        )
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_the_configured_webhook_sink_receives_each_raised_alert_signed(app, clock):
    secret = "a-long-enough-shared-secret"
    handler = type("H", (Hook,), {"secret": secret.encode(), "verified": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings = AlertingSettings(
            webhook_url=f"http://127.0.0.1:{server.server_address[1]}/", webhook_secret=secret
        )
        app.monitoring.sinks = make_sinks(settings)
        add_shipment(
            app.engine, shipment_id="A", status="exception", last_update_at=NOW, created_at=NOW
        )
        clock.advance(25 * H)
        report = app.monitoring.evaluate()
    finally:
        server.shutdown()
        server.server_close()
    assert (report.raised, report.notified, report.failed_deliveries) == (1, 1, 0)
    assert handler.verified == [True]


def test_settings_refuse_a_webhook_without_a_secret_and_read_the_environment():
    with pytest.raises(ValueError, match="SECRET"):
        AlertingSettings(webhook_url="https://hooks.example.com/x")
    settings = AlertingSettings.from_env(
        {
            "ORDERTRAIL_ALERT_SMTP_HOST": "mail.internal",
            "ORDERTRAIL_ALERT_SMTP_PORT": "2525",
            "ORDERTRAIL_ALERT_ANOMALY_MIN_VOLUME": "50",
        }
    )
    assert (settings.smtp_host, settings.smtp_port, settings.anomaly.min_volume) == (
        "mail.internal",
        2525,
        50,
    )
    assert [sink.name for sink in make_sinks(settings)] == ["log", "email"]
