"""Catalogs, settings, progress, the chart and the close over HTTP."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from ordertrail.bootstrap import Ordertrail
from ordertrail.entrypoints.api import create_app
from tests.builders import envelope
from tests.conftest import make_principal
from tests.revenue.support import pump

BUILD: dict[str, Any] = {
    "sku": "BUILD",
    "effective_from": "2026-01-01",
    "templates": [
        {"component": "work", "nature": "service", "timing": "over_time", "method": "cost_to_cost"}
    ],
}
BUILD_SSP = {
    "sku": "BUILD",
    "component": "work",
    "currency": "USD",
    "effective_from": "2026-01-01",
    "unit_ssp_minor": 100000,
}


def headers(app: Ordertrail, role: str = "admin") -> dict[str, str]:
    _, token = make_principal(app, roles=(role,))
    return {"Authorization": f"Bearer {token}"}


def order_for_build() -> list[dict[str, Any]]:
    lines = [{"line_id": "1", "sku": "BUILD", "quantity": 1, "unit_price_minor": 100000}]
    placed = {"customer_id": "C", "currency": "USD", "lines": lines}
    return [
        envelope("order.placed", placed, order_id="B-1"),
        envelope("order.confirmed", {}, order_id="B-1", minutes=1),
    ]


def test_a_catalog_posted_over_http_prices_an_order_whose_progress_is_then_recorded(
    sqlite_app: Ordertrail,
) -> None:
    app = sqlite_app
    admin = headers(app)
    with TestClient(create_app(app)) as client:
        created = client.post("/v1/revenue/catalog/templates", json=BUILD, headers=admin)
        assert created.status_code == 201, created.text
        assert created.json()["version"] == 1
        assert (
            client.post("/v1/revenue/catalog/ssp", json=BUILD_SSP, headers=admin).status_code == 201
        )
        listed = client.get("/v1/revenue/catalog/templates?sku=BUILD", headers=admin).json()
        assert [item["sku"] for item in listed["items"]] == ["BUILD"]

        app.ingest(raw_events=order_for_build(), principal=make_principal(app)[0])
        pump(app)

        progress = {
            "contract_id": "ctr-B-1",
            "event_id": "cost-1",
            "occurred_on": "2026-11-10",
            "done": 30,
            "total": 100,
        }
        moved = client.post("/v1/revenue/obligations/1/work/progress", json=progress, headers=admin)
        assert moved.status_code == 200, moved.text
        assert (moved.json()["recognized_minor"], moved.json()["deferred_minor"]) == (30000, 70000)
        again = client.post("/v1/revenue/obligations/1/work/progress", json=progress, headers=admin)
        assert again.json()["recognized_minor"] == 30000

        closed = client.post("/v1/ledger/periods/2026-11/close", headers=admin).json()
        assert closed["already_closed"] is False
        periods = client.get("/v1/ledger/periods", headers=admin).json()["items"]
        assert [(p["period"], p["status"]) for p in periods] == [("2026-11", "closed")]
        assert client.post("/v1/ledger/periods/2026-11/close", headers=admin).json()[
            "already_closed"
        ]


def test_refusals_say_what_is_wrong(sqlite_app: Ordertrail) -> None:
    admin = headers(sqlite_app)
    work = {"component": "work", "nature": "service", "timing": "over_time"}
    no_method = {**BUILD, "templates": [work]}
    with TestClient(create_app(sqlite_app)) as client:
        refused = client.post("/v1/revenue/catalog/templates", json=no_method, headers=admin)
        assert (refused.status_code, refused.json()["error"]["code"]) == (422, "invalid_template")
        shapeless = client.post("/v1/revenue/catalog/ssp", json={"sku": 1}, headers=admin)
        assert shapeless.json()["error"]["code"] == "invalid_catalog_row"
        missing = client.patch("/v1/ledger/accounts/nope", json={"name": "x"}, headers=admin)
        assert (missing.status_code, missing.json()["error"]["code"]) == (404, "account_not_found")
        renamed = client.patch(
            "/v1/ledger/accounts/receivables", json={"gl_code": "1201"}, headers=admin
        )
        assert renamed.json()["gl_code"] == "1201"
        settings = client.put(
            "/v1/revenue/settings", json={"combination": {"window_days": 7}}, headers=admin
        )
        assert settings.json()["combination"]["window_days"] == 7
