"""POST /v1/events/batch: up to 1,000 events in one transaction, one result per event, in order."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ordertrail.bootstrap import Ordertrail
from ordertrail.entrypoints.api import create_app
from ordertrail.services.ports import ConcurrentWrite
from tests.api.conftest import quarantined, row_count
from tests.builders import delivered, dispatched, placed, qty

BATCH_SIZE_MAX = 1000


def post_batch(client: TestClient, headers: dict[str, str], body: Any) -> Any:
    return client.post("/v1/events/batch", json=body, headers=headers)


@pytest.mark.parametrize("wrap", [list, lambda events: {"events": events}], ids=["array", "object"])
def test_a_batch_is_an_array_or_an_object_with_events_and_answers_in_order(client, acme, wrap):
    events = [
        placed(event_id="e-1"),
        dispatched("S1", qty(l1=2, l2=1), event_id="e-2", minutes=5),
        delivered("S1", event_id="e-3", minutes=9),
    ]

    response = post_batch(client, acme, wrap(events))

    assert response.status_code == 200
    body = response.json()
    assert body["summary"] == {"applied": 3, "duplicate": 0, "rejected": 0, "conflict": 0}
    assert [(r["index"], r["event_id"], r["outcome"]) for r in body["results"]] == [
        (0, "e-1", "applied"),
        (1, "e-2", "applied"),
        (2, "e-3", "applied"),
    ]
    assert [r["order_status"] for r in body["results"]] == ["pending", "fulfilled", "delivered"]


def test_a_mixed_batch_applies_the_valid_events_and_quarantines_the_rest(client, acme, app):
    placed_again = placed(event_id="e-1")
    conflicting = placed(event_id="e-1", lines=[("1", "WIDGET", 9, 1)])
    invalid = {**placed(order_id="SO-2", event_id="e-bad"), "schema_version": 99}
    unknown_order = dispatched("S1", qty(l1=1), order_id="SO-3", event_id="e-orphan")
    events = [
        placed(event_id="e-1"),
        invalid,
        placed_again,
        conflicting,
        unknown_order,
        dispatched("S1", qty(l1=1), event_id="e-ship", minutes=3),
    ]

    response = post_batch(client, acme, events)

    assert response.status_code == 200
    body = response.json()
    assert body["summary"] == {"applied": 2, "duplicate": 1, "rejected": 2, "conflict": 1}
    outcomes = [(r["outcome"], r.get("error", {}).get("code")) for r in body["results"]]
    assert outcomes == [
        ("applied", None),
        ("rejected", "unsupported_schema_version"),
        ("duplicate", None),
        ("conflict", "idempotency_conflict"),
        ("rejected", "unknown_order"),
        ("applied", None),
    ]
    assert row_count(app, "events") == 2
    assert row_count(app, "outbox") == 2
    kept = {item["quarantine_id"]: item for item in quarantined(client, acme)}
    rejected = [r for r in body["results"] if r["outcome"] in ("rejected", "conflict")]
    assert {r["error"]["quarantine_id"] for r in rejected} == set(kept)
    for result in rejected:
        stored = json.loads(kept[result["error"]["quarantine_id"]]["body"])
        assert stored == events[result["index"]]


def test_an_empty_batch_applies_nothing(client, acme, app):
    response = post_batch(client, acme, [])
    assert response.status_code == 200
    assert response.json() == {
        "summary": {"applied": 0, "duplicate": 0, "rejected": 0, "conflict": 0},
        "results": [],
    }


def test_a_batch_of_1000_events_is_accepted(client, acme, app):
    events = [placed(order_id=f"SO-{i}") for i in range(BATCH_SIZE_MAX)]
    response = post_batch(client, acme, events)
    assert response.status_code == 200
    assert response.json()["summary"]["applied"] == BATCH_SIZE_MAX
    assert row_count(app, "events") == BATCH_SIZE_MAX


def test_a_batch_of_1001_events_is_refused_with_413_and_nothing_is_applied(client, acme, app):
    events = [placed(order_id=f"SO-{i}") for i in range(BATCH_SIZE_MAX + 1)]

    response = post_batch(client, acme, events)

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "batch_too_large"
    for table in ("events", "orders", "outbox", "transitions"):
        assert row_count(app, table) == 0


SHAPELESS = {
    "object without events": {"event": placed()},
    "events not a list": {"events": placed()},
    "a single event": placed(),
    "a string": "events",
}


@pytest.mark.parametrize("body", SHAPELESS.values(), ids=SHAPELESS.keys())
def test_a_batch_that_is_not_a_list_of_events_is_a_422_and_kept_in_quarantine(
    client, acme, app, body
):
    response = post_batch(client, acme, body)

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_batch"
    # Nothing a client sent is ever lost: the body is kept, under the same code.
    [kept] = quarantined(client, acme, reason_code="invalid_batch")
    assert json.loads(kept["body"]) == body
    assert row_count(app, "events") == 0


class FailingAfterWrite:
    """A unit of work that writes every row for real and then fails before commit."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def __enter__(self) -> FailingAfterWrite:
        self.real.__enter__()
        self.orders = self
        return self

    def __exit__(self, *exc: object) -> None:
        self.real.__exit__(*exc)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real.orders, name)

    def write(self, **kwargs: Any) -> None:
        self.real.orders.write(**kwargs)
        raise OSError("disk full")

    def commit(self) -> None:  # pragma: no cover - never reached
        self.real.commit()


def test_a_batch_is_one_transaction_so_a_failure_leaves_nothing_behind(app, acme):
    real_factory = app.uow_factory
    app.uow_factory = lambda: FailingAfterWrite(real_factory())
    events = [
        placed(event_id="e-1"),
        dispatched("S1", qty(l1=1), event_id="e-2", minutes=1),
        {**placed(order_id="SO-2"), "schema_version": 99},
    ]
    with TestClient(create_app(app), raise_server_exceptions=False) as client:
        response = post_batch(client, acme, events)

    assert response.status_code == 500
    for table in ("events", "orders", "outbox", "transitions", "quarantine"):
        assert row_count(app, table) == 0, table


def test_a_batch_naming_another_tenant_quarantines_those_events_under_the_keys_tenant(
    client, key_for, app: Ordertrail
):
    acme, globex = key_for("acme"), key_for("globex")
    response = post_batch(
        client, acme, [placed(event_id="mine"), placed(order_id="SO-9", tenant_id="globex")]
    )

    results = response.json()["results"]
    assert [r["outcome"] for r in results] == ["applied", "rejected"]
    assert results[1]["error"]["code"] == "tenant_mismatch"
    assert [q["reason_code"] for q in quarantined(client, acme)] == ["tenant_mismatch"]
    assert quarantined(client, globex) == []
    assert row_count(app, "events", tenant_id="globex") == 0


class AlwaysConcurrent(FailingAfterWrite):
    """A unit of work whose write always loses a race with another transaction."""

    def write(self, **kwargs: Any) -> None:
        raise ConcurrentWrite("an order changed since it was loaded")


@pytest.mark.parametrize("path", ["/v1/events", "/v1/events/batch"])
def test_losing_every_retry_to_concurrent_writers_is_a_503_to_retry_not_a_500(app, acme, path):
    real_factory = app.uow_factory
    app.uow_factory = lambda: AlwaysConcurrent(real_factory())
    body = placed() if path == "/v1/events" else [placed()]
    with TestClient(create_app(app), raise_server_exceptions=False) as client:
        response = client.post(path, json=body, headers=acme)

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "concurrent_write"
    assert int(response.headers["retry-after"]) >= 1
    assert row_count(app, "events") == 0
