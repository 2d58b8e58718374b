"""A contract modification resolved against the contract, and the pricing pieces both
treatments share."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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


def returned_by_line(state: ContractState) -> dict[str, int]:
    """Units of each line that came back (the most advanced count among its goods)."""
    returned: dict[str, int] = {}
    for ob in state.obligations:
        if ob.obligation.timing == "point_in_time":
            line_id = ob.obligation.line_id
            count = ob.returns_offset + ob.returned_units
            returned[line_id] = max(returned.get(line_id, 0), count)
    return returned


def consideration_change(
    state: ContractState,
    mod: ModifyContract,
    change: Change,
    *,
    returned: Mapping[str, int] | None = None,
) -> int:
    """What the modification adds to the consideration through lines and variable terms.

    With `returned`, units that came back are left out on both sides: a new price for a unit
    already returned changes nothing anyone will pay.
    """
    back = returned or {}

    def amount(lines: Sequence[LineFacts]) -> int:
        return sum(
            max(line.quantity - back.get(line.line_id, 0), 0) * line.unit_price_minor
            for line in lines
        )

    delta = amount(change.lines) - amount(state.terms.lines)
    if mod.variable is not None:
        delta += sum(included_minor(v) for v in mod.variable)
        delta -= sum(included_minor(v) for v in state.pricing.variable)
    return delta
