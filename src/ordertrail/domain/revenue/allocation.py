"""Step 4: allocate the transaction price to obligations on relative SSP, in integer minor units.

Every split goes through `money.allocate` (largest remainder, ties to the earlier obligation),
so the parts always sum to the whole. The order of the rules follows the standard:
a discount with evidence that it belongs to some obligations is allocated first
(ASC 606-10-32-37), then the residual approach prices obligations with no observable SSP
(32-34(c)), then everything else shares on relative SSP (32-31). Variable consideration that
relates entirely to some obligations goes to them (32-40). Expected returns are carved out of
the returnable obligations last (55-23).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ordertrail.domain.money import allocate
from ordertrail.domain.revenue.errors import (
    DiscountEvidenceMismatch,
    InvalidContract,
    ResidualNotAppropriate,
)
from ordertrail.domain.revenue.obligations import Obligation
from ordertrail.domain.revenue.pricing import (
    BASIS_POINTS,
    PricingTerms,
    TransactionPrice,
    included_minor,
)


@dataclass(frozen=True, slots=True)
class AllocationPolicy:
    """Named options of step 4.

    `clamp_to_ssp_range`: a single-component line whose stated unit price lies outside its SSP
    range is weighted at the nearest bound; inside the range, at its stated price.
    `ssp_tolerance_bp`: how far (in basis points of SSP) a modification's price for added goods
    may be from their SSP and still count as "at SSP" when the SSP has no range.
    """

    clamp_to_ssp_range: bool = False
    ssp_tolerance_bp: int = 0


@dataclass(frozen=True, slots=True)
class AllocatedObligation:
    """One obligation's share of the transaction price and why."""

    obligation_id: str
    weight_minor: int | None
    allocated_minor: int
    expected_refund_minor: int
    basis: str
    return_rate_bp: int = 0
    unit_cost_minor: int | None = None

    @property
    def net_minor(self) -> int:
        """The part of the allocation expected to become revenue."""
        return self.allocated_minor - self.expected_refund_minor


@dataclass(frozen=True, slots=True)
class Allocation:
    items: tuple[AllocatedObligation, ...]

    @property
    def total_minor(self) -> int:
        return sum(item.allocated_minor for item in self.items)

    @property
    def transaction_price_minor(self) -> int:
        """The transaction price net of expected refunds."""
        return sum(item.net_minor for item in self.items)

    def of(self, obligation_id: str) -> AllocatedObligation:
        for item in self.items:
            if item.obligation_id == obligation_id:
                return item
        raise InvalidContract(f"no allocation for obligation {obligation_id}")


def share(*, total_minor: int, part: int, whole: int) -> int:
    """Return the part/whole share of an amount through the one allocation function.

    It is the first part of `allocate(total, [part, whole - part])`, so a share and its
    complement always sum to the total and rounding follows the house rule.
    """
    if whole <= 0 or part >= whole:
        return total_minor
    if part <= 0:
        return 0
    return allocate(total_minor=total_minor, weights=[part, whole - part])[0]


def ssp_weight(obligation: Obligation, policy: AllocationPolicy) -> int | None:
    """The SSP an obligation is weighted by: its total SSP, or its clamped stated price."""
    ssp = obligation.ssp_total_minor
    low, high = obligation.ssp_low_minor, obligation.ssp_high_minor
    clamps = policy.clamp_to_ssp_range and obligation.single_component_line and ssp is not None
    if clamps and low is not None and high is not None:
        clamped = min(max(obligation.unit_price_minor, low), high)
        return clamped * obligation.quantity
    return ssp


def _split(total_minor: int, weights: Sequence[int]) -> list[int]:
    # With every weight zero (free items), share by nothing would be undefined; the amount is
    # then shared equally, which is what relative SSP gives in the limit of equal SSPs.
    if not any(weights):
        return allocate(total_minor=total_minor, weights=[1] * len(weights))
    return allocate(total_minor=total_minor, weights=list(weights))


