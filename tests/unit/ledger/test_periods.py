"""Periods: monthly, half-open [start, end), and where a fact dated in a closed month posts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from ordertrail.domain.ledger import (
    InvalidPeriod,
    PeriodCalendar,
    accounting_date,
    add_months,
    days_in_month,
    last_day,
    month_end,
    month_index,
    month_start,
    period_index,
    period_key,
)


def test_a_month_index_round_trips_through_its_key_and_bounds():
    index = month_index(date(2024, 2, 17))
    assert period_key(index) == "2024-02"
    assert period_index("2024-02") == index
    assert (month_start(index), month_end(index)) == (date(2024, 2, 1), date(2024, 3, 1))
    assert last_day(index) == date(2024, 2, 29)
    assert days_in_month(index) == 29


def test_a_period_is_half_open_so_the_first_of_the_next_month_is_outside():
    period = PeriodCalendar().period(date(2024, 1, 31))
    assert period.contains(date(2024, 1, 1))
    assert period.contains(date(2024, 1, 31))
    assert not period.contains(date(2024, 2, 1))


@pytest.mark.parametrize("key", ["2024-13", "2024-1", "24-01", "2024-00", "0001-01", ""])
def test_malformed_period_keys_are_refused(key):
    with pytest.raises(InvalidPeriod):
        period_index(key)


def test_adding_months_clamps_to_the_last_day_of_a_shorter_month():
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2023, 1, 31), 1) == date(2023, 2, 28)
    assert add_months(date(2024, 1, 15), 12) == date(2025, 1, 15)


def test_a_fact_in_an_open_month_posts_on_its_own_date():
    assert PeriodCalendar(closed_through="2024-02").posting_date(date(2024, 3, 5)) == date(
        2024, 3, 5
    )


def test_a_fact_in_a_closed_month_posts_on_the_first_day_of_the_first_open_month():
    calendar = PeriodCalendar(closed_through="2024-02", closed=frozenset({"2024-03"}))
    assert calendar.posting_date(date(2024, 1, 20)) == date(2024, 4, 1)


def test_listed_closed_months_are_skipped_one_after_another():
    calendar = PeriodCalendar(closed=frozenset({"2024-05", "2024-06"}))
    assert calendar.posting_date(date(2024, 5, 2)) == date(2024, 7, 1)
    assert calendar.posting_date(date(2024, 4, 30)) == date(2024, 4, 30)


def test_the_accounting_date_depends_on_the_reporting_zone():
    instant = datetime(2024, 1, 31, 23, 30, tzinfo=UTC)
    assert accounting_date(instant, tz=UTC) == date(2024, 1, 31)
    assert accounting_date(instant, tz=timezone(timedelta(hours=2))) == date(2024, 2, 1)


def test_a_naive_instant_has_no_accounting_date():
    with pytest.raises(InvalidPeriod):
        accounting_date(datetime(2024, 1, 1), tz=UTC)
