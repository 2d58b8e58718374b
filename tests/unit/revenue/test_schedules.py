"""Schedules by monthly period: ratable by day, by equal months, by pro-rata months."""

from __future__ import annotations

from datetime import date

import pytest

from ordertrail.domain.ledger import month_index
from ordertrail.domain.revenue.errors import InvalidContract
from ordertrail.domain.revenue.schedules import (
    ratable_schedule,
    ratable_to_date,
    whole_months,
)

START, END = date(2024, 1, 15), date(2025, 1, 15)


def schedule(method: str, total: int = 36_600, start: date = START, end: date = END):
    return ratable_schedule(allocated_minor=total, start=start, end=end, method=method)


def test_ratable_by_day_weighs_each_month_by_its_service_days():
    # 366 service days from 2024-01-15; 36,600 is 100 a day.
    s = schedule("ratable_daily")
    assert s.first_period == month_index(START)
    assert s.amounts_minor[0] == 1700  # 17 days in January
    assert s.amounts_minor[1] == 2900  # February 2024 has 29
    assert s.amounts_minor[-1] == 1400  # 14 days in January 2025
    assert s.total_minor == 36_600


def test_ratable_by_equal_months_gives_a_partial_first_month_a_full_share():
    s = schedule("ratable_monthly_equal", total=120_000)
    assert s.amounts_minor == (10_000,) * 12
    assert s.last_period == month_index(date(2024, 12, 1))


def test_ratable_pro_rata_temporis_prorates_partial_first_and_last_months_by_days():
    s = schedule("ratable_monthly_prorata", total=120_000)
    assert len(s.amounts_minor) == 13
    assert s.amounts_minor[1:12] == (10_000,) * 11
    # January 2024: 17/31 of a month; January 2025: 14/31. Together one month.
    assert s.amounts_minor[0] + s.amounts_minor[-1] == 10_000
    assert s.amounts_minor[0] == 5484


@pytest.mark.parametrize(
    "method", ["ratable_daily", "ratable_monthly_equal", "ratable_monthly_prorata"]
)
@pytest.mark.parametrize("total", [1, 7, 99_999, 10**12 + 3])
def test_every_method_sums_exactly_to_the_allocated_amount(method, total):
    assert schedule(method, total=total).total_minor == total


def test_leftover_units_go_to_the_earlier_months_on_ties():
    s = ratable_schedule(
        allocated_minor=100,
        start=date(2024, 1, 1),
        end=date(2024, 4, 1),
        method="ratable_monthly_equal",
    )
    assert s.amounts_minor == (34, 33, 33)


def test_whole_months_count_a_longer_tail_as_one_more_month():
    assert whole_months(date(2024, 1, 15), date(2025, 1, 15)) == 12
    assert whole_months(date(2024, 1, 15), date(2024, 2, 20)) == 2
    assert whole_months(date(2024, 3, 31), date(2024, 4, 30)) == 1


def test_cumulative_amounts_through_a_period():
    s = schedule("ratable_daily")
    assert s.cumulative_through(month_index(date(2023, 12, 1))) == 0
    assert s.cumulative_through(month_index(date(2024, 2, 1))) == 4600
    assert s.cumulative_through(month_index(date(2030, 1, 1))) == 36_600


def test_revenue_to_a_date_inside_a_month_is_shared_by_days_elapsed():
    earned = ratable_to_date(
        allocated_minor=36_600, start=START, end=END, method="ratable_daily", day=date(2024, 2, 11)
    )
    assert earned == 1700 + 1000


def test_a_term_that_ends_before_it_starts_is_refused():
    with pytest.raises(InvalidContract):
        schedule("ratable_daily", start=END, end=START)
