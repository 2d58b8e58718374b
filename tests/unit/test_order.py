"""The order aggregate: placing, fulfilment arithmetic, effects, flags, billing and late events."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ordertrail.domain.orders import IllegalTransition, Order
from ordertrail.domain.orders.status import OrderStatus
from tests.builders import placed
from tests.conftest import T0
from tests.unit.support import (
    accept,
    allocate,
    amend,
    apply_all,
    backorder,
    cancel,
    close_dispute,
    confirm,
    credit,
    deliver,
    dispatch,
    hold,
    invoice,
    lq,
    new_order,
    open_dispute,
    parsed,
    release,
    return_,
)

S = OrderStatus


def quantities(order: Order, line_id: str) -> dict[str, int]:
    return order.lines[line_id].quantities()


def three_line_order() -> Order:
    return new_order(
        lines=[("1", "WIDGET", 5, 1000), ("2", "GADGET", 3, 2500), ("3", "GIZMO", 2, 700)]
    )


class TestPlacing:
    def test_a_placed_order_is_pending_at_version_one_with_its_lines(self):
        order, change = Order.place(parsed(placed(minutes=3)))
        assert (order.status, order.version, order.confirmed) == (S.PENDING, 1, False)
        assert (change.from_status, change.to_status, change.effect) == (None, S.PENDING, "applied")
        assert change.status_changed
        assert {
            lid: (ln.sku, ln.ordered, ln.unit_price_minor) for lid, ln in order.lines.items()
        } == {
            "1": ("WIDGET", 2, 1500),
            "2": ("GADGET", 1, 4000),
        }
        assert order.placed_at == order.last_occurred_at
        assert order.shipping_terms == "fob_destination"

    def test_confirming_moves_to_confirmed_and_confirming_again_is_only_recorded(self):
        order = new_order()
        first, second = apply_all(order, confirm(minutes=1), confirm(minutes=2))
        assert (first.to_status, first.effect) == (S.CONFIRMED, "applied")
        assert (second.from_status, second.to_status, second.effect) == (
            S.CONFIRMED,
            S.CONFIRMED,
            "recorded",
        )
        assert not second.status_changed
        assert order.version == 3


class TestPartialFulfilment:
    def test_quantities_add_up_exactly_across_lines_and_shipments(self):
        order = three_line_order()
        apply_all(
            order,
            confirm(minutes=1),
            dispatch("S1", lq(l1=2, l2=1), minutes=2),
            dispatch("S2", lq(l1=2, l3=2), minutes=3),
        )
        assert order.status == S.PARTIALLY_FULFILLED
        assert [order.lines[i].shipped for i in "123"] == [4, 1, 2]
        assert [order.lines[i].unshipped for i in "123"] == [1, 2, 0]

        order.apply(deliver("S1", lq(l1=1), minutes=4))
        assert order.status == S.PARTIALLY_DELIVERED
        assert order.shipments["S1"].delivered == {"1": 1}
        assert order.shipments["S1"].undelivered("1") == 1
        assert order.shipments["S1"].undelivered("2") == 1

        order.apply(deliver("S1", minutes=5))  # the rest of S1 only
        assert order.shipments["S1"].delivered == {"1": 2, "2": 1}
        assert [order.lines[i].delivered for i in "123"] == [2, 1, 0]

        apply_all(order, dispatch("S3", lq(l1=1, l2=2), minutes=6))
        assert order.status == S.PARTIALLY_DELIVERED
        apply_all(order, deliver("S2", minutes=7), deliver("S3", minutes=8))
        assert order.status == S.DELIVERED
        assert [order.lines[i].delivered for i in "123"] == [5, 3, 2]
        order.apply(accept(lq(l1=5, l2=3), minutes=9))
        assert order.status == S.DELIVERED
        order.apply(accept(minutes=10))
        assert order.status == S.COMPLETED
        assert [order.lines[i].accepted for i in "123"] == [5, 3, 2]

    def test_shipping_everything_then_delivering_part_is_partially_delivered(self):
        order = new_order()
        apply_all(order, dispatch("S1", lq(l1=2), minutes=1), dispatch("S2", lq(l2=1), minutes=2))
        assert order.status == S.FULFILLED
        order.apply(deliver("S2", minutes=3))
        assert order.status == S.PARTIALLY_DELIVERED
        order.apply(deliver("S1", minutes=4))
        assert order.status == S.DELIVERED

    def test_cancelling_the_unshipped_rest_fulfils_the_order(self):
        order = new_order()
        apply_all(order, dispatch("S1", lq(l1=1), minutes=1))
        change = order.apply(cancel(minutes=2))
        assert (change.from_status, change.to_status) == (S.PARTIALLY_FULFILLED, S.FULFILLED)
        assert quantities(order, "1")["cancelled"] == 1
        assert quantities(order, "2")["cancelled"] == 1
        assert order.lines["2"].active == 0

    def test_cancelling_the_undelivered_rest_after_acceptance_completes_the_order(self):
        order = new_order()
        apply_all(
            order,
            dispatch("S1", lq(l1=2), minutes=1),
            deliver("S1", minutes=2),
            accept(minutes=3),
        )
        assert order.status == S.PARTIALLY_DELIVERED
        change = order.apply(cancel(minutes=4))
        assert change.to_status == S.COMPLETED

    def test_cancelling_everything_unshipped_cancels_the_order(self):
        order = new_order()
        change = order.apply(cancel(minutes=1))
        assert change.to_status == S.CANCELLED
        assert order.totals().active == 0

    def test_a_partial_cancellation_keeps_the_rest_of_the_order(self):
        order = new_order()
        order.apply(cancel(lq(l1=1), minutes=1))
        assert order.status == S.PENDING
        assert (order.lines["1"].active, order.lines["1"].cancelled) == (1, 1)

    def test_returns_move_to_partially_returned_then_returned(self):
        order = new_order()
        apply_all(order, dispatch("S1", lq(l1=2, l2=1), minutes=1), deliver("S1", minutes=2))
        assert order.apply(return_("R1", lq(l1=1), minutes=3)).to_status == S.PARTIALLY_RETURNED
        assert order.apply(return_("R2", lq(l1=1, l2=1), minutes=4)).to_status == S.RETURNED
        assert "return:R1" in order.document_ids

    def test_a_blanket_acceptance_skips_returned_units(self):
        order = new_order()
        apply_all(
            order,
            dispatch("S1", lq(l1=2, l2=1), minutes=1),
            deliver("S1", minutes=2),
            return_("R1", lq(l1=1), minutes=3),
            accept(minutes=4),
        )
        assert [order.lines[i].accepted for i in "12"] == [1, 1]

    def test_accepting_with_nothing_delivered_is_recorded_without_change(self):
        order = new_order()
        change = order.apply(accept(minutes=1))
        assert (change.effect, change.to_status, order.version) == ("recorded", S.PENDING, 2)

    def test_delivering_an_already_delivered_shipment_is_recorded_without_change(self):
        order = new_order()
        apply_all(order, dispatch("S1", lq(l1=2, l2=1), minutes=1), deliver("S1", minutes=2))
        change = order.apply(deliver("S1", minutes=3))
        assert change.effect == "recorded"
        assert order.lines["1"].delivered == 2


class TestAmendment:
    def test_adding_quantity_to_a_fulfilled_order_reopens_it(self):
        order = new_order()
        order.apply(dispatch("S1", lq(l1=2, l2=1), minutes=1))
        change = order.apply(amend([{"line_id": "1", "quantity": 3}], minutes=2))
        assert (change.from_status, change.to_status) == (S.FULFILLED, S.PARTIALLY_FULFILLED)
        assert order.lines["1"].unshipped == 1

    def test_adding_a_line_needs_sku_and_price_and_keeps_them(self):
        order = new_order()
        order.apply(amend([{"line_id": "3", "sku": "NEW", "quantity": 4, "unit_price_minor": 99}]))
        assert (order.lines["3"].sku, order.lines["3"].ordered) == ("NEW", 4)
        assert order.lines["3"].unit_price_minor == 99

    def test_reducing_a_line_caps_its_allocation_and_backorder(self):
        order = new_order(lines=[("1", "WIDGET", 5, 100)])
        apply_all(order, allocate(lq(l1=3), minutes=1), backorder(lq(l1=2), minutes=2))
        order.apply(amend([{"line_id": "1", "quantity": 2, "unit_price_minor": 120}], minutes=3))
        line = order.lines["1"]
        assert (line.ordered, line.allocated, line.backordered) == (2, 2, 2)
        assert line.unit_price_minor == 120

    def test_reducing_to_what_shipped_fulfils_the_order(self):
        order = new_order()
        order.apply(dispatch("S1", lq(l1=1, l2=1), minutes=1))
        change = order.apply(amend([{"line_id": "1", "quantity": 1}], minutes=2))
        assert change.to_status == S.FULFILLED


class TestStock:
    def test_a_backorder_moves_to_backordered_and_allocation_clears_it(self):
        order = new_order()
        apply_all(order, confirm(minutes=1))
        assert order.apply(backorder(lq(l1=2), minutes=2)).to_status == S.BACKORDERED
        change = order.apply(allocate(lq(l1=2), minutes=3))
        assert (change.to_status, order.lines["1"].backordered) == (S.CONFIRMED, 0)
        assert order.lines["1"].allocated == 2

    def test_stock_arriving_for_an_unconfirmed_order_returns_it_to_pending(self):
        order = new_order()
        order.apply(backorder(lq(l2=1), minutes=1))
        assert order.apply(allocate(lq(l2=1), minutes=2)).to_status == S.PENDING

    def test_a_late_stock_fact_older_than_the_line_s_newest_is_superseded(self):
        order = new_order()
        apply_all(order, confirm(minutes=1), backorder(lq(l1=2), minutes=20))
        change = order.apply(allocate(lq(l1=2), minutes=10))
        assert (change.effect, change.late, change.to_status) == (
            "superseded",
            True,
            S.BACKORDERED,
        )
        assert (order.lines["1"].allocated, order.lines["1"].backordered) == (0, 2)
        assert order.version == 4  # the superseded fact is still recorded

    def test_a_late_backorder_older_than_a_dispatch_is_superseded(self):
        order = new_order()
        order.apply(dispatch("S1", lq(l1=1), minutes=20))
        change = order.apply(backorder(lq(l1=1), minutes=10))
        assert change.effect == "superseded"
        assert order.lines["1"].backordered == 0

    def test_a_late_stock_fact_for_a_line_without_newer_stock_facts_applies(self):
        order = new_order()
        apply_all(order, backorder(lq(l1=2), minutes=20), hold("H1", minutes=30))
        change = order.apply(backorder(lq(l2=1), minutes=25))
        assert (change.effect, change.late) == ("applied", True)
        assert order.lines["2"].backordered == 1

    def test_a_backorder_is_a_gauge_that_the_newest_fact_sets(self):
        order = new_order(lines=[("1", "WIDGET", 5, 100)])
        apply_all(order, backorder(lq(l1=4), minutes=1), backorder(lq(l1=1), minutes=2))
        assert order.lines["1"].backordered == 1


class TestLateEvents:
    def test_a_late_allocation_newer_than_the_lines_backorder_clears_it(self):
        order = new_order()
        apply_all(
            order, confirm(minutes=5), backorder(lq(l1=2), minutes=10), hold("H1", minutes=30)
        )
        change = order.apply(allocate(lq(l1=2), minutes=20))
        assert (change.effect, change.late, change.to_status) == ("applied", True, S.CONFIRMED)
        assert order.lines["1"].backordered == 0

    def test_a_late_delivery_still_moves_the_order_forward_and_is_marked_late(self):
        order = new_order()
        apply_all(order, dispatch("S1", lq(l1=2, l2=1), minutes=10), hold("H1", minutes=60))
        change = order.apply(deliver("S1", minutes=30))
        assert (change.late, change.to_status) == (True, S.DELIVERED)
        assert order.last_occurred_at == T0 + timedelta(minutes=60)

    def test_a_late_dispatch_never_moves_a_delivered_order_back(self):
        order = new_order(lines=[("1", "WIDGET", 2, 100), ("2", "GADGET", 1, 100)])
        apply_all(
            order,
            dispatch("S1", lq(l1=2), minutes=10),
            deliver("S1", minutes=50),
        )
        assert order.status == S.PARTIALLY_DELIVERED
        change = order.apply(dispatch("S2", lq(l2=1), minutes=20))
        assert change.late
        assert change.to_status == S.PARTIALLY_DELIVERED

    def test_a_late_event_keeps_the_latest_occurrence_time(self):
        order = new_order()
        apply_all(order, hold("H1", minutes=50), release("H1", minutes=40))
        assert order.last_occurred_at == T0 + timedelta(minutes=50)

    def test_a_late_delivery_does_not_move_the_shipment_s_delivery_time_back(self):
        order = new_order()
        apply_all(
            order,
            dispatch("S1", lq(l1=2, l2=1), minutes=10),
            deliver("S1", lq(l1=1), minutes=40),
            deliver("S1", lq(l1=1), minutes=30),
        )
        assert order.shipments["S1"].delivered_at == T0 + timedelta(minutes=40)

    def test_a_late_amendment_that_would_reopen_the_order_is_refused(self):
        order = new_order()
        order.apply(dispatch("S1", lq(l1=2, l2=1), minutes=30))
        with pytest.raises(IllegalTransition, match="occurred before"):
            order.apply(amend([{"line_id": "2", "quantity": 2}], minutes=5))
        assert order.status == S.FULFILLED


class TestFlagsAndBilling:
    def test_holds_and_disputes_set_flags_without_changing_status(self):
        order = new_order()
        changes = apply_all(order, hold("H1"), open_dispute("D1", ["1"]))
        assert [c.status_changed for c in changes] == [False, False]
        assert (order.on_hold, order.disputed) == (True, True)
        assert order.holds == {"H1": "credit_check"}
        assert order.disputes == {"D1": {"reason_code": "damaged", "lines": ["1"]}}
        apply_all(order, release("H1"), close_dispute("D1"))
        assert (order.on_hold, order.disputed) == (False, False)

    def test_invoices_and_credit_notes_add_up_and_are_remembered(self):
        order = new_order()
        apply_all(order, invoice("INV-1", 7000), invoice("INV-2", 1000), credit("CN-1", 8000))
        assert (order.invoiced_minor, order.credited_minor) == (8000, 8000)
        assert order.document_ids == {"invoice:INV-1", "invoice:INV-2", "credit_note:CN-1"}

    def test_billing_is_possible_on_a_cancelled_order(self):
        order = new_order()
        apply_all(order, cancel(), invoice("INV-1", 100), credit("CN-1", 100))
        assert order.status == S.CANCELLED
