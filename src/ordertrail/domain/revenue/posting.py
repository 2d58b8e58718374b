"""Turn the difference between target and posted balances into balanced journal entries.

Which account each role posts to, and on which side it grows, is a table. The contract-level
leg goes to the contract liability while the customer has paid or been billed ahead of
performance, and to the contract asset while performance is ahead of billing; the liability can
therefore never go negative (ASC 606-10-45-1 to 45-4, IFRS 15.105-108).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date

from ordertrail.domain.ledger import JournalEntry, PeriodCalendar, Posting, journal_entry
from ordertrail.domain.revenue.errors import RevenueError
from ordertrail.domain.revenue.state import ContractState, RoleBalances, targets_of

# role -> (account, normal sign). None means the obligation's own revenue account.
ROLE_ACCOUNTS: dict[str, tuple[str | None, int]] = {
    "revenue": (None, -1),
    "refund_liability": ("refund_liabilities", -1),
    "return_asset": ("return_assets", 1),
    "cost_of_sales": ("cost_of_sales", 1),
    "inventory": ("inventory", 1),
    "receivables": ("receivables", 1),
    "contract_liabilities": ("contract_liabilities", -1),
    "contract_assets": ("contract_assets", 1),
}
OBLIGATION_ROLES = ("revenue", "refund_liability", "return_asset", "cost_of_sales", "inventory")

# Entry kinds one cause can make more than once, and what tells the entries apart in their id:
# a close run again after a late fact brings revenue to a new cumulative amount.
ID_DETAIL: dict[str, Callable[[RoleBalances], str]] = {
    "close": lambda goal: f"to:{goal.revenue}",
}


class PositionOutOfBalance(RevenueError):
    """The contract liability and asset no longer equal billed less satisfied: a bug."""


def contract_leg(position_minor: int) -> tuple[int, int]:
    """Return (contract liability, contract asset) for a billing position; one is always 0."""
    return max(position_minor, 0), max(-position_minor, 0)


def _posting(
    state: ContractState,
    role: str,
    delta: int,
    *,
    obligation_id: str | None,
    cause: str,
    revenue_account: str = "",
) -> Posting:
    account, sign = ROLE_ACCOUNTS[role]
    return Posting(
        account=account or revenue_account,
        amount_minor=delta * sign,
        currency=state.currency,
        contract_id=state.contract_id,
        obligation_id=obligation_id,
        cause_event_id=cause,
    )


def _contract_postings(
    state: ContractState, position_after: int, obligation_id: str | None, cause: str
) -> tuple[list[Posting], int, int]:
    liability, asset = contract_leg(position_after)
    postings = []
    for role, before, after in (
        ("contract_liabilities", state.contract_liability_minor, liability),
        ("contract_assets", state.contract_asset_minor, asset),
    ):
        if after != before:
            postings.append(
                _posting(state, role, after - before, obligation_id=obligation_id, cause=cause)
            )
    return postings, liability, asset


def check_position(state: ContractState) -> None:
    """Raise PositionOutOfBalance unless liability - asset == billed - satisfied."""
    if state.contract_liability_minor - state.contract_asset_minor != state.position_minor:
        raise PositionOutOfBalance(f"contract {state.contract_id} position is out of balance")
    if min(state.contract_liability_minor, state.contract_asset_minor) != 0:
        raise PositionOutOfBalance(f"contract {state.contract_id} holds both asset and liability")


def settle(
    state: ContractState,
    index: int,
    *,
    kind: str,
    cause_event_id: str,
    occurred_on: date,
    calendar: PeriodCalendar,
    target: RoleBalances | None = None,
) -> tuple[ContractState, JournalEntry | None]:
    """Post one obligation from its posted balances to its targets; None when nothing moves."""
    ob = state.obligations[index]
    goal = targets_of(ob) if target is None else target
    oid = ob.obligation_id
    postings = []
    for role in OBLIGATION_ROLES:
        delta = getattr(goal, role) - getattr(ob.posted, role)
        if delta:
            postings.append(
                _posting(
                    state,
                    role,
                    delta,
                    obligation_id=oid,
                    cause=cause_event_id,
                    revenue_account=ob.obligation.revenue_account,
                )
            )
    if not postings:
        return state, None
    moved = goal.satisfied_gross_minor - ob.posted.satisfied_gross_minor
    contract, liability, asset = _contract_postings(
        state, state.position_minor - moved, oid, cause_event_id
    )
    entry = journal_entry(
        kind=kind,
        contract_id=state.contract_id,
        obligation_id=oid,
        cause_event_id=cause_event_id,
        occurred_on=occurred_on,
        postings=postings + contract,
        calendar=calendar,
        detail=ID_DETAIL[kind](goal) if kind in ID_DETAIL else None,
    )
    obligations = list(state.obligations)
    obligations[index] = replace(ob, posted=goal)
    settled = replace(
        state,
        obligations=tuple(obligations),
        contract_liability_minor=liability,
        contract_asset_minor=asset,
    )
    check_position(settled)
    return settled, entry


def bill(
    state: ContractState,
    amount_minor: int,
    *,
    kind: str,
    cause_event_id: str,
    occurred_on: date,
    calendar: PeriodCalendar,
) -> tuple[ContractState, JournalEntry | None]:
    """Post an invoice (positive) or a credit note (negative) against the contract position."""
    if amount_minor == 0:
        return state, None
    receivable = _posting(
        state, "receivables", amount_minor, obligation_id=None, cause=cause_event_id
    )
    contract, liability, asset = _contract_postings(
        state, state.position_minor + amount_minor, None, cause_event_id
    )
    entry = journal_entry(
        kind=kind,
        contract_id=state.contract_id,
        obligation_id=None,
        cause_event_id=cause_event_id,
        occurred_on=occurred_on,
        postings=[receivable, *contract],
        calendar=calendar,
    )
    billed = replace(
        state,
        billed_minor=state.billed_minor + amount_minor,
        contract_liability_minor=liability,
        contract_asset_minor=asset,
    )
    check_position(billed)
    return billed, entry


def settle_all(
    state: ContractState,
    *,
    kind: str,
    cause_event_id: str,
    occurred_on: date,
    calendar: PeriodCalendar,
    indexes: list[int] | None = None,
) -> tuple[ContractState, list[JournalEntry]]:
    """Settle several obligations in contract order, one entry per obligation that moved."""
    entries = []
    for index in range(len(state.obligations)) if indexes is None else indexes:
        state, entry = settle(
            state,
            index,
            kind=kind,
            cause_event_id=cause_event_id,
            occurred_on=occurred_on,
            calendar=calendar,
        )
        if entry is not None:
            entries.append(entry)
    return state, entries
