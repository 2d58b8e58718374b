"""Balances and checks over a set of entries: the trial balance and validations as findings.

Checks follow beancount's shape: each is a function from entries (and context) to a list of
findings, and `validate` runs the list. A finding is data to report, not an exception.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from ordertrail.domain.ledger.accounts import ChartOfAccounts
from ordertrail.domain.ledger.entries import JournalEntry
from ordertrail.domain.ledger.periods import month_index


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem found in a set of entries: which check, a sentence, and the entry concerned."""

    check: str
    message: str
    entry_id: str | None = None


def trial_balance(entries: Iterable[JournalEntry]) -> dict[tuple[str, str], int]:
    """Sum postings by (account, currency); debit positive. A sound ledger sums to zero."""
    totals: dict[tuple[str, str], int] = {}
    for entry in entries:
        for posting in entry.postings:
            key = (posting.account, posting.currency)
            totals[key] = totals.get(key, 0) + posting.amount_minor
    return totals


def totals_by_currency(balances: dict[tuple[str, str], int]) -> dict[str, int]:
    """Sum a trial balance per currency: every value is zero when the ledger balances."""
    sums: dict[str, int] = {}
    for (_, currency), amount in balances.items():
        sums[currency] = sums.get(currency, 0) + amount
    return sums


def balance_of(
    entries: Iterable[JournalEntry],
    *,
    account: str,
    contract_id: str | None = None,
    obligation_id: str | None = None,
) -> int:
    """Return the signed balance (debit positive) of one account, optionally for one contract
    or one obligation."""
    total = 0
    for entry in entries:
        for posting in entry.postings:
            if posting.account != account:
                continue
            if contract_id is not None and posting.contract_id != contract_id:
                continue
            if obligation_id is not None and posting.obligation_id != obligation_id:
                continue
            total += posting.amount_minor
    return total


# ---- checks -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckContext:
    chart: ChartOfAccounts


Check = Callable[[Sequence[JournalEntry], CheckContext], list[Finding]]


def _balanced(entries: Sequence[JournalEntry], _: CheckContext) -> list[Finding]:
    findings = []
    for entry in entries:
        sums: dict[str, int] = {}
        for posting in entry.postings:
            sums[posting.currency] = sums.get(posting.currency, 0) + posting.amount_minor
        if any(sums.values()):
            findings.append(Finding("unbalanced", f"sums by currency are {sums}", entry.entry_id))
    return findings


def _known_accounts(entries: Sequence[JournalEntry], context: CheckContext) -> list[Finding]:
    return [
        Finding("unknown_account", f"posting to {posting.account}", entry.entry_id)
        for entry in entries
        for posting in entry.postings
        if posting.account not in context.chart
    ]


def _unique_ids(entries: Sequence[JournalEntry], _: CheckContext) -> list[Finding]:
    seen: dict[str, JournalEntry] = {}
    findings = []
    for entry in entries:
        first = seen.setdefault(entry.entry_id, entry)
        if first is not entry and first != entry:
            findings.append(Finding("conflicting_id", "same id, different content", entry.entry_id))
    return findings


def _reversals_reference_entries(entries: Sequence[JournalEntry], _: CheckContext) -> list[Finding]:
    ids = {entry.entry_id for entry in entries}
    return [
        Finding("dangling_reversal", f"reverses unknown entry {entry.reverses}", entry.entry_id)
        for entry in entries
        if entry.reverses is not None and entry.reverses not in ids
    ]


def _posted_not_before_occurred(entries: Sequence[JournalEntry], _: CheckContext) -> list[Finding]:
    return [
        Finding(
            "posted_into_earlier_period",
            f"occurred {entry.occurred_on} but posted on {entry.posted_on}",
            entry.entry_id,
        )
        for entry in entries
        if month_index(entry.posted_on) < month_index(entry.occurred_on)
    ]


CHECKS: tuple[Check, ...] = (
    _balanced,
    _known_accounts,
    _unique_ids,
    _reversals_reference_entries,
    _posted_not_before_occurred,
)


def validate(entries: Sequence[JournalEntry], *, chart: ChartOfAccounts) -> list[Finding]:
    """Run every check over the entries and return all findings (empty when sound)."""
    context = CheckContext(chart=chart)
    findings: list[Finding] = []
    for check in CHECKS:
        findings.extend(check(entries, context))
    if any(totals_by_currency(trial_balance(entries)).values()):
        findings.append(Finding("trial_balance_not_zero", "the trial balance does not sum to zero"))
    return findings
