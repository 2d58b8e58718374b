"""Step 4: relative SSP in integer minor units; discount evidence; residual; SSP ranges."""

from __future__ import annotations

import pytest

from ordertrail.domain.money import allocate
from ordertrail.domain.revenue.allocation import AllocationPolicy, share
from ordertrail.domain.revenue.catalog import SspRow
from ordertrail.domain.revenue.errors import DiscountEvidenceMismatch, ResidualNotAppropriate
from ordertrail.domain.revenue.pricing import (
    DiscountEvidence,
    Outcome,
    PricingTerms,
    ReturnRight,
    VariableConsideration,
)
from tests.unit.revenue.builders import D0, catalogs, contract, goods, order

ONE = (goods(),)


def allocated(state):
    return {ob.obligation.line_id: ob.allocated_minor for ob in state.obligations}


def example_34(*, with_d: bool = False, d_price: int = 30):
    """Products A, B, C with SSPs 40, 55, 45 (and D, residual, SSP range 15 to 45), in JPY so
    a minor unit is a whole currency unit as in the published figures."""
    d_row = SspRow("D", "unit", "JPY", D0, None, residual_allowed=True, low_minor=15, high_minor=45)
    cats = catalogs(
        ("A", ONE, {"unit": 40}),
        ("B", ONE, {"unit": 55}),
        ("C", ONE, {"unit": 45}),
        ("D", ONE, {}),
        currency="JPY",
        extra_ssp=[d_row],
    )
    lines = [("A", "A", 1, 35), ("B", "B", 1, 35), ("C", "C", 1, 30)]
    if with_d:
        lines.append(("D", "D", 1, d_price))
    return cats, order(*lines, currency="JPY")


EVIDENCE = DiscountEvidence(obligation_ids=("B/unit", "C/unit"), bundle_price_minor=60)


def test_without_evidence_a_discount_is_shared_by_all_on_relative_ssp():
    """KPMG, Revenue - IFRS 15 Handbook (2019), Example 5 (IFRS 15.82): phone 20, internet 30
    and television 40 sold together for 80 share the discount of 10 as 18, 27 and 35. The
    published rounding is exactly the largest-remainder rule."""
    cats = catalogs(
        ("PHONE", ONE, {"unit": 20}),
        ("NET", ONE, {"unit": 30}),
        ("TV", ONE, {"unit": 40}),
        currency="JPY",
    )
    state = contract(
        cats, order(("p", "PHONE", 1, 20), ("i", "NET", 1, 30), ("t", "TV", 1, 30), currency="JPY")
    )
    assert allocated(state) == {"p": 18, "i": 27, "t": 35}


def test_a_discount_with_evidence_goes_entirely_to_the_obligations_it_belongs_to():
    """IFRS 15 IE Example 34 Case A (IE250-IE253) / ASC 606-10-55-259 to 55-262: A, B and C
    (SSP 40, 55, 45) sold for 100; B and C are regularly sold together for 60, so the whole
    discount of 40 goes to them: A 40, B 33, C 27. Figures as recalled from the standard's
    text; the search tool did not return the example's text to confirm them."""
    cats, placed = example_34()
    state = contract(cats, placed, pricing=PricingTerms(discount_evidence=EVIDENCE))
    assert allocated(state) == {"A": 40, "B": 33, "C": 27}
    assert [ob.allocation_basis for ob in state.obligations] == [
        "standalone_ssp",
        "discount_subset",
        "discount_subset",
    ]


def test_the_residual_approach_prices_an_obligation_after_the_discount_is_allocated():
    """IFRS 15 IE Example 34 Case B (IE254-IE255): with Product D, whose SSP is highly variable
    (15 to 45), in a contract for 130, the discount goes to B and C first (33, 27), A keeps 40,
    and D gets the residual 30, within its range. Figures as recalled, not confirmed by search."""
    cats, placed = example_34(with_d=True, d_price=30)
    state = contract(cats, placed, pricing=PricingTerms(discount_evidence=EVIDENCE))
    assert allocated(state) == {"A": 40, "B": 33, "C": 27, "D": 30}
    assert state.obligations[3].allocation_basis == "residual"


def test_a_residual_outside_the_observed_range_is_not_appropriate():
    """IFRS 15 IE Example 34 Case C (IE256): for 105 the residual left for D would be 5, far
    below its observed prices (15 to 45), so the residual approach does not meet the
    allocation objective. Figures as recalled, not confirmed by search."""
    cats, placed = example_34(with_d=True, d_price=5)
    with pytest.raises(ResidualNotAppropriate, match=r"outside the observed range 15\.\.45"):
        contract(cats, placed, pricing=PricingTerms(discount_evidence=EVIDENCE))


