"""Month-end close: the fast path equals the engine, reruns add nothing, catch-downs post."""

from __future__ import annotations

from datetime import date

import pytest

from ordertrail.domain.ledger import ALL_OPEN, ClosedPeriod, PeriodCalendar, month_index
from ordertrail.domain.revenue.close import CloseItem, close_items_of, close_period, positions_of
from ordertrail.domain.revenue.facts import (
    ClosePeriod,
    IssueInvoice,
    LineQuantities,
    RecordFulfilment,
    RecordProgress,
)
from tests.unit.revenue.builders import catalogs, contract, order, run, service

SUPPORT = catalogs(
    ("S", (service("support", method="ratable_daily", term_months=12),), {"support": 36_600}),
    ("B", (service("build", method="cost_to_cost", term_months=None),), {"build": 10_000}),
)


def two_services():
    state = contract(SUPPORT, order(("1", "S", 1, 36_600), ("2", "B", 1, 10_000)))
    state, _ = run(state, IssueInvoice("inv", date(2024, 1, 1), 2_000))
    return state


def test_the_fast_close_produces_the_engines_close_entries_ids_included():
    state = two_services()
    fast = close_period(
        period="2024-01",
        items=close_items_of(state),
        positions=positions_of([state]),
        calendar=ALL_OPEN,
    )
    _, engine = run(state, ClosePeriod("2024-01"))
    assert list(fast.entries()) == engine
    # January: 31 days of the support at 100 a day; the build has no progress yet.
    assert fast.recognized_minor == 3_100


def test_the_contract_leg_switches_from_liability_to_asset_as_revenue_passes_billing():
    state = two_services()
    fast = close_period(
        period="2024-01",
        items=close_items_of(state),
        positions=positions_of([state]),
        calendar=ALL_OPEN,
    )
    (line,) = fast.lines
    assert (line.revenue_minor, line.liability_minor, line.asset_minor) == (3_100, 2_000, 1_100)
    assert fast.positions_minor == {state.contract_id: -1_100}


def test_running_the_close_again_with_updated_balances_yields_nothing_new():
    state = two_services()
    state, _ = run(state, ClosePeriod("2024-01"))
    again = close_period(
        period="2024-01",
        items=close_items_of(state),
        positions=positions_of([state]),
        calendar=ALL_OPEN,
    )
    assert again.lines == ()


def test_running_the_close_again_on_the_same_inputs_yields_byte_identical_lines():
    state = two_services()
    first = close_period(
        period="2024-02", items=close_items_of(state), positions={}, calendar=ALL_OPEN
    )
    second = close_period(
        period="2024-02", items=close_items_of(state), positions={}, calendar=ALL_OPEN
    )
    assert first == second


def test_progress_items_close_to_the_share_of_costs_incurred():
    state = two_services()
    state, _ = run(state, RecordProgress("p", date(2024, 1, 20), "2/build", 25, 100))
    (item,) = [item for item in close_items_of(state) if item.obligation_id == "2/build"]
    assert (item.recognized_minor, item.progress_done, item.progress_total) == (2_500, 25, 100)
    moved = [item._replace(progress_done=50)]
    result = close_period(
        period="2024-01", items=moved, positions=positions_of([state]), calendar=ALL_OPEN
    )
    assert result.recognized_minor == 2_500


def test_a_lower_target_than_recognized_posts_a_catch_down():
    item = CloseItem(
        "c",
        "o",
        "USD",
        "revenue_services",
        1_000,
        recognized_minor=600,
        first_period=month_index(date(2024, 1, 1)),
        amounts_minor=(500, 500),
    )
    result = close_period(period="2024-01", items=[item], positions={"c": -600}, calendar=ALL_OPEN)
    (entry,) = result.entries()
    assert [(p.account, p.amount_minor) for p in entry.postings] == [
        ("revenue_services", 100),
        ("contract_assets", -100),
    ]


def test_a_closed_period_cannot_be_closed_again():
    with pytest.raises(ClosedPeriod):
        close_period(
            period="2024-01",
            items=[],
            positions={},
            calendar=PeriodCalendar(closed_through="2024-01"),
        )
    with pytest.raises(ClosedPeriod):
        run(
            two_services(),
            ClosePeriod("2024-01"),
            calendar=PeriodCalendar(closed_through="2024-01"),
        )


def test_close_entries_balance_and_post_on_the_last_day_of_the_period():
    state = two_services()
    result = close_period(
        period="2024-02", items=close_items_of(state), positions={}, calendar=ALL_OPEN
    )
    for entry in result.entries():
        assert sum(p.amount_minor for p in entry.postings) == 0
        assert entry.posted_on == entry.occurred_on == date(2024, 2, 29)


def test_a_close_run_again_after_a_late_fact_posts_the_new_amount_under_a_new_id():
    cats = catalogs(("W", (service("care", service_starts="delivery"),), {"care": 3_100}))
    state = contract(cats, order(("1", "W", 1, 3_100)))
    state, first = run(state, ClosePeriod("2024-01"))
    late = RecordFulfilment("d", date(2024, 1, 1), (LineQuantities("1", shipped=1, delivered=1),))
    state, _ = run(state, late)
    state, again = run(state, ClosePeriod("2024-01"))
    _, third = run(state, ClosePeriod("2024-01"))
    assert first == []
    assert [e.cause_event_id for e in again] == ["close:2024-01"]
    assert third == []
