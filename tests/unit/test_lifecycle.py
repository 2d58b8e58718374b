"""The lifecycle table and derive_status: two statements of the lifecycle that must agree."""

from __future__ import annotations

import pytest

from ordertrail.domain.orders.status import (
    LIFECYCLE,
    TRANSITIONS,
    ControlTransfer,
    OrderStatus,
    QuantityTotals,
    derive_status,
    is_allowed,
)

S = OrderStatus


def totals(
    *, active=4, backordered=0, shipped=0, delivered=0, accepted=0, returned=0
) -> QuantityTotals:
    return QuantityTotals(
        active=active,
        backordered=backordered,
        shipped=shipped,
        delivered=delivered,
        accepted=accepted,
        returned=returned,
    )


@pytest.mark.parametrize("status", list(OrderStatus))
def test_every_status_has_a_meaning_for_the_warehouse_and_the_accountant(status):
    meaning = LIFECYCLE[status]
    assert meaning.description
    assert meaning.revenue_meaning
    assert meaning.recognition_blockers
    assert isinstance(meaning.control_transfer, ControlTransfer)


def test_the_tables_cover_exactly_the_statuses():
    assert set(LIFECYCLE) == set(OrderStatus)
    assert set(TRANSITIONS) == set(OrderStatus)
    for exits in TRANSITIONS.values():
        assert set(exits) <= set(OrderStatus)


def test_every_allowed_transition_names_its_cause_and_never_stays_put():
    for from_status, exits in TRANSITIONS.items():
        for to_status, cause in exits.items():
            assert cause.strip(), (from_status, to_status)
            assert to_status != from_status


def test_terminal_statuses_have_no_exits_and_every_other_status_has_one():
    for status, meaning in LIFECYCLE.items():
        assert (TRANSITIONS[status] == {}) == meaning.terminal, status
    assert {s for s, m in LIFECYCLE.items() if m.terminal} == {S.RETURNED, S.CANCELLED}


def test_statuses_before_shipment_share_a_rank_and_later_ones_are_ordered_by_progress():
    pre_shipment = {S.PENDING, S.CONFIRMED, S.BACKORDERED}
    assert {LIFECYCLE[s].rank for s in pre_shipment} == {0}
    later = [meaning.rank for status, meaning in LIFECYCLE.items() if status not in pre_shipment]
    assert later == sorted(set(later))
    assert min(later) > 0


def test_every_status_is_reachable_from_pending():
    reached, frontier = {S.PENDING}, [S.PENDING]
    while frontier:
        for nxt in TRANSITIONS[frontier.pop()]:
            if nxt not in reached:
                reached.add(nxt)
                frontier.append(nxt)
    assert reached == set(OrderStatus)


def test_the_only_downward_move_is_an_amendment_adding_quantity_to_ship():
    downward = {
        (a, b)
        for a, exits in TRANSITIONS.items()
        for b in exits
        if LIFECYCLE[b].rank < LIFECYCLE[a].rank
    }
    assert downward == {(S.FULFILLED, S.PARTIALLY_FULFILLED)}


def test_staying_in_a_status_is_always_allowed_and_unlisted_moves_are_not():
    for status in OrderStatus:
        assert is_allowed(from_status=status, to_status=status)
    assert is_allowed(from_status=S.PENDING, to_status=S.CONFIRMED)
    assert not is_allowed(from_status=S.CONFIRMED, to_status=S.PENDING)
    assert not is_allowed(from_status=S.CANCELLED, to_status=S.PENDING)
    assert not is_allowed(from_status=S.DELIVERED, to_status=S.FULFILLED)


class TestDeriveStatus:
    @pytest.mark.parametrize(
        ("quantities", "confirmed", "status"),
        [
            ({}, False, S.PENDING),
            ({}, True, S.CONFIRMED),
            ({"backordered": 1}, False, S.BACKORDERED),
            ({"backordered": 1}, True, S.BACKORDERED),
            ({"shipped": 1, "backordered": 3}, True, S.PARTIALLY_FULFILLED),
            ({"shipped": 4}, False, S.FULFILLED),
            ({"shipped": 4, "delivered": 1}, True, S.PARTIALLY_DELIVERED),
            ({"shipped": 2, "delivered": 2}, True, S.PARTIALLY_DELIVERED),
            ({"shipped": 4, "delivered": 4}, True, S.DELIVERED),
            ({"shipped": 4, "delivered": 4, "accepted": 3}, True, S.DELIVERED),
            ({"shipped": 4, "delivered": 4, "accepted": 4}, True, S.COMPLETED),
            ({"shipped": 4, "delivered": 4, "returned": 1}, True, S.PARTIALLY_RETURNED),
            (
                {"shipped": 4, "delivered": 4, "accepted": 4, "returned": 1},
                True,
                S.PARTIALLY_RETURNED,
            ),
            ({"shipped": 4, "delivered": 4, "returned": 4}, True, S.RETURNED),
            ({"active": 0}, True, S.CANCELLED),
        ],
    )
    def test_derives_each_status_from_the_quantities(self, quantities, confirmed, status):
        assert derive_status(totals=totals(**quantities), confirmed=confirmed) == status

    def test_cancelled_wins_over_everything_because_nothing_is_left(self):
        assert derive_status(totals=totals(active=0, backordered=0), confirmed=True) == S.CANCELLED

    def test_returns_are_checked_before_acceptance_and_delivery(self):
        both = totals(shipped=4, delivered=4, accepted=4, returned=4)
        assert derive_status(totals=both, confirmed=True) == S.RETURNED

    def test_shipping_is_checked_before_backorders(self):
        both = totals(shipped=4, backordered=0)
        assert derive_status(totals=both, confirmed=False) == S.FULFILLED
        some = totals(shipped=1, backordered=3)
        assert derive_status(totals=some, confirmed=False) == S.PARTIALLY_FULFILLED

    def test_partial_delivery_outranks_unshipped_units(self):
        assert derive_status(totals=totals(shipped=2, delivered=1), confirmed=False) == (
            S.PARTIALLY_DELIVERED
        )
