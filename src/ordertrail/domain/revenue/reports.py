"""Revenue reports as pure arithmetic: the waterfall, remaining performance obligations (RPO) and
the deferred-revenue rollforward.

Storage hands in rows (obligations as they stand, summed postings); these functions turn them into
reports. Nothing here reads a clock or a database, so every figure can be reproduced from its rows.

Two rules shape every figure:

- What is still to be recognized of an obligation is its `deferred_minor` (allocated less revenue,
  expected refunds and returned units). The waterfall and the RPO only say *when* it is expected;
  their buckets always sum to it.
- The rollforward follows the contract position (contract liabilities less contract assets), the
  one balance billing and satisfaction both move, so its closing figure is the ledger's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from ordertrail.domain.ledger import period_key

# ---- obligations: when what is deferred is expected ------------------------------------------


@dataclass(frozen=True, slots=True)
class ObligationPosition:
    """One obligation as the reports need it: who, what, and what is still to be recognized.

    `schedule_first_period` (a month index) and `schedule_amounts_minor` are the obligation's
    ratable schedule when it has one; point-in-time obligations and over-time ones measured by
    progress have none, and what they defer is expected "at fulfilment".
    """

    contract_id: str
    obligation_id: str
    customer_id: str
    sku: str
    component: str
    nature: str
    timing: str
    currency: str
    allocated_minor: int
    recognized_minor: int
    deferred_minor: int
    schedule_first_period: int | None = None
    schedule_amounts_minor: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Expected:
    """When an obligation's deferred amount is expected: per period of a horizon, after it, and
    at fulfilment (no date known). The three always sum to the deferred amount."""

    amounts_minor: tuple[int, ...]
    later_minor: int
    unscheduled_minor: int

    @property
    def total_minor(self) -> int:
        return sum(self.amounts_minor) + self.later_minor + self.unscheduled_minor


def expected_of(position: ObligationPosition, *, first_period: int, periods: int) -> Expected:
    """Spread an obligation's deferred amount over `periods` months from `first_period`.

    A scheduled obligation is expected as its schedule says, with two corrections that keep the
    figures on the ledger: what the schedule called for before `first_period` and is not yet
    recognized (a close not yet run) is expected in the first period, because the next close
    catches it up; and revenue recognized ahead of the schedule is not expected again. Anything
    deferred with no schedule (goods not yet transferred, progress-measured services) is
    "unscheduled". Every bucket is >= 0 and they sum to `deferred_minor`.
    """
    deferred = max(position.deferred_minor, 0)
    first = position.schedule_first_period
    amounts = position.schedule_amounts_minor
    if deferred == 0 or first is None or not amounts or position.timing != "over_time":
        return Expected(amounts_minor=(0,) * periods, later_minor=0, unscheduled_minor=deferred)
    recognized = position.recognized_minor
    ceiling = recognized + deferred
    # cumulative schedule through the month before the horizon
    cumulative = sum(amounts[: max(first_period - first, 0)])
    reached = recognized
    expected = []
    for index in range(first_period, first_period + periods):
        offset = index - first
        if 0 <= offset < len(amounts):
            cumulative += amounts[offset]
        target = min(max(cumulative, recognized), ceiling)
        expected.append(target - reached)
        reached = target
    return Expected(
        amounts_minor=tuple(expected), later_minor=ceiling - reached, unscheduled_minor=0
    )


GroupBy = Literal["contract", "obligation", "customer"]

# The fields that name a waterfall row, per grouping, in the order reports show them.
GROUP_FIELDS: dict[str, tuple[str, ...]] = {
    "contract": ("contract_id", "customer_id"),
    "customer": ("customer_id",),
    "obligation": (
        "obligation_id",
        "contract_id",
        "customer_id",
        "sku",
        "component",
        "nature",
        "timing",
    ),
}


@dataclass(frozen=True, slots=True)
class WaterfallRow:
    """One group (contract, obligation or customer) in one currency, by period."""

    key: tuple[tuple[str, str], ...]
    currency: str
    amounts_minor: tuple[int, ...]
    later_minor: int
    unscheduled_minor: int
    obligations: int

    @property
    def total_minor(self) -> int:
        return sum(self.amounts_minor) + self.later_minor + self.unscheduled_minor


@dataclass(frozen=True, slots=True)
class Waterfall:
    """Deferred revenue expected per future period, by group, with totals per currency."""

    group_by: str
    first_period: int
    periods: tuple[str, ...]
    rows: tuple[WaterfallRow, ...]
    totals: tuple[WaterfallRow, ...]


def _add(
    row: WaterfallRow | None, key: tuple[tuple[str, str], ...], cur: str, e: Expected
) -> WaterfallRow:
    if row is None:
        return WaterfallRow(key, cur, e.amounts_minor, e.later_minor, e.unscheduled_minor, 1)
    return WaterfallRow(
        key,
        cur,
        tuple(a + b for a, b in zip(row.amounts_minor, e.amounts_minor, strict=True)),
        row.later_minor + e.later_minor,
        row.unscheduled_minor + e.unscheduled_minor,
        row.obligations + 1,
    )


def waterfall(
    positions: Iterable[ObligationPosition], *, group_by: str, first_period: int, periods: int
) -> Waterfall:
    """Build the revenue waterfall: each group's deferred revenue by the period it is expected in.

    Obligations with nothing deferred are left out. Rows are sorted by currency, then by key.
    """
    fields = GROUP_FIELDS[group_by]
    rows: dict[tuple[str, tuple[tuple[str, str], ...]], WaterfallRow] = {}
    totals: dict[str, WaterfallRow] = {}
    for position in positions:
        if position.deferred_minor <= 0:
            continue
        expected = expected_of(position, first_period=first_period, periods=periods)
        key = tuple((name, str(getattr(position, name))) for name in fields)
        cur = position.currency
        rows[(cur, key)] = _add(rows.get((cur, key)), key, cur, expected)
        totals[cur] = _add(totals.get(cur), (), cur, expected)
    return Waterfall(
        group_by=group_by,
        first_period=first_period,
        periods=tuple(period_key(first_period + i) for i in range(periods)),
        rows=tuple(rows[k] for k in sorted(rows)),
        totals=tuple(totals[k] for k in sorted(totals)),
    )


# ---- remaining performance obligations (ASC 606-10-50-13) --------------------------------------

RPO_BAND_MONTHS = 12


@dataclass(frozen=True, slots=True)
class RpoLine:
    """Remaining performance obligations of one group and currency, in the disclosure's bands."""

    key: tuple[tuple[str, str], ...]
    currency: str
    within_12_months_minor: int
    beyond_12_months_minor: int
    unscheduled_minor: int
    obligations: int

    @property
    def total_minor(self) -> int:
        return self.within_12_months_minor + self.beyond_12_months_minor + self.unscheduled_minor


