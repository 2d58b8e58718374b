"""Step 1: a contract from orders; a configurable rule combines orders (ASC 606-10-25-9)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from ordertrail.domain.revenue.contracts import (
    CombinationRule,
    combine_orders,
    contract_terms_of,
)
from ordertrail.domain.revenue.errors import InvalidContract
from tests.unit.revenue.builders import D0, order


def ids(groups):
    return [[o.order_id for o in group] for group in groups]


def test_orders_marked_as_one_package_within_the_window_combine():
    a = order(("1", "S", 1, 100), order_id="A", package_id="P1")
    b = order(("1", "S", 1, 100), order_id="B", package_id="P1", placed_on=D0 + timedelta(3))
    c = order(("1", "S", 1, 100), order_id="C", package_id="P2")
    groups = combine_orders(orders=[c, b, a], rule=CombinationRule(window_days=5))
    assert sorted(ids(groups)) == [["A", "B"], ["C"]]


def test_orders_outside_the_window_or_of_another_customer_stay_apart():
    a = order(("1", "S", 1, 100), order_id="A", package_id="P1")
    late = order(("1", "S", 1, 100), order_id="B", package_id="P1", placed_on=D0 + timedelta(6))
    other = order(("1", "S", 1, 100), order_id="C", package_id="P1", customer_id="C-2")
    groups = combine_orders(orders=[a, late, other], rule=CombinationRule(window_days=5))
    assert sorted(ids(groups)) == [["A"], ["B"], ["C"]]


def test_without_the_package_requirement_a_customer_window_combines_transitively():
    a = order(("1", "S", 1, 1), order_id="A")
    b = order(("1", "S", 1, 1), order_id="B", placed_on=D0 + timedelta(2))
    c = order(("1", "S", 1, 1), order_id="C", placed_on=D0 + timedelta(4))
    rule = CombinationRule(window_days=2, require_package_id=False)
    assert ids(combine_orders(orders=[c, a, b], rule=rule)) == [["A", "B", "C"]]


def test_a_disabled_rule_makes_every_order_its_own_contract():
    a = order(("1", "S", 1, 1), order_id="A", package_id="P")
    b = order(("1", "S", 1, 1), order_id="B", package_id="P")
    assert len(combine_orders(orders=[a, b], rule=CombinationRule(enabled=False))) == 2


def test_a_combined_contract_is_named_after_its_earliest_order_and_prefixes_line_ids():
    a = order(("1", "S", 2, 100), order_id="A", placed_on=date(2024, 1, 2))
    b = order(("1", "T", 1, 50), order_id="B", placed_on=date(2024, 1, 1))
    terms = contract_terms_of([a, b])
    assert terms.contract_id == "ctr-B"
    assert terms.inception_on == date(2024, 1, 1)
    assert [line.line_id for line in terms.lines] == ["B:1", "A:1"]
    assert contract_terms_of([a]).lines[0].line_id == "1"


def test_orders_in_different_currencies_cannot_be_one_contract():
    a = order(("1", "S", 1, 1), order_id="A")
    b = order(("1", "S", 1, 1), order_id="B", currency="EUR")
    with pytest.raises(InvalidContract):
        contract_terms_of([a, b])


def test_an_order_line_without_units_is_refused():
    with pytest.raises(InvalidContract):
        order(("1", "S", 0, 100))
