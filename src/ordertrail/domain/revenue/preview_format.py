"""The preview's input format: JSON an accountant can write by hand, parsed by pydantic.

Amounts are decimal strings in the contract currency ("1200.00"), rates and probabilities are
decimal fractions ("0.03" is 3 %), dates are ISO dates. See docs/revenue/preview.md.
Pydantic is used here only to parse one request; no per-obligation model is built in a close.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from ordertrail.domain.money import minor_units_from_decimal
from ordertrail.domain.revenue.errors import InvalidContract

AMOUNT_PATTERN = r"^-?\d{1,13}(\.\d{1,6})?$"
FRACTION_PATTERN = r"^(0(\.\d{1,4})?|1(\.0{1,4})?)$"
LINES_MAX = 500
FACTS_MAX = 5_000

Amount = Annotated[StrictStr, Field(pattern=AMOUNT_PATTERN)]
Fraction = Annotated[StrictStr, Field(pattern=FRACTION_PATTERN)]
Name = Annotated[StrictStr, Field(min_length=1, max_length=128)]
Units = Annotated[StrictInt, Field(ge=0, le=10_000_000)]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def minor(amount: str, currency: str) -> int:
    """Convert a decimal amount string to minor units of the currency, refusing rounding."""
    return minor_units_from_decimal(amount=amount, currency=currency)


def basis_points(fraction: str) -> int:
    """Convert a decimal fraction ("0.03") to basis points (300), exactly."""
    try:
        scaled = Decimal(fraction) * 10_000
    except InvalidOperation:
        raise InvalidContract(f"{fraction!r} is not a decimal fraction") from None
    if scaled != scaled.to_integral_value():
        raise InvalidContract(f"{fraction} has more than four decimal places")
    return int(scaled)


class ObligationSpec(Model):
    """One promise of a line, written inline instead of looked up in the catalogs."""

    component: Name
    nature: Literal[
        "goods", "service", "licence", "subscription", "installation", "warranty_service"
    ]
    timing: Literal["point_in_time", "over_time"]
    trigger: (
        Literal["control_transfer", "shipment", "delivery", "acceptance", "milestone", "manual"]
        | None
    ) = None
    method: (
        Literal[
            "ratable_daily",
            "ratable_monthly_equal",
            "ratable_monthly_prorata",
            "cost_to_cost",
            "units_delivered",
        ]
        | None
    ) = None
    term_months: Annotated[StrictInt, Field(ge=1, le=600)] | None = None
    service_starts: Literal["inception", "delivery"] = "inception"
    returnable: StrictBool = False
    integrated: StrictBool = False
    revenue_account: Name | None = None
    ssp: Amount | None = Field(default=None, description="Standalone selling price of one unit.")
    ssp_basis: Literal["observed", "estimated"] = "observed"
    ssp_low: Amount | None = None
    ssp_high: Amount | None = None
    residual_allowed: StrictBool = False


class LineSpec(Model):
    line_id: Name
    sku: Name
    quantity: Units
    unit_price: Amount
    obligations: Annotated[list[ObligationSpec], Field(min_length=1, max_length=20)] | None = None
    term_months: Annotated[StrictInt, Field(ge=1, le=600)] | None = Field(
        default=None, description="In a modification: the new term of the line's services."
    )


class DiscountSpec(Model):
    discount_id: Name
    amount: Amount


class OutcomeSpec(Model):
    amount: Amount
    probability: Fraction


class VariableSpec(Model):
    variable_id: Name
    method: Literal["expected_value", "most_likely_amount"]
    outcomes: Annotated[list[OutcomeSpec], Field(min_length=1, max_length=100)]
    constrained: StrictBool = False
    highly_probable: Amount = "0"
    obligation_ids: Annotated[list[Name], Field(max_length=100)] = []


class EvidenceSpec(Model):
    obligation_ids: Annotated[list[Name], Field(min_length=1, max_length=100)]
    bundle_price: Amount


class ReturnSpec(Model):
    line_id: Name
    expected_return_rate: Fraction
    unit_cost: Amount | None = None


class PolicySpec(Model):
    clamp_to_ssp_range: StrictBool = False
    ssp_tolerance: Fraction = "0"


class LineFact(Model):
    type: Literal["shipped", "delivered", "accepted", "returned"]
    on: date
    line_id: Name
    quantity: Annotated[StrictInt, Field(ge=1, le=10_000_000)]


class SatisfiedFact(Model):
    type: Literal["satisfied"]
    on: date
    obligation_id: Name
    units: Annotated[StrictInt, Field(ge=1, le=10_000_000)] | None = None


class CostsFact(Model):
    type: Literal["costs"]
    on: date
    obligation_id: Name
    incurred_to_date: Amount
    total_expected: Amount


class InvoiceFact(Model):
    type: Literal["invoice"]
    on: date
    amount: Amount


class CreditNoteFact(Model):
    type: Literal["credit_note"]
    on: date
    amount: Amount
    kind: Literal["refund", "price_concession"]
    line_ids: Annotated[list[Name], Field(max_length=LINES_MAX)] = []


class ModificationFact(Model):
    type: Literal["modification"]
    on: date
    lines: Annotated[list[LineSpec], Field(max_length=LINES_MAX)] = []
    concession: Amount = "0"
    variable_consideration: Annotated[list[VariableSpec], Field(max_length=100)] | None = None
    total_expected_costs: dict[Name, Amount] = {}
    treatment: Literal["separate_contract", "prospective", "cumulative_catch_up"] | None = None
    reason: Annotated[StrictStr, Field(max_length=500)] = ""


FactSpec = Annotated[
    LineFact | SatisfiedFact | CostsFact | InvoiceFact | CreditNoteFact | ModificationFact,
    Field(discriminator="type"),
]


class PreviewRequest(Model):
    """A contract description to preview: nothing is stored."""

    contract_id: Name = "preview"
    customer_id: Name = "preview"
    currency: Annotated[StrictStr, Field(pattern=r"^[A-Z]{3}$")]
    inception: date
    shipping_terms: Literal["fob_shipping_point", "fob_destination", "dap"] = "fob_destination"
    lines: Annotated[list[LineSpec], Field(min_length=1, max_length=LINES_MAX)]
    discounts: Annotated[list[DiscountSpec], Field(max_length=100)] = []
    variable_consideration: Annotated[list[VariableSpec], Field(max_length=100)] = []
    discount_evidence: EvidenceSpec | None = None
    returns: Annotated[list[ReturnSpec], Field(max_length=LINES_MAX)] = []
    policy: PolicySpec = PolicySpec()
    facts: Annotated[list[FactSpec], Field(max_length=FACTS_MAX)] = []
    through: Annotated[StrictStr, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")] | None = Field(
        default=None, description="Last period of the schedule; default: the last period used."
    )
