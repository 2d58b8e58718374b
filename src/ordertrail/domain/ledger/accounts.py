"""The chart of accounts: codes the engine posts to, their kind, and the external GL code.

The chart is data. An entity edits the rows (names, GL codes, extra revenue accounts) without
touching code; the engine only needs the account codes it posts to to exist.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

from ordertrail.domain.ledger.errors import InvalidChart, UnknownAccount

AccountKind = Literal["asset", "liability", "equity", "revenue", "expense"]

KINDS: dict[str, AccountKind] = {
    "asset": "asset",
    "liability": "liability",
    "equity": "equity",
    "revenue": "revenue",
    "expense": "expense",
}

# Which side increases an account of each kind: +1 debit, -1 credit. Postings carry signed
# amounts (debit positive), so an account's natural balance is its posting sum times this sign.
NORMAL_SIGN: dict[str, int] = {
    "asset": 1,
    "expense": 1,
    "liability": -1,
    "equity": -1,
    "revenue": -1,
}

ACCOUNTS_MAX = 10_000


@dataclass(frozen=True, slots=True)
class Account:
    """One account: the code postings use, a name for people, its kind and its code in the GL."""

    code: str
    name: str
    kind: AccountKind
    gl_code: str

    @property
    def normal_sign(self) -> int:
        return NORMAL_SIGN[self.kind]


@dataclass(frozen=True, slots=True)
class ChartOfAccounts:
    """A set of accounts by code."""

    accounts: Mapping[str, Account]

    def __getitem__(self, code: str) -> Account:
        try:
            return self.accounts[code]
        except KeyError:
            raise UnknownAccount(code) from None

    def __contains__(self, code: object) -> bool:
        return code in self.accounts

    def __iter__(self) -> Iterator[Account]:
        return iter(self.accounts.values())

    def require(self, codes: Iterable[str]) -> None:
        """Raise UnknownAccount for the first code the chart does not have."""
        for code in codes:
            self[code]


def chart_from_rows(rows: Iterable[tuple[str, str, str, str]]) -> ChartOfAccounts:
    """Build a chart from (code, name, kind, gl_code) rows, refusing duplicates and bad kinds."""
    accounts: dict[str, Account] = {}
    for code, name, kind, gl_code in rows:
        if kind not in KINDS:
            raise InvalidChart(f"account {code}: kind {kind!r} is not one of {sorted(KINDS)}")
        if code in accounts:
            raise InvalidChart(f"account {code} appears twice")
        if len(accounts) >= ACCOUNTS_MAX:
            raise InvalidChart(f"a chart holds at most {ACCOUNTS_MAX} accounts")
        accounts[code] = Account(code=code, name=name, kind=KINDS[kind], gl_code=gl_code)
    return ChartOfAccounts(accounts=accounts)


# The default chart of the revenue subledger. GL codes are a common four-digit layout; an
# entity maps them to its own general ledger by editing this column.
DEFAULT_CHART_ROWS: tuple[tuple[str, str, str, str], ...] = (
    # code                   name                                         kind         GL
    ("receivables", "Trade receivables", "asset", "1200"),
    ("contract_assets", "Contract assets (unbilled revenue)", "asset", "1250"),
    ("return_assets", "Right to recover returned goods", "asset", "1270"),
    ("inventory", "Inventory", "asset", "1300"),
    ("contract_liabilities", "Contract liabilities (deferred revenue)", "liability", "2300"),
    ("refund_liabilities", "Refund liabilities", "liability", "2350"),
    ("revenue_goods", "Revenue: goods", "revenue", "4000"),
    ("revenue_services", "Revenue: services", "revenue", "4100"),
    ("revenue_licences", "Revenue: licences", "revenue", "4200"),
    ("revenue_subscriptions", "Revenue: subscriptions", "revenue", "4300"),
    ("revenue_installation", "Revenue: installation", "revenue", "4400"),
    ("revenue_warranty_services", "Revenue: service-type warranties", "revenue", "4500"),
    ("cost_of_sales", "Cost of goods sold", "expense", "5000"),
)

DEFAULT_CHART = chart_from_rows(DEFAULT_CHART_ROWS)
