"""Why a ledger operation could not be done: named exceptions, one per broken rule."""

from __future__ import annotations


class LedgerError(Exception):
    """A ledger rule was broken; the operation was not done."""


class UnbalancedEntry(LedgerError):
    """A journal entry whose debits and credits differ in some currency."""

    def __init__(self, entry_id: str, differences: dict[str, int]) -> None:
        listed = ", ".join(f"{cur} {diff:+d}" for cur, diff in sorted(differences.items()))
        super().__init__(f"entry {entry_id} does not balance: {listed} minor units")
        self.entry_id = entry_id
        self.differences = differences


class InvalidEntry(LedgerError):
    """A journal entry that is malformed: no postings, a zero posting, too many postings."""


class UnknownAccount(LedgerError):
    def __init__(self, account: str) -> None:
        super().__init__(f"account {account!r} is not in the chart of accounts")
        self.account = account


class InvalidChart(LedgerError):
    """A chart of accounts with duplicate codes or unknown account kinds."""


class InvalidPeriod(LedgerError):
    """A period key that is not YYYY-MM, or a date outside the supported range."""


class ClosedPeriod(LedgerError):
    """Something tried to post into, or close again, a closed period."""

    def __init__(self, period: str) -> None:
        super().__init__(f"period {period} is closed")
        self.period = period


class NoOpenPeriod(LedgerError):
    """No open period could be found for a correction within the search bound."""
