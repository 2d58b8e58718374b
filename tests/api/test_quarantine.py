"""GET /v1/quarantine: every rejected submission with its reason, filtered and paginated."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.builders import delivered, dispatched, placed, qty


@pytest.fixture
def rejections(client, acme, clock):
    """Five rejections of three kinds over two orders, a millisecond apart, oldest first."""
    sent = [
        ("unknown_order", dispatched("S1", qty(l1=1), order_id="SO-1")),
        ("unknown_order", delivered("S1", order_id="SO-1")),
        ("unknown_order", dispatched("S2", qty(l1=1), order_id="SO-2")),
        ("unsupported_schema_version", placed(order_id="SO-2", schema_version=7)),
        ("malformed_json", "{oops"),
    ]
    ids = []
    for code, event in sent:
        if isinstance(event, str):
            response = client.post("/v1/events", content=event, headers=acme)
        else:
            response = client.post("/v1/events", json=event, headers=acme)
        assert response.json()["error"]["code"] == code
        ids.append(response.json()["error"]["quarantine_id"])
        clock.advance(timedelta(milliseconds=1))
    return ids, sent


def page(client, headers, **params):
    response = client.get("/v1/quarantine", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_quarantine_lists_every_rejection_newest_first_with_its_body_and_reason(
    client, acme, rejections
):
    ids, sent = rejections
    items = page(client, acme)["items"]

    assert [i["quarantine_id"] for i in items] == list(reversed(ids))
    newest = items[0]
    assert (newest["reason_code"], newest["body"], newest["event_id"]) == (
        "malformed_json",
        "{oops",
        None,
    )
    oldest = items[-1]
    assert json.loads(oldest["body"]) == sent[0][1]
    assert (oldest["order_id"], oldest["event_type"], oldest["source"]) == (
        "SO-1",
        "shipment.dispatched",
        "wms",
    )
    assert oldest["reason"]
    assert oldest["actor"].startswith("key:")
    assert len(oldest["checksum_sha256"]) == 64


def test_the_quarantine_filters_by_order_and_by_reason(client, acme, rejections):
    ids, _ = rejections

    by_order = page(client, acme, order_id="SO-2")["items"]
    assert [i["quarantine_id"] for i in by_order] == [ids[3], ids[2]]
    by_reason = page(client, acme, reason_code="unknown_order")["items"]
    assert [i["quarantine_id"] for i in by_reason] == [ids[2], ids[1], ids[0]]
    both = page(client, acme, order_id="SO-2", reason_code="unknown_order")["items"]
    assert [i["quarantine_id"] for i in both] == [ids[2]]
    assert page(client, acme, order_id="SO-404")["items"] == []


def test_following_quarantine_cursors_lists_every_rejection_once(client, acme, rejections):
    ids, _ = rejections
    seen, cursor = [], None
    for _ in range(10):
        body = page(client, acme, limit=2, **({"cursor": cursor} if cursor else {}))
        seen += [i["quarantine_id"] for i in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))


def test_quarantine_pages_hold_together_when_rejections_share_an_instant(client, acme):
    # The fixed clock does not move here: every row has the same received_at.
    for i in range(5):
        client.post(
            "/v1/events", json=dispatched("S1", qty(l1=1), order_id=f"SO-{i}"), headers=acme
        )
    everything = [i["quarantine_id"] for i in page(client, acme)["items"]]
    seen, cursor = [], None
    for _ in range(10):
        body = page(client, acme, limit=2, **({"cursor": cursor} if cursor else {}))
        seen += [i["quarantine_id"] for i in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(everything) == 5
    assert seen == everything


@pytest.mark.parametrize("limit", [0, 501])
def test_a_quarantine_page_size_out_of_bounds_is_a_422(client, acme, limit):
    response = client.get("/v1/quarantine", params={"limit": limit}, headers=acme)
    assert response.status_code == 422
    assert [f["loc"] for f in response.json()["error"]["fields"]] == ["query.limit"]


# ---- replay ----------------------------------------------------------------------------------


def test_a_quarantined_event_replayed_after_its_cause_is_fixed_is_applied(client, acme):
    early = client.post("/v1/events", json=dispatched("S1", qty(l1=1), minutes=5), headers=acme)
    quarantine_id = early.json()["error"]["quarantine_id"]
    client.post("/v1/events", json=placed(), headers=acme)

    response = client.post(f"/v1/quarantine/{quarantine_id}/replay", headers=acme)

    assert response.status_code == 201, response.text
    assert (response.json()["quarantine_id"], response.json()["outcome"]) == (
        quarantine_id,
        "applied",
    )
    assert client.get("/v1/orders/SO-1", headers=acme).json()["status"] == "partially_fulfilled"


def test_another_tenants_quarantine_item_cannot_be_replayed_and_looks_missing(client, key_for):
    acme, globex = key_for("acme"), key_for("globex")
    theirs = client.post(
        "/v1/events", json=dispatched("S1", qty(l1=1), tenant_id="globex"), headers=globex
    )
    quarantine_id = theirs.json()["error"]["quarantine_id"]

    response = client.post(f"/v1/quarantine/{quarantine_id}/replay", headers=acme)
    missing = client.post("/v1/quarantine/q-none/replay", headers=acme)

    assert response.status_code == missing.status_code == 404
    assert response.json()["error"]["code"] == missing.json()["error"]["code"]
    assert client.post(
        "/v1/quarantine/replay", params={"order_id": "SO-1"}, headers=acme
    ).json() == {"results": []}


UNREPLAYABLE_BODIES = {
    "not json": b"{oops",
    "NaN": b'{"event_id": "e-1", "payload": {"amount": NaN}}',
    "lone surrogate": b'{"event_id": "e-1", "type": "\\ud800"}',
    "nested 100,000 deep": b"[" * 100_000 + b"]" * 100_000,
}


@pytest.mark.parametrize("body", UNREPLAYABLE_BODIES.values(), ids=UNREPLAYABLE_BODIES.keys())
def test_replaying_a_body_that_was_not_json_is_a_422_not_replayable(client, acme, body):
    kept = client.post("/v1/events", content=body, headers=acme).json()["error"]["quarantine_id"]

    response = client.post(f"/v1/quarantine/{kept}/replay", headers=acme)

    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "not_replayable"
