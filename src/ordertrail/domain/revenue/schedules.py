"""Schedules of over-time obligations by monthly period, one weight function per method.

A schedule splits an allocated amount over the calendar months a service runs in, through the
one allocation function, so the months always sum to the amount. The methods are a table: a
reader sees every convention in one place.

- ratable_daily: each month weighs the number of service days in it.
- ratable_monthly_equal: the term is N whole service months; each gets an equal share, the
  first in the month the service starts, even if it starts mid-month (a partial first month
  gets a full share, and the month in which the term ends mid-month gets none).
- ratable_monthly_prorata: full months weigh one; a partial first or last month weighs its
  service days over the days of that month (pro rata temporis).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from ordertrail.domain.ledger import days_in_month, month_end, month_index, month_start
from ordertrail.domain.money import allocate
from ordertrail.domain.revenue.allocation import share
from ordertrail.domain.revenue.errors import InvalidContract

SCHEDULE_MONTHS_MAX = 1_200
# Least common multiple of 28, 29, 30 and 31: day fractions of any month become exact integers.
MONTH_LENGTHS_LCM = 377_580


@dataclass(frozen=True, slots=True)
class Schedule:
    """Amounts by month, from `first_period` (a month index) on, in plain ints for speed."""

    first_period: int
    amounts_minor: tuple[int, ...]

    @property
    def total_minor(self) -> int:
        return sum(self.amounts_minor)

    @property
    def last_period(self) -> int:
        return self.first_period + len(self.amounts_minor) - 1

    def cumulative_through(self, period: int) -> int:
        """Return the amount scheduled up to and including a month index."""
        count = period - self.first_period + 1
        if count <= 0:
            return 0
        return sum(self.amounts_minor[:count])

    def amount_in(self, period: int) -> int:
        offset = period - self.first_period
        if 0 <= offset < len(self.amounts_minor):
            return self.amounts_minor[offset]
        return 0


def _active_days(start: date, end: date, index: int) -> int:
    begin = max(start, month_start(index))
    finish = min(end, month_end(index))
    return max((finish - begin).days, 0)


def _months(start: date, end: date) -> range:
    last = month_index(end) if end.day > 1 else month_index(end) - 1
    return range(month_index(start), last + 1)


def _daily(start: date, end: date) -> list[int]:
    return [_active_days(start, end, index) for index in _months(start, end)]


def _prorata(start: date, end: date) -> list[int]:
    return [
        _active_days(start, end, index) * (MONTH_LENGTHS_LCM // days_in_month(index))
        for index in _months(start, end)
    ]


def whole_months(start: date, end: date) -> int:
    """Count the service months in [start, end): months between, plus one for a longer tail."""
    months = month_index(end) - month_index(start)
    return months + (1 if end.day > start.day else 0)


def _equal(start: date, end: date) -> list[int]:
    return [1] * whole_months(start, end)


WEIGHTS: dict[str, Callable[[date, date], list[int]]] = {
    "ratable_daily": _daily,
    "ratable_monthly_equal": _equal,
    "ratable_monthly_prorata": _prorata,
}


def ratable_schedule(*, allocated_minor: int, start: date, end: date, method: str) -> Schedule:
    """Spread an allocated amount over [start, end) by a ratable method."""
    if end <= start:
        raise InvalidContract(f"a service term must end after it starts ({start} .. {end})")
    try:
        weights = WEIGHTS[method](start, end)
    except KeyError:
        raise InvalidContract(f"{method} is not a ratable method") from None
    if not weights or len(weights) > SCHEDULE_MONTHS_MAX or not any(weights):
        raise InvalidContract(f"a service term of {len(weights)} months cannot be scheduled")
    amounts = allocate(total_minor=allocated_minor, weights=weights)
    return Schedule(first_period=month_index(start), amounts_minor=tuple(amounts))


def ratable_to_date(*, allocated_minor: int, start: date, end: date, method: str, day: date) -> int:
    """Return the amount earned from `start` up to (not including) `day`.

    Months before `day`'s month count whole; within that month, the month's amount is shared
    by the service days elapsed over its service days. Used when a contract changes mid-month.
    """
    if day <= start:
        return 0
    if day >= end:
        return allocated_minor
    schedule = ratable_schedule(
        allocated_minor=allocated_minor, start=start, end=end, method=method
    )
    index = month_index(day)
    before = schedule.cumulative_through(index - 1)
    month_amount = schedule.amount_in(index)
    elapsed = _active_days(start, day, index)
    active = _active_days(start, end, index)
    return before + share(total_minor=month_amount, part=elapsed, whole=active)
