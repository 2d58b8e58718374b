"""Property tests: entries balance or are refused; trial balances of entries sum to zero."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ordertrail.domain.ledger import (
    ALL_OPEN,
    InvalidEntry,
    PeriodCalendar,
    Posting,
    UnbalancedEntry,
    journal_entry,
    month_index,
    period_key,
    totals_by_currency,
    trial_balance,
)

ACCOUNTS = ("receivables", "contract_liabilities", "contract_assets", "revenue_goods")
SETTINGS = settings(max_examples=100, deadline=None)

amounts = st.lists(st.integers(min_value=1, max_value=10**12), min_size=1, max_size=6)


def balanced(values: list[int], currency: str, cause: str) -> list[Posting]:
    """Debits of the given values and one credit of their sum."""
    debits = [Posting(ACCOUNTS[i % 3], v, currency, "c", None, cause) for i, v in enumerate(values)]
    return [*debits, Posting("revenue_goods", -sum(values), currency, "c", None, cause)]


def build(postings: list[Posting], cause: str, on: date, calendar: PeriodCalendar = ALL_OPEN):
    return journal_entry(
        kind="k",
        contract_id="c",
        obligation_id=None,
        cause_event_id=cause,
        occurred_on=on,
        postings=postings,
        calendar=calendar,
    )


@SETTINGS
@given(batches=st.lists(st.tuples(amounts, st.sampled_from(["USD", "EUR", "JPY"])), max_size=8))
def test_entries_built_from_balanced_postings_always_leave_a_zero_trial_balance(batches):
    entries = [
        build(balanced(values, currency, f"e{i}"), f"e{i}", date(2024, 1, 1))
        for i, (values, currency) in enumerate(batches)
    ]
    assert all(total == 0 for total in totals_by_currency(trial_balance(entries)).values())


@SETTINGS
@given(values=amounts, skew=st.integers(min_value=-(10**6), max_value=10**6).filter(bool))
def test_any_imbalance_is_refused(values, skew):
    postings = balanced(values, "USD", "e")
    postings[-1] = Posting("revenue_goods", postings[-1].amount_minor + skew, "USD", "c", None, "e")
    # A skew that zeroes the credit makes the entry malformed rather than unbalanced; either
    # way it is refused.
    with pytest.raises((UnbalancedEntry, InvalidEntry)):
        build(postings, "e", date(2024, 1, 1))


@SETTINGS
@given(
    values=amounts,
    day=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)),
    closed_months=st.integers(min_value=0, max_value=24),
)
def test_nothing_ever_posts_into_a_closed_month(values, day, closed_months):
    closed_through = period_key(month_index(date(2020, 1, 1)) + closed_months)
    calendar = PeriodCalendar(closed_through=closed_through)
    made = build(balanced(values, "USD", "e"), "e", day, calendar)
    assert not calendar.is_closed(month_index(made.posted_on))
    assert made.occurred_on == day
    assert made.posted_on >= day


@SETTINGS
@given(values=amounts, cause=st.text(min_size=1, max_size=20))
def test_building_the_same_entry_twice_gives_identical_entries_ids_included(values, cause):
    first = build(balanced(values, "USD", cause), cause, date(2024, 5, 1))
    second = build(balanced(values, "USD", cause), cause, date(2024, 5, 1))
    assert first == second
    assert first.entry_id == second.entry_id
