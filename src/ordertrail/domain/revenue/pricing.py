"""Step 3: the transaction price — fixed price, discounts, variable consideration, returns.

Variable consideration is estimated by the expected value or the most likely amount
(ASC 606-10-32-8, IFRS 15.53) and, when constrained, only the part for which a significant
reversal is highly probable not to occur is included (32-11 / IFRS 15.56). Expected returns are
not revenue: they become a refund liability when the goods transfer (55-23 / IFRS 15.B21).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Literal

from ordertrail.domain.revenue.contracts import LineFacts
from ordertrail.domain.revenue.errors import InvalidContract

BASIS_POINTS = 10_000
OUTCOMES_MAX = 100
TERMS_MAX = 1_000

EstimateMethod = Literal["expected_value", "most_likely_amount"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """One possible amount of variable consideration and its probability in basis points."""

    amount_minor: int
    probability_bp: int


@dataclass(frozen=True, slots=True)
class VariableConsideration:
    """A bonus, penalty, rebate or other amount that depends on a future event.

    `obligation_ids` names the obligations it relates to entirely (ASC 606-10-32-40); empty
    means it is allocated to all obligations on relative SSP. When `constrained`, only
    `highly_probable_minor` is included (never more than the estimate).
    """

    variable_id: str
    method: EstimateMethod
    outcomes: tuple[Outcome, ...]
    constrained: bool = False
    highly_probable_minor: int = 0
    obligation_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not 0 < len(self.outcomes) <= OUTCOMES_MAX:
            raise InvalidContract(f"{self.variable_id}: give 1..{OUTCOMES_MAX} outcomes")
        if any(o.probability_bp < 0 for o in self.outcomes):
            raise InvalidContract(f"{self.variable_id}: probabilities cannot be negative")
        if sum(o.probability_bp for o in self.outcomes) != BASIS_POINTS:
            raise InvalidContract(f"{self.variable_id}: probabilities must sum to 10000 bp")


def _expected_value(outcomes: tuple[Outcome, ...]) -> int:
    # A probability-weighted sum is generally not a whole number of minor units; it is rounded
    # once, half to even, so the estimate carries no bias in either direction.
    weighted = sum(o.amount_minor * o.probability_bp for o in outcomes)
    return int((Decimal(weighted) / BASIS_POINTS).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def _most_likely_amount(outcomes: tuple[Outcome, ...]) -> int:
    # Ties go to the earlier outcome, as every tie in Ordertrail goes to the earlier part.
    best = max(range(len(outcomes)), key=lambda i: (outcomes[i].probability_bp, -i))
    return outcomes[best].amount_minor


ESTIMATORS: dict[str, Callable[[tuple[Outcome, ...]], int]] = {
    "expected_value": _expected_value,
    "most_likely_amount": _most_likely_amount,
}


def estimate_minor(variable: VariableConsideration) -> int:
    """Return the unconstrained estimate of a variable amount by its stated method."""
    return ESTIMATORS[variable.method](variable.outcomes)


def included_minor(variable: VariableConsideration) -> int:
    """Return what enters the transaction price: the estimate, or the constrained part of it."""
    estimate = estimate_minor(variable)
    if not variable.constrained:
        return estimate
    return min(estimate, variable.highly_probable_minor)


@dataclass(frozen=True, slots=True)
class Discount:
    """A contract-level price reduction (coupon, negotiated rebate), in minor units."""

    discount_id: str
    amount_minor: int


@dataclass(frozen=True, slots=True)
class DiscountEvidence:
    """Observable evidence that the entire discount belongs to some obligations (32-37).

    `bundle_price_minor` is the price at which the entity regularly sells those obligations
    together; they share it on relative SSP, and the others keep their SSP.
    """

    obligation_ids: tuple[str, ...]
    bundle_price_minor: int


@dataclass(frozen=True, slots=True)
class ReturnRight:
    """A right of return on a line: expected returns as a rate, and unit cost when known."""

    line_id: str
    expected_return_rate_bp: int
    unit_cost_minor: int | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.expected_return_rate_bp <= BASIS_POINTS:
            raise InvalidContract(f"line {self.line_id}: return rate must be 0..10000 bp")
        if self.unit_cost_minor is not None and self.unit_cost_minor < 0:
            raise InvalidContract(f"line {self.line_id}: unit cost cannot be negative")


@dataclass(frozen=True, slots=True)
class PricingTerms:
    """Everything besides the lines' stated prices that decides the transaction price."""

    discounts: tuple[Discount, ...] = ()
    variable: tuple[VariableConsideration, ...] = ()
    discount_evidence: DiscountEvidence | None = None
    returns: tuple[ReturnRight, ...] = ()

    def __post_init__(self) -> None:
        if max(len(self.discounts), len(self.variable), len(self.returns)) > TERMS_MAX:
            raise InvalidContract(f"at most {TERMS_MAX} discounts, variable amounts or returns")

    def return_right(self, line_id: str) -> ReturnRight | None:
        for right in self.returns:
            if right.line_id == line_id:
                return right
        return None


@dataclass(frozen=True, slots=True)
class TransactionPrice:
    """The amounts making up the transaction price before expected returns are carved out."""

    fixed_minor: int
    discounts_minor: int
    variable_minor: int
    concessions_minor: int

    @property
    def gross_minor(self) -> int:
        """Fixed, less discounts and concessions, plus included variable consideration."""
        return (
            self.fixed_minor - self.discounts_minor - self.concessions_minor + self.variable_minor
        )


def determine_transaction_price(
    *, lines: Sequence[LineFacts], terms: PricingTerms, concessions_minor: int = 0
) -> TransactionPrice:
    """Compute the transaction price of a contract's lines under its pricing terms."""
    price = TransactionPrice(
        fixed_minor=sum(line.amount_minor for line in lines),
        discounts_minor=sum(d.amount_minor for d in terms.discounts),
        variable_minor=sum(included_minor(v) for v in terms.variable),
        concessions_minor=concessions_minor,
    )
    if price.gross_minor < 0:
        raise InvalidContract(f"the transaction price would be negative: {price}")
    return price
