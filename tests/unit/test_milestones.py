"""Milestone messages: what downstream consumers (revenue, monitoring) may rely on."""

from __future__ import annotations

import json

import pytest

from ordertrail.domain.canonical import canonical_json
from ordertrail.domain.orders import CURRENT_VERSION, Order
from ordertrail.services.milestones import (
    CRITICAL_EVENT_TYPES,
    MILESTONE_SCHEMA_VERSION,
    lane_of,
    milestone_message,
)
from tests.builders import placed
from tests.conftest import NOW
from tests.unit.support import deliver, dispatch, hold, lq, new_order, parsed


def test_an_applied_event_s_message_carries_the_event_the_change_and_the_order():
    order = new_order()
    order.apply(dispatch("S1", lq(l1=2, l2=1), minutes=1))
    event = deliver("S1", event_id="evt-d1", minutes=2)
    change = order.apply(event)
    message = milestone_message(event=event, order=order, change=change, recorded_at=NOW)
    assert message["message_id"] == "acme/evt-d1"
    assert message["schema_version"] == MILESTONE_SCHEMA_VERSION
    assert (message["tenant_id"], message["order_id"], message["event_id"]) == (
        "acme",
        "SO-1",
        "evt-d1",
    )
    assert (message["event_type"], message["source"]) == ("shipment.delivered", "carrier:ups")
    assert message["occurred_at"] == "2026-11-02T09:02:00+00:00"
    assert message["recorded_at"] == NOW.isoformat()
    assert message["payload"]["shipment_id"] == "S1"
    assert message["change"] == {
        "from_status": "fulfilled",
        "to_status": "delivered",
        "effect": "applied",
        "late": False,
    }
    assert message["order"]["version"] == 3
    assert message["order"]["status"] == "delivered"
    assert message["order"]["lines"][0] == {
        "line_id": "1",
        "sku": "WIDGET",
        "unit_price_minor": 1500,
        "ordered": 2,
        "allocated": 0,
        "backordered": 0,
        "shipped": 2,
        "delivered": 2,
        "accepted": 0,
        "returned": 0,
        "cancelled": 0,
    }
    assert json.loads(canonical_json(message)) == message


def test_the_placed_message_has_no_previous_status_and_the_upcast_payload():
    event = parsed(placed())
    order, change = Order.place(event)
    message = milestone_message(event=event, order=order, change=change, recorded_at=NOW)
    assert message["change"]["from_status"] is None
    assert message["payload"]["lines"][0]["unit_price_minor"] == 1500
    assert message["order"]["shipping_terms"] == "fob_destination"


def test_flags_travel_with_the_order():
    order = new_order()
    event = hold("H1")
    change = order.apply(event)
    message = milestone_message(event=event, order=order, change=change, recorded_at=NOW)
    assert (message["order"]["on_hold"], message["order"]["disputed"]) == (True, False)


@pytest.mark.parametrize("event_type", sorted(CURRENT_VERSION))
def test_every_event_type_has_a_lane(event_type):
    assert lane_of(event_type) in {"critical", "bulk"}


def test_revenue_facts_travel_on_the_critical_lane_and_stock_facts_on_bulk():
    critical = ("order.placed", "order.confirmed", "shipment.delivered", "return.received")
    for event_type in (*critical, "hold.placed"):
        assert lane_of(event_type) == "critical"
    for event_type in ("line.allocated", "line.backordered"):
        assert lane_of(event_type) == "bulk"
    assert set(CURRENT_VERSION) >= CRITICAL_EVENT_TYPES
