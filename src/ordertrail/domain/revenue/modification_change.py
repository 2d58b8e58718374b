"""A contract modification resolved against the contract, and the pricing pieces both
treatments share."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ordertrail.domain.revenue.allocation import Allocation, allocate_transaction_price
from ordertrail.domain.revenue.contracts import LineFacts
from ordertrail.domain.revenue.errors import InvalidFact
from ordertrail.domain.revenue.facts import ModifyContract
from ordertrail.domain.revenue.obligations import Obligation
from ordertrail.domain.revenue.pricing import PricingTerms, TransactionPrice, included_minor
from ordertrail.domain.revenue.state import ContractState


@dataclass(frozen=True, slots=True)
class Change:
    """A modification resolved against the contract: the new line set and added obligations."""

    lines: tuple[LineFacts, ...]
    added_lines: tuple[LineFacts, ...]
    added: tuple[Obligation, ...]
    changed_line_ids: frozenset[str]
    terms_by_line: dict[str, int | None]

    def line(self, line_id: str) -> LineFacts | None:
        for line in self.lines:
            if line.line_id == line_id:
                return line
        return None


def pool_allocation(
    state: ContractState, obligations: Sequence[Obligation], pool_minor: int
) -> Allocation:
    """Allocate an amount over obligations on relative SSP, keeping the contract's returns."""
    if pool_minor < 0:
        raise InvalidFact(f"a modification leaves {pool_minor} to allocate; it cannot be negative")
    return allocate_transaction_price(
        obligations=obligations,
        price=TransactionPrice(
            fixed_minor=pool_minor, discounts_minor=0, variable_minor=0, concessions_minor=0
        ),
        terms=PricingTerms(returns=state.pricing.returns),
        policy=state.policy,
    )


def consideration_change(state: ContractState, mod: ModifyContract, change: Change) -> int:
    """What the modification adds to the consideration through lines and variable terms."""
    delta = sum(line.amount_minor for line in change.lines) - sum(
        line.amount_minor for line in state.terms.lines
    )
    if mod.variable is not None:
        delta += sum(included_minor(v) for v in mod.variable)
        delta -= sum(included_minor(v) for v in state.pricing.variable)
    return delta