def test_a_residual_of_nothing_is_not_appropriate():
    cats, placed = example_34(with_d=True, d_price=0)
    no_range = catalogs(
        ("A", ONE, {"unit": 40}),
        ("B", ONE, {"unit": 55}),
        ("C", ONE, {"unit": 45}),
        ("D", ONE, {"unit": None}),
        currency="JPY",
    )
    with pytest.raises(ResidualNotAppropriate):
        contract(no_range, placed)
    assert cats


def test_evidence_that_does_not_add_up_is_refused():
    cats, placed = example_34()
    wrong = DiscountEvidence(obligation_ids=("B/unit", "C/unit"), bundle_price_minor=70)
    with pytest.raises(DiscountEvidenceMismatch):
        contract(cats, placed, pricing=PricingTerms(discount_evidence=wrong))
    unknown = DiscountEvidence(obligation_ids=("Z/unit",), bundle_price_minor=60)
    with pytest.raises(DiscountEvidenceMismatch):
        contract(cats, placed, pricing=PricingTerms(discount_evidence=unknown))


def test_a_price_outside_the_ssp_range_is_weighted_at_the_nearest_bound_when_configured():
    cats = catalogs(
        ("S", ONE, {}),
        ("T", ONE, {"unit": 100}),
        extra_ssp=[SspRow("S", "unit", "USD", D0, 100, low_minor=90, high_minor=110)],
    )
    placed = order(("s", "S", 1, 150), ("t", "T", 1, 50))
    plain = contract(cats, placed)
    clamped = contract(cats, placed, policy=AllocationPolicy(clamp_to_ssp_range=True))
    assert allocated(plain) == {"s": 100, "t": 100}
    # Weighted 110 (the bound nearest 150) against 100: 200 * 110 / 210 = 104.76 -> 105.
    assert allocated(clamped) == {"s": 105, "t": 95}
    assert clamped.obligations[0].obligation.unit_price_minor == 150


def test_a_price_inside_the_ssp_range_is_weighted_at_that_price_when_configured():
    cats = catalogs(
        ("S", ONE, {}),
        ("T", ONE, {"unit": 100}),
        extra_ssp=[SspRow("S", "unit", "USD", D0, 100, low_minor=90, high_minor=110)],
    )
    state = contract(
        cats,
        order(("s", "S", 1, 95), ("t", "T", 1, 105)),
        policy=AllocationPolicy(clamp_to_ssp_range=True),
    )
    # Weights 95 and 100 over 200: 97.44 -> 97 and 102.56 -> 103.
    assert allocated(state) == {"s": 97, "t": 103}


def test_variable_consideration_that_relates_to_one_obligation_goes_to_it_alone():
    """ASC 606-10-32-40 / IFRS 15.85: a bonus for on-time installation goes entirely to the
    installation; the fixed price is still shared on relative SSP."""
    cats = catalogs(("H", ONE, {"unit": 900}), ("I", ONE, {"unit": 100}))
    bonus = VariableConsideration(
        "bonus",
        "most_likely_amount",
        (Outcome(50, 8000), Outcome(0, 2000)),
        obligation_ids=("i/unit",),
    )
    state = contract(
        cats, order(("h", "H", 1, 900), ("i", "I", 1, 100)), pricing=PricingTerms(variable=(bonus,))
    )
    assert allocated(state) == {"h": 900, "i": 150}


def test_expected_returns_are_carved_out_of_the_returnable_obligations_only():
    cats = catalogs(("G", (goods(returnable=True),), {"unit": 100}), ("S", ONE, {"unit": 100}))
    state = contract(
        cats,
        order(("g", "G", 10, 100), ("s", "S", 10, 100)),
        pricing=PricingTerms(returns=(ReturnRight("g", 300), ReturnRight("s", 300))),
    )
    returnable, other = state.obligations
    assert (returnable.allocated_minor, returnable.expected_refund_minor) == (1000, 30)
    assert (other.allocated_minor, other.expected_refund_minor) == (1000, 0)


def test_a_share_is_the_first_part_of_the_one_allocation_function():
    assert share(total_minor=100, part=1, whole=3) == allocate(total_minor=100, weights=[1, 2])[0]
    assert share(total_minor=1, part=1, whole=2) == 1  # a tie goes to the earlier part
    assert share(total_minor=100, part=0, whole=3) == 0
    assert share(total_minor=100, part=5, whole=3) == 100
