"""A key sees and changes only its own tenant's data, and cannot tell what other tenants hold."""

from __future__ import annotations

import json

import pytest

from tests.api.conftest import quarantined, row_count
from tests.builders import dispatched, placed, qty

READS = ["/v1/orders/SO-1", "/v1/orders/SO-1/timeline"]


def comparable(response) -> tuple[int, dict, dict]:
    headers = {k: v for k, v in response.headers.items() if k not in ("date",)}
    return response.status_code, response.json(), headers


@pytest.mark.parametrize("path", READS)
def test_another_tenants_order_answers_exactly_like_a_missing_one(client, key_for, path):
    acme, globex = key_for("acme"), key_for("globex")
    missing = client.get(path, headers=acme)
    assert (
        client.post("/v1/events", json=placed(tenant_id="globex"), headers=globex).status_code
        == 201
    )

    theirs = client.get(path, headers=acme)

    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "order_not_found"
    assert comparable(theirs) == comparable(missing)
    assert client.get(path, headers=globex).status_code == 200


def test_the_same_order_id_in_two_tenants_is_two_orders(client, key_for):
    acme, globex = key_for("acme"), key_for("globex")
    client.post("/v1/events", json=placed(), headers=acme)
    client.post("/v1/events", json=placed(tenant_id="globex"), headers=globex)
    shipment = dispatched("S1", qty(l1=2, l2=1), tenant_id="globex", minutes=1)
    assert client.post("/v1/events", json=shipment, headers=globex).status_code == 201

    assert client.get("/v1/orders/SO-1", headers=acme).json()["status"] == "pending"
    assert client.get("/v1/orders/SO-1", headers=globex).json()["status"] == "fulfilled"
    acme_timeline = client.get("/v1/orders/SO-1/timeline", headers=acme).json()
    assert [e["type"] for e in acme_timeline["entries"]] == ["order.placed"]


def test_order_lists_never_show_another_tenants_orders(client, key_for):
    acme, globex = key_for("acme"), key_for("globex")
    client.post("/v1/events/batch", json=[placed(order_id="A-1")], headers=acme)
    client.post(
        "/v1/events/batch",
        json=[placed(order_id=f"G-{i}", tenant_id="globex") for i in range(3)],
        headers=globex,
    )

    for params in ({}, {"status": "pending"}, {"limit": 1}):
        items = client.get("/v1/orders", params=params, headers=acme).json()["items"]
        assert [(o["tenant_id"], o["order_id"]) for o in items] == [("acme", "A-1")]
    assert len(client.get("/v1/orders", headers=globex).json()["items"]) == 3


def test_the_quarantine_never_shows_another_tenants_rejections(client, key_for):
    acme, globex = key_for("acme"), key_for("globex")
    client.post("/v1/events", json={"nonsense": True}, headers=globex)
    client.post("/v1/events", content=b"{not json", headers=globex)
    client.post("/v1/events", json=dispatched("S1", qty(l1=1)), headers=acme)

    mine = quarantined(client, acme)
    assert [q["reason_code"] for q in mine] == ["unknown_order"]
    assert quarantined(client, acme, order_id="SO-1") == mine
    assert quarantined(client, acme, reason_code="malformed_json") == []
    assert len(quarantined(client, globex)) == 2


def test_an_event_naming_another_tenant_is_refused_and_kept_under_the_keys_tenant(
    client, key_for, app
):
    acme, globex = key_for("acme"), key_for("globex")
    event = placed(tenant_id="globex")

    response = client.post("/v1/events", json=event, headers=acme)

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "tenant_mismatch"
    [kept] = quarantined(client, acme)
    assert (kept["reason_code"], json.loads(kept["body"])) == ("tenant_mismatch", event)
    assert quarantined(client, globex) == []
    assert row_count(app, "events") == 0
    assert row_count(app, "orders") == 0
    assert row_count(app, "quarantine", tenant_id="globex") == 0
