"""Published schemas: /v1/schemas, the JSON Schema of each event, and /openapi.json."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from ordertrail.domain.orders import CURRENT_VERSION, SCHEMAS
from ordertrail.entrypoints.api import create_app
from tests.api.conftest import served_routes
from tests.builders import envelope, placed, qty

# One valid event of every type and version, as a producer would send it.
VALID: dict[tuple[str, int], dict[str, Any]] = {
    ("order.placed", 1): envelope(
        "order.placed",
        {
            "customer_id": "C-1",
            "currency": "USD",
            "lines": [{"line_id": "1", "sku": "W", "quantity": 2, "unit_price": "12.50"}],
        },
        schema_version=1,
    ),
    ("order.placed", 2): placed(),
    ("order.confirmed", 1): envelope("order.confirmed", {"confirmed_by": "ops"}),
    ("order.amended", 1): envelope(
        "order.amended", {"reason": "more", "lines": [{"line_id": "1", "quantity": 3}]}
    ),
    ("order.cancelled", 1): envelope("order.cancelled", {"reason": "changed mind"}),
    ("line.allocated", 1): envelope("line.allocated", {"lines": qty(l1=1), "warehouse_id": "W1"}),
    ("line.backordered", 1): envelope(
        "line.backordered", {"lines": qty(l1=1), "expected_at": "2026-12-01T00:00:00Z"}
    ),
    ("shipment.dispatched", 1): envelope(
        "shipment.dispatched",
        {"shipment_id": "S1", "carrier": "ups", "tracking_number": "1Z", "lines": qty(l1=1)},
    ),
    ("shipment.delivered", 1): envelope(
        "shipment.delivered",
        {"shipment_id": "S1", "proof_of_delivery": {"signed_by": "Ann"}},
    ),
    ("delivery.accepted", 1): envelope("delivery.accepted", {"accepted_by": "Ann"}),
    ("return.received", 1): envelope(
        "return.received", {"return_id": "R1", "lines": qty(l1=1), "condition": "damaged"}
    ),
    ("invoice.issued", 1): envelope(
        "invoice.issued", {"invoice_id": "I1", "amount_minor": 3000, "currency": "USD"}
    ),
    ("credit_note.issued", 1): envelope(
        "credit_note.issued",
        {"credit_note_id": "CN1", "amount_minor": 100, "currency": "USD", "reason": "goodwill"},
    ),
    ("hold.placed", 1): envelope("hold.placed", {"hold_id": "H1", "reason_code": "credit"}),
    ("hold.released", 1): envelope("hold.released", {"hold_id": "H1"}),
    ("dispute.opened", 1): envelope("dispute.opened", {"dispute_id": "D1", "reason_code": "x"}),
    ("dispute.closed", 1): envelope("dispute.closed", {"dispute_id": "D1", "outcome": "upheld"}),
}


def invalid_variants(event: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        "without order_id": {k: v for k, v in event.items() if k != "order_id"},
        "with an unknown field": {**event, "extra": 1},
        "with a string schema_version": {**event, "schema_version": str(event["schema_version"])},
        "with a payload field of the wrong type": {
            **event,
            "payload": {**event["payload"], "lines": "1"},
        },
    }


def test_there_is_a_valid_example_of_every_published_schema():
    assert set(VALID) == set(SCHEMAS)


def test_the_catalog_lists_every_type_and_version_and_marks_the_current_one(client, acme):
    items = client.get("/v1/schemas", headers=acme).json()["items"]
    assert {(i["type"], i["version"]) for i in items} == set(SCHEMAS)
    for item in items:
        assert item["current"] == (item["version"] == CURRENT_VERSION[item["type"]])
        assert item["summary"]


@pytest.mark.parametrize("key", sorted(SCHEMAS), ids=lambda k: f"{k[0]}.v{k[1]}")
def test_each_schema_accepts_a_valid_event_that_the_api_also_accepts(client, acme, key):
    event_type, version = key
    response = client.get(f"/v1/schemas/{event_type}/{version}", headers=acme)
    assert response.status_code == 200
    schema = response.json()
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)

    event = VALID[key]
    assert list(validator.iter_errors(event)) == []
    # The server agrees: the event may be refused by the lifecycle, never by its schema.
    answer = client.post("/v1/events", json=event, headers=acme).json()
    assert answer.get("error", {}).get("kind") != "schema", answer


@pytest.mark.parametrize("key", sorted(SCHEMAS), ids=lambda k: f"{k[0]}.v{k[1]}")
def test_each_schema_rejects_invalid_events_that_the_api_also_rejects(client, acme, key):
    schema = client.get(f"/v1/schemas/{key[0]}/{key[1]}", headers=acme).json()
    validator = Draft202012Validator(schema)
    other_type = "hold.placed" if key[0] != "hold.placed" else "hold.released"

    variants = {
        **invalid_variants(VALID[key]),
        "of another type": {**VALID[key], "type": other_type},
    }
    for name, event in variants.items():
        assert list(validator.iter_errors(event)), f"schema accepts an event {name}"
        answer = client.post("/v1/events", json=event, headers=acme).json()
        assert answer["error"]["kind"] == "schema", (name, answer)


UNKNOWN = ["/v1/schemas/order.teleported/1", "/v1/schemas/order.placed/3", "/v1/schemas/x/0"]


@pytest.mark.parametrize("path", UNKNOWN)
def test_an_unknown_schema_is_a_404_schema_not_found(client, acme, path):
    response = client.get(path, headers=acme)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "schema_not_found"


def test_a_version_that_is_not_a_number_is_a_422_naming_the_path_parameter(client, acme):
    response = client.get("/v1/schemas/order.placed/two", headers=acme)
    assert response.status_code == 422
    assert [f["loc"] for f in response.json()["error"]["fields"]] == ["path.version"]


# ---- OpenAPI ---------------------------------------------------------------------------------

DOCUMENTATION_ROUTES = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


def test_openapi_lists_every_route_the_app_serves(client, app):
    spec = client.get("/openapi.json").json()
    documented = {
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        for method in operations
    }
    served = {
        route for route in served_routes(create_app(app)) if route[1] not in DOCUMENTATION_ROUTES
    }
    assert documented == served


def test_openapi_documents_the_event_bodies_that_are_read_raw(client):
    spec = client.get("/openapi.json").json()
    single = spec["paths"]["/v1/events"]["post"]["requestBody"]["content"]["application/json"]
    batch = spec["paths"]["/v1/events/batch"]["post"]["requestBody"]["content"]["application/json"]
    assert set(single["schema"]["required"]) >= {"event_id", "type", "tenant_id", "payload"}
    assert batch["schema"]["type"] == "array"
    assert batch["schema"]["maxItems"] == 1000
