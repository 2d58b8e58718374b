"""Journal entries: balanced per currency, malformed ones refused, ids derived from causes."""

from __future__ import annotations

from datetime import date

import pytest

from ordertrail.domain.ledger import (
    ALL_OPEN,
    InvalidEntry,
    PeriodCalendar,
    Posting,
    UnbalancedEntry,
    entry_id_for,
    entry_ids_for,
    journal_entry,
    reverse_entry,
)


def posting(account: str, amount: int, currency: str = "USD") -> Posting:
    return Posting(account, amount, currency, "ctr-1", "L1/unit", "evt-1")


def entry(*postings: Posting, calendar: PeriodCalendar = ALL_OPEN, on: date = date(2024, 3, 5)):
    return journal_entry(
        kind="recognition",
        contract_id="ctr-1",
        obligation_id="L1/unit",
        cause_event_id="evt-1",
        occurred_on=on,
        postings=postings,
        calendar=calendar,
    )


def test_a_balanced_entry_is_built_with_its_date_and_period():
    made = entry(posting("contract_liabilities", 1000), posting("revenue_goods", -1000))
    assert made.posted_on == made.occurred_on == date(2024, 3, 5)
    assert made.period == "2024-03"
    assert not made.corrected_into_later_period


def test_an_entry_that_does_not_balance_is_refused_naming_the_difference():
    with pytest.raises(UnbalancedEntry) as raised:
        entry(posting("contract_liabilities", 1000), posting("revenue_goods", -999))
    assert raised.value.differences == {"USD": 1}


def test_balance_is_checked_per_currency_not_across_currencies():
    with pytest.raises(UnbalancedEntry) as raised:
        entry(
            posting("receivables", 100, "USD"),
            posting("receivables", -100, "EUR"),
        )
    assert raised.value.differences == {"USD": 100, "EUR": -100}


@pytest.mark.parametrize(
    "postings",
    [
        (),
        (Posting("receivables", 0, "USD", "c", None, "e"),),
        (
            Posting("receivables", 0, "USD", "c", None, "e"),
            Posting("revenue_goods", 0, "USD", "c", None, "e"),
        ),
    ],
)
def test_entries_with_fewer_than_two_postings_or_zero_postings_are_malformed(postings):
    with pytest.raises(InvalidEntry):
        entry(*postings)


def test_the_id_is_the_same_for_the_same_causes_and_differs_when_any_cause_differs():
    base = {
        "contract_id": "ctr-1",
        "obligation_id": "L1/unit",
        "cause_event_id": "evt-1",
        "kind": "recognition",
    }
    assert entry_id_for(**base) == entry_id_for(**base)
    for field, other in (
        ("contract_id", "ctr-2"),
        ("obligation_id", None),
        ("cause_event_id", "evt-2"),
        ("kind", "return"),
    ):
        assert entry_id_for(**base) != entry_id_for(**{**base, field: other})


def test_the_id_key_cannot_be_forged_by_moving_characters_between_causes():
    # Length-prefixed parts: "a;b" + "c" must not collide with "a" + ";bc".
    one = entry_id_for(contract_id="a;b", obligation_id="c", cause_event_id="e", kind="k")
    two = entry_id_for(contract_id="a", obligation_id=";bc", cause_event_id="e", kind="k")
    assert one != two


def test_the_batch_id_function_gives_the_same_ids_as_the_single_one():
    ids = entry_ids_for(cause_event_id="close:2024-03", kind="close")
    single = entry_id_for(
        contract_id="ctr-1", obligation_id="L1/sup", cause_event_id="close:2024-03", kind="close"
    )
    assert ids("ctr-1", "L1/sup") == single


def test_a_fact_in_a_closed_month_lands_in_the_first_open_month_keeping_its_date():
    closed = PeriodCalendar(closed_through="2024-03")
    made = entry(
        posting("contract_liabilities", 1000),
        posting("revenue_goods", -1000),
        calendar=closed,
        on=date(2024, 3, 28),
    )
    assert made.occurred_on == date(2024, 3, 28)
    assert made.posted_on == date(2024, 4, 1)
    assert made.period == "2024-04"
    assert made.corrected_into_later_period


def test_a_reversal_mirrors_its_original_and_references_it():
    original = entry(posting("contract_liabilities", 1000), posting("revenue_goods", -1000))
    reversal = reverse_entry(
        original,
        cause_event_id="evt-9",
        occurred_on=date(2024, 4, 2),
        calendar=ALL_OPEN,
    )
    assert reversal.reverses == original.entry_id
    assert [p.amount_minor for p in reversal.postings] == [-1000, 1000]
    assert reversal.entry_id != original.entry_id
    assert {p.cause_event_id for p in reversal.postings} == {"evt-9"}


def test_reversing_into_a_closed_month_posts_in_the_next_open_one():
    original = entry(posting("contract_liabilities", 5), posting("revenue_goods", -5))
    reversal = reverse_entry(
        original,
        cause_event_id="evt-9",
        occurred_on=date(2024, 3, 31),
        calendar=PeriodCalendar(closed_through="2024-03"),
    )
    assert reversal.posted_on == date(2024, 4, 1)
