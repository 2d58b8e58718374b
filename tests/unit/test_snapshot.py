"""order_to_state / order_from_state: the projection's JSON form inverts exactly."""

from __future__ import annotations

import json

import pytest

from ordertrail.domain.canonical import canonical_json
from ordertrail.domain.orders import InvariantViolation, Order, order_from_state, order_to_state
from tests.builders import envelope
from tests.unit.support import (
    accept,
    allocate,
    apply_all,
    backorder,
    confirm,
    credit,
    dispatch,
    hold,
    invoice,
    lq,
    new_order,
    open_dispute,
    parsed,
    return_,
)


def busy_order() -> Order:
    order = new_order(lines=[("1", "WIDGET", 4, 1500), ("2", "GADGET", 2, 4000)])
    delivered = envelope(
        "shipment.delivered",
        {
            "shipment_id": "S1",
            "proof_of_delivery": {"signed_by": "R. Doe", "delivered_at": "2026-11-03T10:00:00Z"},
        },
        minutes=60,
    )
    apply_all(
        order,
        confirm(minutes=1),
        allocate(lq(l1=2), minutes=2),
        backorder(lq(l1=2), minutes=3),
        dispatch("S1", lq(l1=2, l2=1), minutes=4),
        parsed(delivered),
        accept(lq(l1=1), minutes=61),
        return_("R1", lq(l2=1), minutes=62),
        invoice("INV-1", 7000, minutes=63),
        credit("CN-1", 4000, minutes=64),
        hold("H1", minutes=65),
        open_dispute("D1", ["1"], minutes=66),
    )
    return order


def round_trip(order: Order) -> Order:
    state = json.loads(canonical_json(order_to_state(order)))
    return order_from_state(
        tenant_id=order.tenant_id,
        order_id=order.order_id,
        status=order.status.value,
        version=order.version,
        state=state,
    )


@pytest.mark.parametrize("make", [new_order, busy_order])
def test_an_order_survives_the_json_round_trip_exactly(make):
    order = make()
    again = round_trip(order)
    assert again == order
    assert order_to_state(again) == order_to_state(order)


def test_the_state_is_plain_json_data():
    state = order_to_state(busy_order())
    assert json.loads(json.dumps(state)) == state
    assert state["document_ids"] == ["credit_note:CN-1", "invoice:INV-1", "return:R1"]
    assert state["shipments"][0]["proof_of_delivery"]["signed_by"] == "R. Doe"


def test_a_restored_order_keeps_applying_events():
    again = round_trip(busy_order())
    again.apply(dispatch("S2", lq(l1=1), minutes=70))
    assert again.lines["1"].shipped == 3


def test_a_state_that_breaks_an_invariant_is_refused_on_the_way_in():
    order = new_order()
    state = order_to_state(order)
    state["lines"][0]["shipped"] = 5  # more than ordered
    with pytest.raises(InvariantViolation, match="shipped within active"):
        order_from_state(
            tenant_id="acme", order_id="SO-1", status="pending", version=1, state=state
        )


def test_a_status_that_the_quantities_do_not_imply_is_refused_on_the_way_in():
    state = order_to_state(new_order())
    with pytest.raises(InvariantViolation, match="quantities say pending"):
        order_from_state(
            tenant_id="acme", order_id="SO-1", status="delivered", version=1, state=state
        )


def test_the_state_is_a_snapshot_that_later_events_do_not_change():
    order = busy_order()
    state = order_to_state(order)
    frozen = json.loads(json.dumps(state))
    apply_all(
        order,
        hold("H2", minutes=70),
        open_dispute("D2", minutes=71),
        dispatch("S2", lq(l1=1), minutes=72),
        parsed(envelope("shipment.delivered", {"shipment_id": "S1"}, minutes=73)),
    )
    assert state == frozen
