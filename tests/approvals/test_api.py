"""Dual approval over HTTP: two people, keys with owners, refusals with their codes, paging."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ordertrail.bootstrap import Ordertrail
from ordertrail.entrypoints.api import create_app
from ordertrail.services.keys import create_key
from tests.conftest import T0, make_principal
from tests.revenue.support import TENANT, load_catalog, order_events, pump


def echo(
    *, uow: Any, tenant_id: str, payload: Mapping[str, Any], actor: str, now: datetime
) -> Mapping[str, Any] | None:
    return {"echo": payload["value"], "by": actor}


def key(app: Ordertrail, role: str, owner: str | None) -> dict[str, str]:
    _, token = create_key(
        store=app.keys, tenant_id=TENANT, roles=[role], name=role, now=T0, owner=owner
    )
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def client(sqlite_app: Ordertrail) -> TestClient:
    sqlite_app.approval_kinds.register_executor("test.echo", "controller", echo)
    return TestClient(create_app(sqlite_app))


def ask(client: TestClient, headers: dict[str, str], value: int = 1) -> dict[str, Any]:
    response = client.post(
        "/v1/approvals",
        json={
            "kind": "test.echo",
            "subject": "order:SO-1",
            "payload": {"value": value},
            "reason": "checked with the customer",
        },
        headers=headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_only_another_person_with_the_kinds_role_approves(
    client: TestClient, sqlite_app: Ordertrail
) -> None:
    ana = key(sqlite_app, "revenue_accountant", "ana")
    ana_controller = key(sqlite_app, "controller", "Ana")
    bob_accountant = key(sqlite_app, "revenue_accountant", "bob")
    carl = key(sqlite_app, "controller", "carl")
    request = ask(client, ana)
    assert request["status"] == "requested"
    assert request["requester_owner"] == "ana"
    url = f"/v1/approvals/{request['request_id']}"

    refused = client.post(f"{url}/approve", headers=ana_controller)
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "self_approval")
    refused = client.post(f"{url}/approve", headers=bob_accountant)
    assert (refused.status_code, refused.json()["error"]["code"]) == (
        403,
        "approval_role_missing",
    )
    assert client.get(url, headers=carl).json()["status"] == "requested"

    approved = client.post(f"{url}/approve", json={"note": "fine"}, headers=carl)
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert (body["status"], body["decision_note"], body["decided_by_owner"]) == (
        "approved",
        "fine",
        "carl",
    )
    assert body["result"]["echo"] == 1
    again = client.post(f"{url}/approve", headers=carl)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "approval_closed")


def test_listing_filters_and_pages_with_a_cursor(
    client: TestClient, sqlite_app: Ordertrail
) -> None:
    ana = key(sqlite_app, "revenue_accountant", "ana")
    carl = key(sqlite_app, "controller", "carl")
    ids = [ask(client, ana, value)["request_id"] for value in range(3)]
    client.post(f"/v1/approvals/{ids[0]}/reject", headers=carl)
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(5):
        params: dict[str, Any] = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/approvals", params=params, headers=carl).json()
        seen += [item["request_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids)
    rejected = client.get("/v1/approvals", params={"status": "rejected"}, headers=carl).json()
    assert [item["request_id"] for item in rejected["items"]] == [ids[0]]
    bad = client.get("/v1/approvals", params={"cursor": "nope"}, headers=carl)
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "invalid_cursor")
    kinds = client.get("/v1/approvals/kinds", headers=carl).json()["items"]
    assert {"kind": "modification.treatment", "required_role": "controller"} in kinds


def test_an_unknown_kind_or_a_bad_payload_is_refused_when_requested(
    client: TestClient, sqlite_app: Ordertrail
) -> None:
    ana = key(sqlite_app, "revenue_accountant", "ana")
    unknown = client.post(
        "/v1/approvals",
        json={"kind": "nope", "subject": "order:SO-1", "reason": "r"},
        headers=ana,
    )
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (
        422,
        "unknown_approval_kind",
    )
    bad = client.post(
        "/v1/approvals",
        json={"kind": "modification.treatment", "subject": "contract:c", "reason": "r"},
        headers=ana,
    )
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "invalid_approval_request")


def test_the_treatment_endpoint_files_a_request_instead_of_changing_the_contract(
    sqlite_app: Ordertrail,
) -> None:
    load_catalog(sqlite_app)
    admin, _ = make_principal(sqlite_app, tenant_id=TENANT, roles=("admin",))
    sqlite_app.ingest(raw_events=order_events(), principal=admin)
    pump(sqlite_app)
    ana = key(sqlite_app, "revenue_accountant", "ana")
    with TestClient(create_app(sqlite_app)) as client:
        response = client.post(
            "/v1/revenue/contracts/ctr-SO-1/modifications/2/treatment",
            json={"treatment": "cumulative_catch_up", "reason": "one installation"},
            headers=ana,
        )
    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["kind"], body["status"], body["subject"]) == (
        "modification.treatment",
        "requested",
        "contract:ctr-SO-1/v2",
    )
    assert body["payload"]["treatment"] == "cumulative_catch_up"
