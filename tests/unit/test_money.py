"""Money: exact minor units, one allocation rule, refusal of what cannot be represented."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ordertrail.domain.money import (
    CurrencyMismatch,
    Money,
    MoneyError,
    UnknownCurrency,
    allocate,
    exponent_of,
    minor_units_from_decimal,
)


class TestAllocate:
    def test_splits_evenly_when_the_total_divides(self):
        assert allocate(total_minor=300, weights=[1, 1, 1]) == [100, 100, 100]

    def test_gives_leftover_units_to_the_largest_remainders(self):
        # Exact shares 33.33.., 66.66..: the second has the larger remainder.
        assert allocate(total_minor=100, weights=[1, 2]) == [33, 67]

    def test_breaks_ties_in_favour_of_the_earlier_part(self):
        assert allocate(total_minor=100, weights=[1, 1, 1]) == [34, 33, 33]
        assert allocate(total_minor=2, weights=[1, 1, 1]) == [1, 1, 0]

    def test_mirrors_a_negative_total_unit_for_unit(self):
        positive = allocate(total_minor=1001, weights=[3, 3, 1])
        assert allocate(total_minor=-1001, weights=[3, 3, 1]) == [-p for p in positive]

    def test_gives_nothing_to_a_zero_weight(self):
        assert allocate(total_minor=7, weights=[0, 1, 0, 1]) == [0, 4, 0, 3]

    def test_allocates_zero_as_zeros(self):
        assert allocate(total_minor=0, weights=[5, 1]) == [0, 0]

    @pytest.mark.parametrize(
        ("weights", "message"),
        [([], "no weights"), ([1, -1], "non-negative"), ([0, 0], "sum to zero")],
    )
    def test_refuses_weights_it_cannot_split_over(self, weights, message):
        with pytest.raises(MoneyError, match=message):
            allocate(total_minor=10, weights=weights)

    @settings(max_examples=200, deadline=None)
    @given(
        total=st.integers(min_value=-(10**15), max_value=10**15),
        weights=st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=12).filter(
            any
        ),
    )
    def test_parts_always_sum_to_the_total_and_stay_within_one_unit_of_the_exact_share(
        self, total, weights
    ):
        parts = allocate(total_minor=total, weights=weights)
        assert sum(parts) == total
        weight_sum = sum(weights)
        for part, weight in zip(parts, weights, strict=True):
            exact_times_sum = total * weight
            assert abs(part * weight_sum - exact_times_sum) < weight_sum
        assert allocate(total_minor=-total, weights=weights) == [-p for p in parts]


class TestMinorUnitsFromDecimal:
    @pytest.mark.parametrize(
        ("amount", "currency", "minor"),
        [
            ("12.50", "USD", 1250),
            ("12.5", "USD", 1250),
            ("12", "USD", 1200),
            ("0.01", "EUR", 1),
            ("-3.10", "GBP", -310),
            ("1500", "JPY", 1500),
            ("1500.0", "JPY", 1500),
            ("1.234", "KWD", 1234),
            ("0.001", "KWD", 1),
            ("9999999999999.99", "USD", 999999999999999),
        ],
    )
    def test_converts_exactly(self, amount, currency, minor):
        assert minor_units_from_decimal(amount=amount, currency=currency) == minor

    @pytest.mark.parametrize(
        ("amount", "currency"),
        [("12.345", "USD"), ("12.5", "JPY"), ("0.0001", "KWD"), ("1.001", "EUR")],
    )
    def test_refuses_more_decimal_places_than_the_currency_has(self, amount, currency):
        with pytest.raises(MoneyError, match="decimal places"):
            minor_units_from_decimal(amount=amount, currency=currency)

    @pytest.mark.parametrize("amount", ["abc", "", "1,50", "NaN", "Infinity", "-inf"])
    def test_refuses_text_that_is_not_a_finite_decimal(self, amount):
        with pytest.raises(MoneyError):
            minor_units_from_decimal(amount=amount, currency="USD")

    def test_refuses_an_unknown_currency(self):
        with pytest.raises(UnknownCurrency):
            minor_units_from_decimal(amount="1.00", currency="XYZ")

    def test_never_rounds_an_amount_longer_than_the_decimal_context(self):
        amount = "1234567890123456789012345678.91"
        try:
            minor = minor_units_from_decimal(amount=amount, currency="USD")
        except MoneyError:
            return  # refusing is acceptable; rounding is not
        assert minor == 123456789012345678901234567891


class TestMoney:
    def test_adds_and_subtracts_in_one_currency(self):
        assert Money(150, "USD") + Money(50, "USD") == Money(200, "USD")
        assert Money(150, "USD") - Money(200, "USD") == Money(-50, "USD")
        assert -Money(5, "EUR") == Money(-5, "EUR")

    def test_refuses_to_combine_two_currencies(self):
        with pytest.raises(CurrencyMismatch):
            Money(1, "USD") + Money(1, "EUR")

    @pytest.mark.parametrize("amount", [1.5, "100", True])
    def test_refuses_an_amount_that_is_not_an_int(self, amount):
        with pytest.raises(MoneyError):
            Money(amount, "USD")

    def test_refuses_an_unknown_currency(self):
        with pytest.raises(UnknownCurrency):
            Money(1, "ABC")

    @pytest.mark.parametrize(
        ("money", "text"),
        [
            (Money(123456, "USD"), "1234.56 USD"),
            (Money(-5, "EUR"), "-0.05 EUR"),
            (Money(1500, "JPY"), "1500 JPY"),
            (Money(1, "KWD"), "0.001 KWD"),
        ],
    )
    def test_prints_with_the_currency_s_decimal_places(self, money, text):
        assert str(money) == text

    def test_knows_the_exponent_of_zero_two_and_three_digit_currencies(self):
        assert (exponent_of("JPY"), exponent_of("USD"), exponent_of("KWD")) == (0, 2, 3)
