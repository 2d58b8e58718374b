"""Monthly accounting periods, half-open [start, end), and the date a fact may post on.

A period is a calendar month named "YYYY-MM". Internally a month is an integer index
(year * 12 + month - 1) so that schedules and closes do integer arithmetic, not date arithmetic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from ordertrail.domain.ledger.errors import ClosedPeriod, InvalidPeriod, NoOpenPeriod

PERIOD_KEY_PATTERN = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
YEAR_MIN = 1900
YEAR_MAX = 2999


def month_index(day: date) -> int:
    """Return the month index of a date: year * 12 + month - 1."""
    return day.year * 12 + day.month - 1


def month_start(index: int) -> date:
    """Return the first day of a month index (the period's inclusive start)."""
    year, month0 = divmod(index, 12)
    if not YEAR_MIN <= year <= YEAR_MAX:
        raise InvalidPeriod(f"month index {index} is outside {YEAR_MIN}..{YEAR_MAX}")
    return date(year, month0 + 1, 1)


def month_end(index: int) -> date:
    """Return the first day of the next month (the period's exclusive end)."""
    return month_start(index + 1)


def last_day(index: int) -> date:
    """Return the last day inside a month index."""
    return month_end(index) - timedelta(days=1)


def days_in_month(index: int) -> int:
    return (month_end(index) - month_start(index)).days


def period_key(index: int) -> str:
    """Return the "YYYY-MM" key of a month index."""
    year, month0 = divmod(index, 12)
    return f"{year:04d}-{month0 + 1:02d}"


def period_index(key: str) -> int:
    """Parse a "YYYY-MM" key into a month index, or raise InvalidPeriod."""
    match = PERIOD_KEY_PATTERN.match(key)
    if match is None:
        raise InvalidPeriod(f"{key!r} is not a period key of the form YYYY-MM")
    year, month = int(match.group(1)), int(match.group(2))
    if not YEAR_MIN <= year <= YEAR_MAX:
        raise InvalidPeriod(f"{key} is outside {YEAR_MIN}..{YEAR_MAX}")
    return year * 12 + month - 1


def add_months(day: date, months: int) -> date:
    """Move a date by whole months, clamping to the month's last day (Jan 31 + 1 = Feb 28/29)."""
    index = month_index(day) + months
    return month_start(index).replace(day=min(day.day, days_in_month(index)))


def accounting_date(occurred_at: datetime, *, tz: tzinfo) -> date:
    """Return the accounting date of an instant in the reporting time zone.

    The zone is an argument because the domain reads no configuration; an instant near
    midnight UTC belongs to different months in different zones.
    """
    if occurred_at.tzinfo is None:
        raise InvalidPeriod("occurred_at must be timezone-aware")
    return occurred_at.astimezone(tz).date()


@dataclass(frozen=True, slots=True)
class Period:
    """One month, half-open [start, end), open or closed."""

    key: str
    start: date
    end: date
    closed: bool

    def contains(self, day: date) -> bool:
        return self.start <= day < self.end


@dataclass(frozen=True, slots=True)
class PeriodCalendar:
    """Which months are closed: every month up to `closed_through`, plus any listed in `closed`.

    Months not closed are open. A fact dated in a closed month posts on the first day of the
    first open month after it, keeping its original date on the entry (ASC 250 / IAS 8 treat
    the correction in the current period; closed books are never edited).
    """

    closed_through: str | None = None
    closed: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.closed_through is not None:
            period_index(self.closed_through)
        for key in self.closed:
            period_index(key)

    def is_closed(self, index: int) -> bool:
        if self.closed_through is not None and index <= period_index(self.closed_through):
            return True
        return period_key(index) in self.closed

    def period(self, day: date) -> Period:
        index = month_index(day)
        return Period(
            key=period_key(index),
            start=month_start(index),
            end=month_end(index),
            closed=self.is_closed(index),
        )

    def first_open_index(self, index: int) -> int:
        """Return the first open month index at or after `index`."""
        if self.closed_through is not None:
            index = max(index, period_index(self.closed_through) + 1)
        # Each listed closed month can push the search one month on; the bound keeps the
        # loop finite whatever the calendar holds.
        for _ in range(len(self.closed) + 1):
            if period_key(index) not in self.closed:
                return index
            index += 1
        raise NoOpenPeriod(f"no open period at or after {period_key(index)}")

    def posting_date(self, occurred_on: date) -> date:
        """Return the date an entry for a fact on `occurred_on` posts on.

        The fact's own date when its month is open; otherwise the first day of the first open
        month after it.
        """
        index = month_index(occurred_on)
        if not self.is_closed(index):
            return occurred_on
        return month_start(self.first_open_index(index))

    def require_open(self, index: int) -> None:
        """Raise ClosedPeriod unless the month is open."""
        if self.is_closed(index):
            raise ClosedPeriod(period_key(index))


ALL_OPEN = PeriodCalendar()
