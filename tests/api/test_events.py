"""POST /v1/events: applied, duplicate, conflict, or rejected with codes, and never lost."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ordertrail.bootstrap import Ordertrail
from tests.api.conftest import Headers, quarantined, row_count
from tests.builders import delivered, dispatched, envelope, placed, qty
from tests.conftest import NOW


def post(client: TestClient, headers: Headers, event: Any) -> Any:
    return client.post("/v1/events", json=event, headers=headers)


def timeline(client: TestClient, headers: Headers, order_id: str = "SO-1") -> dict[str, Any]:
    response = client.get(f"/v1/orders/{order_id}/timeline", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def effect_counts(app: Ordertrail) -> dict[str, int]:
    return {
        table: row_count(app, table)
        for table in ("events", "transitions", "outbox", "quarantine", "orders")
    }


# ---- applied and idempotent ------------------------------------------------------------------


def test_a_valid_event_is_applied_with_201_and_the_order_state(client, acme):
    response = post(client, acme, placed(event_id="e-1"))
    assert response.status_code == 201
    assert response.json() == {
        "index": 0,
        "outcome": "applied",
        "event_id": "e-1",
        "order_id": "SO-1",
        "order_status": "pending",
        "order_version": 1,
        "effect": "applied",
        "late": False,
    }


def test_an_applied_event_writes_one_event_one_outbox_row_and_one_transition(client, acme, app):
    post(client, acme, placed(event_id="e-1"))
    assert row_count(app, "events", event_id="e-1") == 1
    assert row_count(app, "outbox", event_id="e-1") == 1
    assert row_count(app, "transitions", cause_event_id="e-1") == 1


def test_resending_the_same_event_answers_200_with_the_original_result_and_no_effect(
    client, acme, app
):
    first = post(client, acme, placed(event_id="e-1"))
    second_event = dispatched("S1", qty(l1=1), event_id="e-2", minutes=5)
    post(client, acme, second_event)
    before = effect_counts(app)
    before_timeline = timeline(client, acme)

    again = post(client, acme, placed(event_id="e-1"))

    assert again.status_code == 200
    assert again.json() == {**first.json(), "outcome": "duplicate"}
    assert effect_counts(app) == before
    assert timeline(client, acme) == before_timeline
    assert client.get("/v1/orders/SO-1", headers=acme).json()["version"] == 2


def test_a_duplicate_is_recognised_whatever_the_key_order_and_whitespace(client, acme, app):
    event = placed(event_id="e-1")
    post(client, acme, event)
    reordered = json.dumps(dict(reversed(list(event.items()))), indent=4)

    response = client.post("/v1/events", content=reordered, headers=acme)

    assert response.status_code == 200
    assert response.json()["outcome"] == "duplicate"
    assert row_count(app, "events") == 1


def test_reusing_an_event_id_with_another_payload_is_a_409_conflict_kept_in_quarantine(
    client, acme, app
):
    post(client, acme, placed(event_id="e-1"))
    before = effect_counts(app)
    changed = placed(event_id="e-1", lines=[("1", "WIDGET", 3, 1500)])

    response = post(client, acme, changed)

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "idempotency_conflict"
    [kept] = quarantined(client, acme, reason_code="idempotency_conflict")
    assert kept["quarantine_id"] == error["quarantine_id"]
    assert json.loads(kept["body"]) == changed
    assert effect_counts(app) == {**before, "quarantine": before["quarantine"] + 1}
    assert client.get("/v1/orders/SO-1", headers=acme).json()["lines"][0]["ordered"] == 2


def test_the_same_event_id_in_two_tenants_is_two_different_events(client, key_for, app):
    acme, globex = key_for("acme"), key_for("globex")
    assert post(client, acme, placed(event_id="e-1")).status_code == 201
    assert post(client, globex, placed(event_id="e-1", tenant_id="globex")).status_code == 201
    assert row_count(app, "events", event_id="e-1") == 2


# ---- rejected with machine-readable codes ----------------------------------------------------


def without(event: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k != name}


def with_first_line_quantity(quantity: Any) -> dict[str, Any]:
    event = placed()
    event["payload"]["lines"][0]["quantity"] = quantity
    return event


INVALID_EVENTS = {
    "missing event_id": (without(placed(), "event_id"), "schema_invalid", "event_id", "missing"),
    "missing payload field": (
        envelope("shipment.delivered", {}),
        "schema_invalid",
        "payload.shipment_id",
        "missing",
    ),
    "float quantity": (
        with_first_line_quantity(2.5),
        "schema_invalid",
        "payload.lines.0.quantity",
        "int_type",
    ),
    "whole float quantity": (
        with_first_line_quantity(2.0),
        "schema_invalid",
        "payload.lines.0.quantity",
        "int_type",
    ),
    "string quantity": (
        with_first_line_quantity("2"),
        "schema_invalid",
        "payload.lines.0.quantity",
        "int_type",
    ),
    "zero quantity": (
        with_first_line_quantity(0),
        "schema_invalid",
        "payload.lines.0.quantity",
        "greater_than",
    ),
    "unknown field": (
        {**placed(), "priority": "high"},
        "schema_invalid",
        "priority",
        "extra_forbidden",
    ),
    "naive occurred_at": (
        {**placed(), "occurred_at": "2026-11-02T09:00:00"},
        "schema_invalid",
        "occurred_at",
        "timezone_aware",
    ),
    "unknown event type": (
        envelope("order.teleported", {}, schema_version=1),
        "unknown_event_type",
        "type",
        "unknown_event_type",
    ),
    "unsupported schema version": (
        placed(schema_version=99),
        "unsupported_schema_version",
        "schema_version",
        "unsupported_schema_version",
    ),
    "occurred in the future": (
        placed(at=NOW + timedelta(hours=1)),
        "occurred_in_future",
        "occurred_at",
        "occurred_in_future",
    ),
    "unknown currency": (placed(currency="XXQ"), "unknown_currency", "payload.currency", None),
}


@pytest.mark.parametrize("case", INVALID_EVENTS.values(), ids=INVALID_EVENTS.keys())
def test_an_invalid_event_is_a_422_with_a_code_per_field_and_is_quarantined(
    client, acme, app, case
):
    event, code, loc, field_code = case
    response = post(client, acme, event)

    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["kind"]) == (code, "schema")
    fields = {f["loc"]: f["code"] for f in error["fields"]}
    assert loc in fields, fields
    if field_code is not None:
        assert fields[loc] == field_code
    assert all(f["message"] for f in error["fields"])
    [kept] = quarantined(client, acme)
    assert kept["quarantine_id"] == error["quarantine_id"]
    assert kept["reason_code"] == code
    assert json.loads(kept["body"]) == event
    assert row_count(app, "events") == 0
    assert row_count(app, "outbox") == 0


def test_every_problem_of_an_event_is_reported_at_once(client, acme):
    event = without(without(placed(), "event_id"), "order_id")
    event["schema_version"] = "2"

    response = post(client, acme, event)

    locs = {f["loc"] for f in response.json()["error"]["fields"]}
    assert locs >= {"event_id", "order_id", "schema_version"}


def test_a_body_that_is_not_an_object_is_rejected_and_quarantined(client, acme):
    response = post(client, acme, [placed()])
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "schema_invalid"
    [kept] = quarantined(client, acme)
    assert json.loads(kept["body"]) == [placed(event_id=json.loads(kept["body"])[0]["event_id"])]


# ---- refused by the order lifecycle ----------------------------------------------------------


def lifecycle_cases() -> dict[str, tuple[list[dict[str, Any]], dict[str, Any], str]]:
    """Name -> (events applied first, the refused event, its lifecycle code)."""
    return {
        "shipment of an order never placed": (
            [],
            dispatched("S1", qty(l1=1)),
            "unknown_order",
        ),
        "a second order.placed": ([placed()], placed(minutes=1), "order_exists"),
        "shipping more than ordered": (
            [placed()],
            dispatched("S1", qty(l1=3), minutes=1),
            "quantity_exceeds_unshipped",
        ),
        "delivery of an unknown shipment": (
            [placed()],
            delivered("S9", minutes=1),
            "unknown_shipment",
        ),
        "an unknown line": ([placed()], dispatched("S1", qty(l7=1), minutes=1), "unknown_line"),
        "a late amendment that would move a shipped order back": (
            [placed(), dispatched("S1", qty(l1=2, l2=1), minutes=10)],
            envelope(
                "order.amended",
                {"reason": "more", "lines": [{"line_id": "1", "quantity": 3}]},
                minutes=5,
            ),
            "late_event_regresses",
        ),
    }


@pytest.mark.parametrize("case", lifecycle_cases().keys())
def test_an_event_the_lifecycle_refuses_is_a_422_with_its_code_and_the_full_body_kept(
    client, acme, app, case
):
    before_events, refused, code = lifecycle_cases()[case]
    for event in before_events:
        assert post(client, acme, event).status_code == 201
    state_before = client.get("/v1/orders/SO-1", headers=acme).json()
    before = effect_counts(app)

    response = post(client, acme, refused)

    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["kind"]) == (code, "lifecycle")
    [kept] = quarantined(client, acme, reason_code=code)
    assert json.loads(kept["body"]) == refused
    assert (kept["event_id"], kept["order_id"], kept["event_type"], kept["source"]) == (
        refused["event_id"],
        refused["order_id"],
        refused["type"],
        refused["source"],
    )
    assert effect_counts(app) == {**before, "quarantine": before["quarantine"] + 1}
    assert client.get("/v1/orders/SO-1", headers=acme).json() == state_before


def test_a_refused_event_can_be_sent_again_once_its_cause_is_fixed(client, acme):
    early = dispatched("S1", qty(l1=1), minutes=5)
    assert post(client, acme, early).status_code == 422
    assert post(client, acme, placed()).status_code == 201
    assert post(client, acme, early).status_code == 201


# ---- bodies that are not JSON ----------------------------------------------------------------

NOT_JSON = {
    "truncated": b'{"event_id": "e-1", "type": ',
    "not json at all": b"event_id=e-1&type=order.placed",
    "invalid utf-8": b'{"event_id": "\xff\xfe"}',
    "empty": b"",
    # Valid for Python's json module, but not JSON (RFC 8259), and not storable as canonical JSON.
    "NaN": b'{"event_id": "e-1", "payload": {"amount": NaN}}',
    "Infinity": b'{"event_id": "e-1", "payload": {"amount": -Infinity}}',
    "lone surrogate": b'{"event_id": "e-1", "type": "\\ud800"}',
    "integer of 5,000 digits": b'{"event_id": "e-1", "schema_version": 1' + b"0" * 5000 + b"}",
    "nested 100,000 deep": b"[" * 100_000 + b"]" * 100_000,
}


@pytest.mark.parametrize("body", NOT_JSON.values(), ids=NOT_JSON.keys())
@pytest.mark.parametrize("path", ["/v1/events", "/v1/events/batch"])
def test_a_body_that_is_not_json_is_a_422_malformed_json_and_kept_in_quarantine(
    client, acme, app, path, body
):
    if path.endswith("/batch") and body.startswith(b"{"):
        body = b"[" + body + b"]"
    response = client.post(path, content=body, headers={**acme, "Content-Type": "application/json"})

    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "malformed_json"
    assert {"code", "message", "fields"} <= set(error)
    [kept] = quarantined(client, acme, reason_code="malformed_json")
    assert kept["quarantine_id"] == error["quarantine_id"]
    assert kept["body"] == body.decode("utf-8", errors="replace")
    assert row_count(app, "events") == 0


NUL_IN_IDENTIFYING_FIELD = {
    "event_id": {**placed(), "event_id": "e-\u0000"},
    "order_id": {**placed(), "order_id": "SO-\u0000"},
    "type": {**placed(), "type": "order.placed\u0000"},
    "source": {**placed(), "source": "oms\u0000"},
}


@pytest.mark.parametrize(
    "event", NUL_IN_IDENTIFYING_FIELD.values(), ids=NUL_IN_IDENTIFYING_FIELD.keys()
)
def test_an_event_with_a_nul_character_in_an_identifying_field_is_quarantined(client, acme, event):
    # PostgreSQL text cannot hold U+0000; the quarantine row must still be written.
    response = post(client, acme, event)

    assert response.status_code == 422
    [kept] = quarantined(client, acme)
    assert json.loads(kept["body"]) == event
