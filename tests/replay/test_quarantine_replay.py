"""Quarantined events can be replayed through the normal path once their cause is fixed."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from ordertrail.entrypoints.api import create_app
from ordertrail.entrypoints.cli import app as cli
from tests.builders import delivered, dispatched, placed, qty
from tests.conftest import make_principal


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_delivery_that_arrived_before_its_dispatch_applies_when_replayed(app):
    principal, token = make_principal(app)
    client = TestClient(create_app(app))
    early_delivery = delivered("S1", minutes=30)
    app.ingest(raw_events=[placed(), early_delivery], principal=principal)
    [item] = client.get("/v1/quarantine", headers=_auth(token)).json()["items"]
    assert item["reason_code"] == "unknown_shipment"
    assert item["now_applied"] is False

    app.ingest(raw_events=[dispatched("S1", qty(l1=2, l2=1), minutes=10)], principal=principal)
    response = client.post(f"/v1/quarantine/{item['quarantine_id']}/replay", headers=_auth(token))

    assert response.status_code == 201
    assert response.json()["outcome"] == "applied"
    assert response.json()["order_status"] == "delivered"
    [after] = client.get("/v1/quarantine", headers=_auth(token)).json()["items"]
    assert after["now_applied"] is True


def test_replaying_an_order_applies_its_items_in_occurred_order_and_each_event_once(app):
    principal, token = make_principal(app)
    client = TestClient(create_app(app))
    dispatch = dispatched("S1", qty(l1=2, l2=1), minutes=10)
    delivery = delivered("S1", minutes=30)
    # Both arrive before the order itself; the delivery is refused twice.
    app.ingest(raw_events=[delivery, dispatch, delivery], principal=principal)
    app.ingest(raw_events=[placed()], principal=principal)

    body = client.post("/v1/quarantine/replay?order_id=SO-1", headers=_auth(token)).json()

    assert [r["outcome"] for r in body["results"]] == ["applied", "applied"]
    assert [r["event_id"] for r in body["results"]] == [dispatch["event_id"], delivery["event_id"]]
    order = client.get("/v1/orders/SO-1", headers=_auth(token)).json()
    assert order["status"] == "delivered"
    again = client.post("/v1/quarantine/replay?order_id=SO-1", headers=_auth(token)).json()
    assert again["results"] == []


def test_replay_needs_a_role_that_may_replay_and_stays_within_the_tenant(app):
    principal, token = make_principal(app)
    _, viewer = make_principal(app, roles=("viewer",))
    _, other = make_principal(app, tenant_id="globex", roles=("admin",))
    client = TestClient(create_app(app))
    app.ingest(raw_events=[delivered("S1")], principal=principal)
    [item] = client.get("/v1/quarantine", headers=_auth(token)).json()["items"]

    url = f"/v1/quarantine/{item['quarantine_id']}/replay"
    assert client.post(url, headers=_auth(viewer)).status_code == 403
    assert client.post(url, headers=_auth(other)).json()["error"]["code"] == "quarantine_not_found"


def test_a_body_that_was_not_json_is_reported_as_not_replayable(sqlite_app):
    _, token = make_principal(sqlite_app)
    client = TestClient(create_app(sqlite_app))
    quarantine_id = client.post("/v1/events", content=b"{oops", headers=_auth(token)).json()[
        "error"
    ]["quarantine_id"]

    response = client.post(f"/v1/quarantine/{quarantine_id}/replay", headers=_auth(token))

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "not_replayable"


def test_the_cli_lists_and_replays_an_orders_quarantine(sqlite_app):
    principal, _ = make_principal(sqlite_app)
    sqlite_app.ingest(raw_events=[delivered("S1", minutes=30)], principal=principal)
    sqlite_app.ingest(
        raw_events=[placed(), dispatched("S1", qty(l1=2, l2=1), minutes=10)], principal=principal
    )
    database = str(sqlite_app.engine.url.database)
    runner = CliRunner()

    listed = runner.invoke(
        cli, ["quarantine", "list", "--tenant", "acme", "--json", "-d", database]
    )
    replayed = runner.invoke(
        cli, ["quarantine", "replay", "--tenant", "acme", "--order", "SO-1", "-d", database]
    )

    assert listed.exit_code == 0, listed.output
    [item] = [json.loads(line) for line in listed.output.splitlines()]
    assert item["reason_code"] == "unknown_order"
    assert replayed.exit_code == 0, replayed.output
    assert "applied" in replayed.output
    order = sqlite_app.queries.get_order(tenant_id="acme", order_id="SO-1")
    assert order["status"] == "delivered"