def _check_residual(obligations: Sequence[Obligation], amount_minor: int) -> None:
    if amount_minor <= 0:
        raise ResidualNotAppropriate(
            f"the residual approach leaves {amount_minor} minor units for "
            f"{[o.obligation_id for o in obligations]}"
        )
    low = sum((o.ssp_low_minor or 0) * o.quantity for o in obligations)
    high = sum((o.ssp_high_minor or 0) * o.quantity for o in obligations)
    if all(o.ssp_low_minor is not None for o in obligations) and not low <= amount_minor <= high:
        raise ResidualNotAppropriate(
            f"the residual {amount_minor} lies outside the observed range {low}..{high} "
            "(ASC 606-10-32-34(c), IFRS 15 IE Example 34 Case C)"
        )


def _allocate_fixed(
    obligations: Sequence[Obligation],
    total_minor: int,
    terms: PricingTerms,
    policy: AllocationPolicy,
) -> tuple[list[int], list[str]]:
    weights = [ssp_weight(o, policy) for o in obligations]
    evidence = terms.discount_evidence
    residual = [i for i, w in enumerate(weights) if w is None]
    if evidence is None and not residual:
        return _split(total_minor, [w or 0 for w in weights]), ["relative_ssp"] * len(weights)
    named = () if evidence is None else evidence.obligation_ids
    subset = [
        i for i, w in enumerate(weights) if w is not None and obligations[i].obligation_id in named
    ]
    if evidence is not None and (not subset or len(subset) != len(set(named))):
        raise DiscountEvidenceMismatch(
            f"discount evidence names {list(named)}, not all of them priced obligations here"
        )
    amounts = [w or 0 for w in weights]
    bases = ["standalone_ssp" if w is not None else "residual" for w in weights]
    if evidence is not None:
        bundle = _split(evidence.bundle_price_minor, [amounts[i] for i in subset])
        for i, part in zip(subset, bundle, strict=True):
            amounts[i] = part
            bases[i] = "discount_subset"
    rest = total_minor - sum(amounts[i] for i, w in enumerate(weights) if w is not None)
    if residual:
        _check_residual([obligations[i] for i in residual], rest)
        by_quantity = _split(rest, [obligations[i].quantity for i in residual])
        for i, part in zip(residual, by_quantity, strict=True):
            amounts[i] = part
    elif rest != 0:
        raise DiscountEvidenceMismatch(
            f"the evidence puts the entire discount on {list(named)}, "
            f"but {rest} minor units of the price are left over"
        )
    return amounts, bases


def allocate_transaction_price(
    *,
    obligations: Sequence[Obligation],
    price: TransactionPrice,
    terms: PricingTerms,
    policy: AllocationPolicy,
) -> Allocation:
    """Allocate a transaction price across obligations; parts sum exactly to the price."""
    if not obligations:
        raise InvalidContract("there are no obligations to allocate to")
    targeted = [v for v in terms.variable if v.obligation_ids]
    targeted_minor = sum(included_minor(v) for v in targeted)
    amounts, bases = _allocate_fixed(obligations, price.gross_minor - targeted_minor, terms, policy)
    index = {o.obligation_id: i for i, o in enumerate(obligations)}
    for variable in targeted:
        members = [index[oid] for oid in variable.obligation_ids if oid in index]
        if len(members) != len(variable.obligation_ids):
            raise InvalidContract(f"{variable.variable_id} names unknown obligations")
        weights = [obligations[i].ssp_total_minor or obligations[i].quantity for i in members]
        for i, part in zip(members, _split(included_minor(variable), weights), strict=True):
            amounts[i] += part
    items = []
    for obligation, amount, basis in zip(obligations, amounts, bases, strict=True):
        right = terms.return_right(obligation.line_id) if obligation.returnable else None
        rate = 0 if right is None else right.expected_return_rate_bp
        items.append(
            AllocatedObligation(
                obligation_id=obligation.obligation_id,
                weight_minor=ssp_weight(obligation, policy),
                allocated_minor=amount,
                expected_refund_minor=share(total_minor=amount, part=rate, whole=BASIS_POINTS),
                basis=basis,
                return_rate_bp=rate,
                unit_cost_minor=None if right is None else right.unit_cost_minor,
            )
        )
    allocation = Allocation(items=tuple(items))
    if allocation.total_minor != price.gross_minor:
        raise InvalidContract("allocation lost units; this is a bug")
    return allocation
