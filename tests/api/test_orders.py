"""Reading orders: one order's state, its timeline, and keyset-paginated lists."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import timedelta, timezone
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import select

from ordertrail.adapters.db.tables import events as events_table
from ordertrail.domain.canonical import canonical_json
from ordertrail.domain.orders import OrderStatus
from tests.builders import delivered, dispatched, envelope, placed, qty
from tests.conftest import NOW

QUANTITIES = (
    "ordered",
    "allocated",
    "backordered",
    "shipped",
    "delivered",
    "accepted",
    "returned",
    "cancelled",
)


def send(client, headers, *events: dict[str, Any]) -> None:
    response = client.post("/v1/events/batch", json=list(events), headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["summary"]["applied"] == len(events), response.text


# ---- one order -------------------------------------------------------------------------------


def test_an_order_shows_its_status_version_flags_and_every_line_quantity(client, acme):
    send(
        client,
        acme,
        placed(lines=[("1", "WIDGET", 3, 1500), ("2", "GADGET", 2, 4000)]),
        envelope("line.allocated", {"lines": qty(l1=3)}, source="wms", minutes=1),
        envelope("line.backordered", {"lines": qty(l2=2)}, source="wms", minutes=2),
        dispatched("S1", qty(l1=2), minutes=3),
        delivered("S1", qty(l1=1), minutes=4),
        envelope("hold.placed", {"hold_id": "H1", "reason_code": "credit"}, minutes=5),
        envelope("dispute.opened", {"dispute_id": "D1", "reason_code": "late"}, minutes=6),
    )

    order = client.get("/v1/orders/SO-1", headers=acme).json()

    assert (order["order_id"], order["tenant_id"]) == ("SO-1", "acme")
    assert (order["status"], order["version"]) == ("partially_delivered", 7)
    assert (order["customer_id"], order["currency"]) == ("CUST-1", "USD")
    lines = {line["line_id"]: {q: line[q] for q in QUANTITIES} for line in order["lines"]}
    assert lines == {
        "1": dict.fromkeys(QUANTITIES, 0)
        | {"ordered": 3, "allocated": 3, "shipped": 2, "delivered": 1},
        "2": dict.fromkeys(QUANTITIES, 0) | {"ordered": 2, "backordered": 2},
    }
    assert {line["line_id"]: line["unit_price_minor"] for line in order["lines"]} == {
        "1": 1500,
        "2": 4000,
    }
    assert order["flags"]["on_hold"] is True
    assert "H1" in order["flags"]["holds"]
    assert order["flags"]["disputed"] is True
    assert "D1" in order["flags"]["disputes"]
    [shipment] = order["shipments"]
    assert (shipment["shipment_id"], shipment["lines"], shipment["delivered"]) == (
        "S1",
        {"1": 2},
        {"1": 1},
    )


def test_an_order_nobody_placed_is_a_404_in_the_error_shape(client, acme):
    response = client.get("/v1/orders/SO-404", headers=acme)
    assert response.status_code == 404
    assert response.json() == {
        "error": {
            "code": "order_not_found",
            "message": response.json()["error"]["message"],
            "fields": [],
        }
    }


# ---- the timeline ----------------------------------------------------------------------------


def test_the_timeline_lists_events_by_occurred_at_with_late_arrivals_in_their_place(client, acme):
    send(client, acme, placed(event_id="e-placed"))
    send(client, acme, dispatched("S1", qty(l1=2, l2=1), event_id="e-ship", minutes=30))
    send(client, acme, envelope("order.confirmed", {}, event_id="e-confirm", minutes=10))

    timeline = client.get("/v1/orders/SO-1/timeline", headers=acme).json()

    entries = timeline["entries"]
    assert [e["event_id"] for e in entries] == ["e-placed", "e-confirm", "e-ship"]
    assert [e["occurred_at"] for e in entries] == sorted(e["occurred_at"] for e in entries)
    assert [e["late"] for e in entries] == [False, True, False]
    by_id = {e["event_id"]: e for e in entries}
    assert by_id["e-confirm"]["sequence"] > by_id["e-ship"]["sequence"]
    assert (timeline["status"], timeline["version"]) == ("fulfilled", 3)
    assert by_id["e-ship"]["transition"]["from"] == "pending"
    assert by_id["e-ship"]["transition"]["to"] == "fulfilled"
    assert [(t["from"], t["to"]) for t in timeline["transitions"]] == [
        (None, "pending"),
        ("pending", "fulfilled"),
    ]


def test_events_that_occurred_at_the_same_moment_keep_their_arrival_order(client, acme):
    send(client, acme, placed(event_id="e-1"))
    send(
        client, acme, envelope("hold.placed", {"hold_id": "H", "reason_code": "x"}, event_id="e-2")
    )
    send(client, acme, envelope("hold.released", {"hold_id": "H"}, event_id="e-3"))

    entries = client.get("/v1/orders/SO-1/timeline", headers=acme).json()["entries"]

    assert [e["event_id"] for e in entries] == ["e-1", "e-2", "e-3"]


def test_every_timeline_checksum_is_the_sha256_of_the_stored_canonical_body(client, acme, app):
    sent = [
        placed(event_id="e-1"),
        dispatched("S1", qty(l1=1), event_id="e-2", minutes=1),
        delivered("S1", event_id="e-3", minutes=2),
    ]
    send(client, acme, *sent)
    with app.engine.connect() as connection:
        rows = connection.execute(select(events_table.c.event_id, events_table.c.body)).all()
    stored = dict(rows)

    entries = client.get("/v1/orders/SO-1/timeline", headers=acme).json()["entries"]

    assert len(entries) == 3
    for entry, event in zip(entries, sent, strict=True):
        body = stored[entry["event_id"]]
        assert body == canonical_json(event)
        assert entry["checksum_sha256"] == hashlib.sha256(body.encode("utf-8")).hexdigest()
        assert entry["envelope"] == event


def test_the_timeline_of_an_order_never_placed_shows_its_quarantined_events(client, acme):
    early = dispatched("S1", qty(l1=1))
    client.post("/v1/events", json=early, headers=acme)

    timeline = client.get("/v1/orders/SO-1/timeline", headers=acme).json()

    assert (timeline["status"], timeline["entries"]) == (None, [])
    [kept] = timeline["quarantined"]
    assert (kept["reason_code"], json.loads(kept["body"])) == ("unknown_order", early)


# ---- lists -----------------------------------------------------------------------------------


def walk(client, headers, **params: Any) -> list[list[str]]:
    """Follow next_cursor to the end; return the order ids of each page."""
    pages: list[list[str]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = client.get("/v1/orders", params=query, headers=headers)
        assert response.status_code == 200, response.text
        pages.append([o["order_id"] for o in response.json()["items"]])
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 50, "pagination does not end"


def listed(client, headers, **params: Any) -> list[str]:
    """Every order id the list answers, following cursors, in the order given."""
    return [order_id for page in walk(client, headers, **params) for order_id in page]


@pytest.mark.parametrize("updates", ["at one instant", "at distinct instants"])
def test_following_cursors_lists_every_order_once_newest_update_first(client, acme, clock, updates):
    for i in range(7):
        send(client, acme, placed(order_id=f"SO-{i}"))
        if updates == "at distinct instants":
            clock.advance(timedelta(milliseconds=1 + i % 2))

    pages = walk(client, acme, limit=3)

    assert [len(p) for p in pages] == [3, 3, 1]
    # Newest update first; equal update times fall back to order id, descending.
    assert [order_id for page in pages for order_id in page] == [
        f"SO-{i}" for i in reversed(range(7))
    ]


def test_a_full_last_page_has_no_next_cursor(client, acme):
    send(client, acme, *[placed(order_id=f"SO-{i}") for i in range(4)])
    assert [len(p) for p in walk(client, acme, limit=2)] == [2, 2]


def test_the_status_filter_lists_only_orders_in_that_status(client, acme):
    send(client, acme, *[placed(order_id=f"SO-{i}") for i in range(5)])
    send(client, acme, dispatched("S1", qty(l1=2, l2=1), order_id="SO-1", minutes=1))
    send(client, acme, dispatched("S3", qty(l1=2, l2=1), order_id="SO-3", minutes=1))

    assert listed(client, acme, status="fulfilled", limit=1) == ["SO-3", "SO-1"]
    assert listed(client, acme, status="pending") == ["SO-4", "SO-2", "SO-0"]
    assert listed(client, acme, status="cancelled") == []


def test_updated_before_lists_only_orders_updated_strictly_before_it(client, acme, clock):
    send(client, acme, placed(order_id="SO-old"))
    clock.advance(timedelta(hours=1))
    send(client, acme, placed(order_id="SO-new"))

    at_new = (NOW + timedelta(hours=1)).isoformat()
    assert listed(client, acme, updated_before=at_new) == ["SO-old"]
    later = (NOW + timedelta(hours=2)).isoformat().replace("+00:00", "Z")
    assert listed(client, acme, updated_before=later) == ["SO-new", "SO-old"]
    in_paris = (NOW + timedelta(minutes=30)).astimezone(timezone(timedelta(hours=1))).isoformat()
    assert listed(client, acme, updated_before=in_paris) == ["SO-old"]


def cursor_of(parts: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).decode().rstrip("=")


FORGED_CURSORS = {
    "not base64": "%%%",
    "base64 of text": base64.urlsafe_b64encode(b"hello").decode(),
    "not a list": cursor_of({"a": 1}),
    "wrong arity": cursor_of(["2026-11-28T12:00:00+00:00"]),
    "not a time": cursor_of(["yesterday", "SO-1"]),
    "naive time": cursor_of(["2026-11-28T12:00:00", "SO-1"]),
    "numbers": cursor_of([1, 2]),
}


@pytest.mark.parametrize("cursor", FORGED_CURSORS.values(), ids=FORGED_CURSORS.keys())
@pytest.mark.parametrize("path", ["/v1/orders", "/v1/quarantine"])
def test_a_cursor_this_api_did_not_issue_is_a_422_invalid_cursor(client, acme, path, cursor):
    send(client, acme, placed())
    response = client.get(path, params={"cursor": cursor}, headers=acme)

    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_cursor"
    assert [f["loc"] for f in error["fields"]] == ["cursor"]


BAD_QUERIES = {
    "limit 0": ({"limit": 0}, "query.limit"),
    "limit over 500": ({"limit": 501}, "query.limit"),
    "limit not a number": ({"limit": "ten"}, "query.limit"),
    "unknown status": ({"status": "lost"}, "query.status"),
    "updated_before not a time": ({"updated_before": "soon"}, "query.updated_before"),
}


@pytest.mark.parametrize("case", BAD_QUERIES.values(), ids=BAD_QUERIES.keys())
def test_an_invalid_list_parameter_is_a_422_naming_the_parameter(client, acme, case):
    params, loc = case
    response = client.get("/v1/orders", params=params, headers=acme)

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert [f["loc"] for f in error["fields"]] == [loc]


def test_a_naive_updated_before_is_a_422_asking_for_a_time_zone(client, acme):
    response = client.get(
        "/v1/orders", params={"updated_before": "2026-11-28T12:00:00"}, headers=acme
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "naive_timestamp"


def test_the_largest_page_is_500(client, acme):
    assert client.get("/v1/orders", params={"limit": 500}, headers=acme).status_code == 200


def test_every_status_is_a_valid_filter(client, acme):
    for status in OrderStatus:
        response = client.get("/v1/orders", params={"status": status.value}, headers=acme)
        assert response.status_code == 200, status


@pytest.mark.parametrize("order_id", ["SO/2026/001", "SO:1", "a@b.c", "SO-1.2_3"])
def test_an_order_whose_id_the_schema_allows_can_be_read_percent_encoded(client, acme, order_id):
    # Identifiers may contain '.', '_', ':', '/', '@' and '-'; a client percent-encodes them.
    send(client, acme, placed(order_id=order_id))
    encoded = quote(order_id, safe="")

    order = client.get(f"/v1/orders/{encoded}", headers=acme)
    timeline = client.get(f"/v1/orders/{encoded}/timeline", headers=acme)

    assert order.status_code == 200, order.text
    assert order.json()["order_id"] == order_id
    assert timeline.status_code == 200, timeline.text
    assert [e["envelope"]["order_id"] for e in timeline.json()["entries"]] == [order_id]
