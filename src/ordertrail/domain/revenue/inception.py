"""Open a contract: steps 1 to 4 in one call, and the pieces modifications reuse."""

from __future__ import annotations

from collections.abc import Sequence

from ordertrail.domain.revenue.allocation import (
    Allocation,
    AllocationPolicy,
    allocate_transaction_price,
)
from ordertrail.domain.revenue.catalog import Catalogs
from ordertrail.domain.revenue.contracts import (
    ContractTerms,
    LineFacts,
    OrderFacts,
    contract_terms_of,
)
from ordertrail.domain.revenue.obligations import Obligation, identify_obligations
from ordertrail.domain.revenue.pricing import PricingTerms, determine_transaction_price
from ordertrail.domain.revenue.state import ContractState, ContractVersion, ObligationState

INCEPTION = "inception"


def price_and_allocate(
    *,
    lines: Sequence[LineFacts],
    obligations: Sequence[Obligation],
    pricing: PricingTerms,
    policy: AllocationPolicy,
    concessions_minor: int = 0,
) -> Allocation:
    """Steps 3 and 4 for a set of lines and their obligations."""
    price = determine_transaction_price(
        lines=lines, terms=pricing, concessions_minor=concessions_minor
    )
    return allocate_transaction_price(
        obligations=obligations, price=price, terms=pricing, policy=policy
    )


def obligation_states(
    obligations: Sequence[Obligation], allocation: Allocation
) -> tuple[ObligationState, ...]:
    """Fresh obligation states carrying their allocated price and return expectations."""
    states = []
    for obligation in obligations:
        item = allocation.of(obligation.obligation_id)
        states.append(
            ObligationState(
                obligation=obligation,
                allocated_minor=item.allocated_minor,
                return_rate_bp=item.return_rate_bp,
                unit_cost_minor=item.unit_cost_minor,
                allocation_basis=item.basis,
            )
        )
    return tuple(states)


def contract_from_terms(
    *,
    terms: ContractTerms,
    obligations: Sequence[Obligation],
    pricing: PricingTerms,
    policy: AllocationPolicy,
    cause_event_id: str,
    reason: str = "contract inception",
    related_contract_id: str | None = None,
) -> ContractState:
    """Build a contract in its first version from terms and identified obligations."""
    allocation = price_and_allocate(
        lines=terms.lines, obligations=obligations, pricing=pricing, policy=policy
    )
    version = ContractVersion(
        version=1,
        effective_on=terms.inception_on,
        cause_event_id=cause_event_id,
        treatment=INCEPTION,
        reason=reason,
        lines=terms.lines,
        obligation_ids=tuple(o.obligation_id for o in obligations),
        transaction_price_minor=allocation.transaction_price_minor,
        related_contract_id=related_contract_id,
    )
    return ContractState(
        terms=terms,
        pricing=pricing,
        policy=policy,
        obligations=obligation_states(obligations, allocation),
        versions=(version,),
    )


def open_contract(
    *,
    orders: Sequence[OrderFacts],
    catalogs: Catalogs,
    cause_event_id: str,
    pricing: PricingTerms | None = None,
    policy: AllocationPolicy | None = None,
) -> ContractState:
    """Steps 1 to 4: a contract from one group of orders, obligations priced and allocated.

    No entry is posted at inception: nothing has transferred and nothing is billed yet.
    """
    terms = contract_terms_of(orders)
    obligations = identify_obligations(
        lines=terms.lines,
        currency=terms.currency,
        shipping_terms=terms.shipping_terms,
        priced_on=terms.inception_on,
        catalogs=catalogs,
    )
    return contract_from_terms(
        terms=terms,
        obligations=obligations,
        pricing=pricing or PricingTerms(),
        policy=policy or AllocationPolicy(),
        cause_event_id=cause_event_id,
    )
