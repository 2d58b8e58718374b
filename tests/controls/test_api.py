"""Holds, decisions, rules and the controls' reports over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ordertrail.bootstrap import Ordertrail
from ordertrail.entrypoints.api import create_app
from tests.conftest import make_principal
from tests.revenue.support import load_catalog, order_events, pump

Headers = dict[str, str]


def key(app: Ordertrail, role: str, owner: str | None = None) -> Headers:
    _, token = make_principal(app, roles=(role,))
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def client(app: Ordertrail) -> Iterator[TestClient]:
    with TestClient(create_app(app)) as test_client:
        yield test_client


def _confirmed(app: Ordertrail) -> None:
    load_catalog(app)
    app.ingest(raw_events=order_events()[:2], principal=make_principal(app)[0])
    pump(app)


def _ship(app: Ordertrail) -> None:
    app.ingest(raw_events=order_events()[2:3], principal=make_principal(app)[0])
    pump(app)


def _revenue(client: TestClient, headers: Headers) -> list[dict[str, Any]]:
    url = "/v1/obligations/ctr-SO-1/1/unit/decisions"
    found: list[dict[str, Any]] = client.get(url, headers=headers).json()["items"]
    return found


def test_a_hold_placed_over_http_stops_recognition_and_its_release_lets_it_through(
    app: Ordertrail, client: TestClient
) -> None:
    _confirmed(app)
    accountant, controller = key(app, "revenue_accountant"), key(app, "controller")
    placed = client.post(
        "/v1/holds",
        json={"order_id": "SO-1", "reason_code": "customer_complaint"},
        headers=accountant,
    )
    assert placed.status_code == 201, placed.text
    hold_id = placed.json()["hold_id"]
    _ship(app)
    assert [d["outcome"] for d in _revenue(client, accountant)] == ["held"]
    refused = client.post(f"/v1/holds/{hold_id}/release", headers=accountant)
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "forbidden")
    released = client.post(f"/v1/holds/{hold_id}/release", headers=controller)
    assert released.status_code == 200, released.text
    assert released.json()["hold"]["status"] == "released"
    assert _revenue(client, accountant)[0]["outcome"] == "recognized"
    again = client.post(f"/v1/holds/{hold_id}/release", headers=controller)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "hold_already_released")
    listed = client.get("/v1/holds?status=all&order_id=SO-1", headers=accountant).json()
    assert [h["hold_id"] for h in listed["items"]] == [hold_id]


def test_a_hold_needing_dual_approval_is_released_by_another_persons_approval(
    app: Ordertrail, client: TestClient
) -> None:
    _confirmed(app)
    controller, other = key(app, "controller"), key(app, "controller")
    hold_id = client.post(
        "/v1/holds", json={"order_id": "SO-1", "reason_code": "legal"}, headers=controller
    ).json()["hold_id"]
    _ship(app)
    asked = client.post(
        f"/v1/holds/{hold_id}/release", json={"reason": "cleared by legal"}, headers=controller
    )
    assert asked.status_code == 202, asked.text
    request_id = asked.json()["approval"]["request_id"]
    assert asked.json()["approval"]["kind"] == "hold.release"
    own = client.post(f"/v1/approvals/{request_id}/approve", json={}, headers=controller)
    assert own.status_code == 403
    approved = client.post(f"/v1/approvals/{request_id}/approve", json={}, headers=other)
    assert approved.status_code == 200, approved.text
    holds = client.get("/v1/holds?status=all", headers=controller).json()["items"]
    assert holds[0]["status"] == "released"
    assert holds[0]["approval_id"] == request_id


def test_refusals_carry_their_codes(app: Ordertrail, client: TestClient) -> None:
    controller = key(app, "controller")
    missing = client.post("/v1/holds/hold-nope/release", headers=controller)
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "hold_not_found")
    both = client.post(
        "/v1/holds",
        json={"order_id": "SO-1", "line_id": "1", "obligation_id": "1/unit", "reason_code": "x"},
        headers=controller,
    )
    assert (both.status_code, both.json()["error"]["code"]) == (422, "invalid_hold")
    bad = client.post(
        "/v1/rules",
        json={"rule": {"rule_id": "r", "criterion": "line.__class__"}, "reason": "try"},
        headers=controller,
    )
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "invalid_recognition_rule")
    assert "underscore" in bad.json()["error"]["message"]
    unknown = client.get("/v1/rules/nope", headers=controller)
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (
        404,
        "recognition_rule_not_found",
    )
    viewer = client.get("/v1/holds", headers=key(app, "viewer"))
    assert viewer.status_code == 403


def test_a_rule_takes_effect_only_when_a_second_person_approves_it(
    app: Ordertrail, client: TestClient
) -> None:
    _confirmed(app)
    accountant, controller = key(app, "revenue_accountant"), key(app, "controller")
    rule = {"rule_id": "signed", "sku": "WIDGET", "criterion": "delivery.signed"}
    proposed = client.post("/v1/rules", json={"rule": rule, "reason": "POD"}, headers=accountant)
    assert proposed.status_code == 202, proposed.text
    assert proposed.json()["rule"]["status"] == "proposed"
    request_id = proposed.json()["approval"]["request_id"]
    assert (
        client.post(f"/v1/approvals/{request_id}/approve", json={}, headers=controller).status_code
        == 200
    )
    versions = client.get("/v1/rules/signed", headers=accountant).json()["items"]
    assert [(v["version"], v["status"]) for v in versions] == [(1, "active")]
    _ship(app)
    decision = _revenue(client, accountant)[0]
    assert (decision["outcome"], decision["rule_id"], decision["rule_version"]) == (
        "deferred",
        "signed",
        1,
    )
    assert decision["cause"].startswith("acme/")


def test_hold_aging_buckets_open_holds_with_what_they_hold_back(
    app: Ordertrail, client: TestClient
) -> None:
    _confirmed(app)
    controller = key(app, "controller")
    client.post("/v1/holds", json={"order_id": "SO-1", "reason_code": "credit"}, headers=controller)
    aging = client.get("/v1/reports/hold-aging", headers=controller).json()["buckets"]
    assert [b["bucket"] for b in aging] == ["0-7", "8-30", "31-90", ">90"]
    assert aging[0]["holds"] == 1
    assert aging[0]["held_back_minor"]["USD"] > 0
    fallbacks = client.get("/v1/reports/fallbacks", headers=controller).json()
    assert fallbacks == {"items": []}
