"""The trial balance as a report: per account and currency, a debit or a credit column.

Storage sums postings per (account, currency); this module lays them out and proves the sum is
zero per currency, which every balanced ledger guarantees (each entry balances on its own).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ordertrail.domain.ledger.errors import LedgerError


@dataclass(frozen=True, slots=True)
class AccountTotal:
    """The signed sum (debit positive) of one account's postings in one currency, with the
    account's name, kind and external GL code ('' when the chart no longer has the account)."""

    account: str
    currency: str
    amount_minor: int
    name: str = ""
    kind: str = ""
    gl_code: str = ""


@dataclass(frozen=True, slots=True)
class TrialBalanceLine:
    account: str
    name: str
    kind: str
    gl_code: str
    currency: str
    debit_minor: int
    credit_minor: int


@dataclass(frozen=True, slots=True)
class CurrencyTotal:
    """A currency's column sums; `difference_minor` (debits less credits) is always 0."""

    currency: str
    debit_minor: int
    credit_minor: int

    @property
    def difference_minor(self) -> int:
        return self.debit_minor - self.credit_minor


@dataclass(frozen=True, slots=True)
class TrialBalance:
    lines: tuple[TrialBalanceLine, ...]
    totals: tuple[CurrencyTotal, ...]


class TrialBalanceNotZero(LedgerError):
    """Debits and credits differ in some currency: the stored ledger is broken."""


def trial_balance_report(totals: Iterable[AccountTotal]) -> TrialBalance:
    """Lay out account sums as debit and credit columns, sorted by currency then GL code and
    account; accounts whose postings net to zero are left out. Raises TrialBalanceNotZero when a
    currency's columns differ, so a broken ledger is never reported as if it balanced."""
    lines = []
    sums: dict[str, tuple[int, int]] = {}
    for total in totals:
        debit, credit = sums.get(total.currency, (0, 0))
        sums[total.currency] = (
            debit + max(total.amount_minor, 0),
            credit + max(-total.amount_minor, 0),
        )
        if total.amount_minor == 0:
            continue
        lines.append(
            TrialBalanceLine(
                account=total.account,
                name=total.name,
                kind=total.kind,
                gl_code=total.gl_code,
                currency=total.currency,
                debit_minor=max(total.amount_minor, 0),
                credit_minor=max(-total.amount_minor, 0),
            )
        )
    currency_totals = tuple(CurrencyTotal(c, d, k) for c, (d, k) in sorted(sums.items()))
    for column in currency_totals:
        if column.difference_minor != 0:
            raise TrialBalanceNotZero(
                f"{column.currency}: debits {column.debit_minor} and credits "
                f"{column.credit_minor} differ by {column.difference_minor}"
            )
    lines.sort(key=lambda line: (line.currency, line.gl_code, line.account))
    return TrialBalance(lines=tuple(lines), totals=currency_totals)