@dataclass(frozen=True, slots=True)
class Rpo:
    """RPO at the end of `as_of` (a period key): the next twelve months start the month after."""

    as_of: str
    band_periods: tuple[str, str]
    rows: tuple[RpoLine, ...]
    totals: tuple[RpoLine, ...]


def _band(row: WaterfallRow) -> RpoLine:
    return RpoLine(
        key=row.key,
        currency=row.currency,
        within_12_months_minor=sum(row.amounts_minor),
        beyond_12_months_minor=row.later_minor,
        unscheduled_minor=row.unscheduled_minor,
        obligations=row.obligations,
    )


def remaining_performance_obligations(
    positions: Iterable[ObligationPosition], *, as_of_period: int, group_by: str = "contract"
) -> Rpo:
    """The transaction price allocated to obligations not yet satisfied, and when it is expected.

    ASC 606-10-50-13 / IFRS 15.120 ask for the amount and when the entity expects to recognize
    it, quantitatively in time bands: here within the twelve months after `as_of_period`, beyond
    them, and "unscheduled" (at fulfilment: goods not yet transferred, progress-measured work),
    which the entity explains qualitatively. The amounts are the obligations as they stand now.
    """
    bands = waterfall(
        positions, group_by=group_by, first_period=as_of_period + 1, periods=RPO_BAND_MONTHS
    )
    return Rpo(
        as_of=period_key(as_of_period),
        band_periods=(bands.periods[0], bands.periods[-1]),
        rows=tuple(_band(row) for row in bands.rows),
        totals=tuple(_band(row) for row in bands.totals),
    )


# ---- the deferred-revenue rollforward -----------------------------------------------------------

LIABILITY = "contract_liabilities"
ASSET = "contract_assets"
POSITION_ACCOUNTS = (LIABILITY, ASSET)

# Which entry kinds move the contract position as billing and as recognition; every other kind
# (return, price_concession, modification, reversal, anything new) is an adjustment, shown by kind.
BILLED_KINDS = frozenset({"invoice", "credit_note"})
RECOGNIZED_KINDS = frozenset({"recognition", "progress", "close"})


@dataclass(frozen=True, slots=True)
class PositionMovement:
    """The signed sum (debit positive) of one period's postings to one position account, by
    entry kind and currency, as storage aggregates it."""

    period: str
    currency: str
    kind: str
    account: str
    amount_minor: int


