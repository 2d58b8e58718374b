"""The port the reports read through: obligations as they stand, summed postings, the journal.

Read-only. Every method is tenant-scoped and bounded; the SQL adapter answers with set-based
queries over journal_postings, journal_entries, revenue_obligations (and gl_accounts for names),
the in-memory fake with the same results.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from ordertrail.domain.ledger.reports import AccountTotal
from ordertrail.domain.revenue.reports import ObligationPosition, PositionMovement

JOURNAL_PAGE_MAX = 500


class ReportTooLarge(Exception):
    """A report's sums exceed the rows a query may return; never answered truncated."""


@dataclass(frozen=True, slots=True)
class JournalFilter:
    """Which entries a journal listing shows; None means any. `account` and `obligation_id`
    match entries with at least one posting to that account or for that obligation."""

    period: str | None = None
    account: str | None = None
    contract_id: str | None = None
    obligation_id: str | None = None
    kind: str | None = None
    cause_event_id: str | None = None


@dataclass(frozen=True, slots=True)
class PostingRow:
    line_no: int
    account: str
    amount_minor: int
    currency: str
    contract_id: str
    obligation_id: str | None
    customer_id: str
    cause_event_id: str


@dataclass(frozen=True, slots=True)
class EntryRow:
    entry_id: str
    kind: str
    contract_id: str
    obligation_id: str | None
    cause_event_id: str
    occurred_on: date
    posted_on: date
    period: str
    reverses: str | None
    memo: str
    recorded_at: datetime
    postings: tuple[PostingRow, ...]


@dataclass(frozen=True, slots=True)
class EntryPage:
    """Entries in (posted_on, entry_id) order; `next_cursor` is None on the last page."""

    entries: tuple[EntryRow, ...]
    next_cursor: str | None


class ReportQueries(Protocol):
    def obligation_positions(self, *, tenant_id: str) -> Iterator[ObligationPosition]:
        """Yield the obligations with something deferred, by (contract_id, obligation_id)."""
        ...

    def position_movements(self, *, tenant_id: str, through_period: str) -> list[PositionMovement]:
        """Sum postings to contract liabilities and contract assets per period (up to and
        including `through_period`), currency, entry kind and account."""
        ...

    def account_totals(
        self, *, tenant_id: str, period: str | None, through_period: str | None
    ) -> list[AccountTotal]:
        """Sum postings per account and currency: in one period, or in all up to one."""
        ...

    def journal(
        self, *, tenant_id: str, filters: JournalFilter, limit: int, cursor: str | None
    ) -> EntryPage:
        """A page of entries with their postings; raises ValueError for a foreign cursor."""
        ...

    def journal_entry(self, *, tenant_id: str, entry_id: str) -> EntryRow | None: ...

    def reversals_of(self, *, tenant_id: str, entry_id: str) -> list[str]:
        """The ids of the entries that reverse this one."""
        ...
