"""Step 3: fixed price, discounts, variable consideration by method, the constraint."""

from __future__ import annotations

import pytest

from ordertrail.domain.revenue.contracts import LineFacts
from ordertrail.domain.revenue.errors import InvalidContract
from ordertrail.domain.revenue.pricing import (
    Discount,
    Outcome,
    PricingTerms,
    ReturnRight,
    VariableConsideration,
    determine_transaction_price,
    estimate_minor,
    included_minor,
)


def variable(method, *outcomes, **kw):
    return VariableConsideration("v", method, tuple(Outcome(a, p) for a, p in outcomes), **kw)


def test_the_expected_value_weights_outcomes_by_probability():
    assert estimate_minor(variable("expected_value", (1000, 2500), (0, 7500))) == 250


def test_the_expected_value_rounds_half_to_even_once():
    assert estimate_minor(variable("expected_value", (1, 5000), (0, 5000))) == 0
    assert estimate_minor(variable("expected_value", (3, 5000), (0, 5000))) == 2


def test_the_most_likely_amount_takes_the_likeliest_outcome_ties_to_the_earlier():
    assert estimate_minor(variable("most_likely_amount", (200, 6000), (0, 4000))) == 200
    assert estimate_minor(variable("most_likely_amount", (0, 5000), (200, 5000))) == 0


def test_a_constrained_amount_includes_only_what_is_highly_probable():
    """ASC 606-10-32-11 / IFRS 15.56: include variable consideration only to the extent a
    significant reversal is highly probable not to occur."""
    bonus = variable("most_likely_amount", (200, 6000), (0, 4000), constrained=True)
    assert included_minor(bonus) == 0
    partial = variable(
        "expected_value", (200, 6000), (0, 4000), constrained=True, highly_probable_minor=50
    )
    assert included_minor(partial) == 50


def test_probabilities_must_sum_to_one():
    with pytest.raises(InvalidContract):
        variable("expected_value", (1, 5000))


def test_the_transaction_price_is_fixed_less_discounts_and_concessions_plus_variable():
    lines = [LineFacts("1", "S", 3, 1000), LineFacts("2", "T", 1, 500)]
    terms = PricingTerms(
        discounts=(Discount("d", 300),),
        variable=(variable("expected_value", (400, 5000), (0, 5000)),),
    )
    price = determine_transaction_price(lines=lines, terms=terms, concessions_minor=100)
    assert (price.fixed_minor, price.discounts_minor, price.variable_minor) == (3500, 300, 200)
    assert price.gross_minor == 3300


def test_a_negative_transaction_price_is_refused():
    with pytest.raises(InvalidContract):
        determine_transaction_price(
            lines=[LineFacts("1", "S", 1, 10)], terms=PricingTerms(discounts=(Discount("d", 11),))
        )


def test_a_return_rate_outside_zero_to_one_is_refused():
    with pytest.raises(InvalidContract):
        ReturnRight("1", 10_001)