@dataclass(frozen=True, slots=True)
class RollforwardLine:
    """One period and currency: opening + billed - recognized + adjustments = closing.

    Amounts are on the liability's side (credit positive): the contract position, contract
    liabilities less contract assets. `closing_liabilities_minor` and `closing_assets_minor` are
    the two ledger balances at the period's end, so closing = liabilities - assets.
    """

    period: str
    currency: str
    opening_minor: int
    billed_minor: int
    recognized_minor: int
    adjustments_minor: int
    closing_minor: int
    closing_liabilities_minor: int
    closing_assets_minor: int
    adjustments_by_kind: tuple[tuple[str, int], ...]


class RollforwardOutOfBalance(ArithmeticError):
    """Opening plus movements does not give the ledger's closing balance: a bug, never data."""


def role_of(kind: str) -> str:
    """Say which rollforward column an entry kind's position movement goes to."""
    if kind in BILLED_KINDS:
        return "billed"
    if kind in RECOGNIZED_KINDS:
        return "recognized"
    return "adjustments"


def rollforward(
    movements: Iterable[PositionMovement], *, first_period: int, last_period: int
) -> tuple[RollforwardLine, ...]:
    """Roll the contract position forward period by period, per currency.

    `movements` must include every period up to `last_period` (earlier ones make the opening).
    Each period's closing is checked against the account balances summed independently; a
    difference raises RollforwardOutOfBalance.
    """
    opening: dict[str, int] = {}
    balances: dict[tuple[str, str], int] = {}
    by_period: dict[tuple[str, str], list[PositionMovement]] = {}
    first_key, last_key = period_key(first_period), period_key(last_period)
    for row in movements:
        if row.account not in POSITION_ACCOUNTS or row.period > last_key:
            continue
        if row.period < first_key:
            opening[row.currency] = opening.get(row.currency, 0) - row.amount_minor
            key = (row.currency, row.account)
            balances[key] = balances.get(key, 0) + row.amount_minor
        else:
            by_period.setdefault((row.period, row.currency), []).append(row)
    currencies = sorted({*opening, *(currency for _, currency in by_period)})
    lines = []
    for index in range(first_period, last_period + 1):
        period = period_key(index)
        for currency in currencies:
            line = _period_line(
                period=period,
                currency=currency,
                opening_minor=opening.get(currency, 0),
                rows=by_period.get((period, currency), []),
                balances=balances,
            )
            opening[currency] = line.closing_minor
            lines.append(line)
    return tuple(lines)


def _period_line(
    *,
    period: str,
    currency: str,
    opening_minor: int,
    rows: list[PositionMovement],
    balances: dict[tuple[str, str], int],
) -> RollforwardLine:
    # Amounts on the liability's side: a credit to either position account raises the position.
    moved = {"billed": 0, "recognized": 0, "adjustments": 0}
    adjustments: dict[str, int] = {}
    for row in rows:
        credit = -row.amount_minor
        role = role_of(row.kind)
        moved[role] += credit
        if role == "adjustments":
            adjustments[row.kind] = adjustments.get(row.kind, 0) + credit
        key = (currency, row.account)
        balances[key] = balances.get(key, 0) + row.amount_minor
    liabilities = -balances.get((currency, LIABILITY), 0)
    assets = balances.get((currency, ASSET), 0)
    # recognition lowers the position; the column shows it as a positive amount
    recognized = -moved["recognized"]
    closing = opening_minor + moved["billed"] - recognized + moved["adjustments"]
    if closing != liabilities - assets:
        raise RollforwardOutOfBalance(
            f"{period} {currency}: rollforward closes at {closing}, the ledger at "
            f"{liabilities - assets}"
        )
    return RollforwardLine(
        period=period,
        currency=currency,
        opening_minor=opening_minor,
        billed_minor=moved["billed"],
        recognized_minor=recognized,
        adjustments_minor=moved["adjustments"],
        closing_minor=closing,
        closing_liabilities_minor=liabilities,
        closing_assets_minor=assets,
        adjustments_by_kind=tuple(sorted((k, v) for k, v in adjustments.items() if v)),
    )


def positions_total(positions: Sequence[ObligationPosition]) -> dict[str, int]:
    """Deferred amounts per currency: what the waterfall and the RPO must each add up to."""
    totals: dict[str, int] = {}
    for position in positions:
        if position.deferred_minor > 0:
            totals[position.currency] = totals.get(position.currency, 0) + position.deferred_minor
    return totals
