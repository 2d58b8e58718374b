"""The facts the revenue engine applies: imperative commands built from tracking events.

Quantities are cumulative (what the order's line shows after the event), not increments, so a
replayed or late message converges to the same result. A service handler builds them from the
milestone message: `order.lines[*]` carries shipped, delivered, accepted and returned.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from ordertrail.domain.ledger import last_day, period_index
from ordertrail.domain.revenue.pricing import VariableConsideration

CreditNoteKind = Literal["refund", "price_concession"]


@dataclass(frozen=True, slots=True)
class LineQuantities:
    """A line's cumulative fulfilment counts after an event."""

    line_id: str
    shipped: int = 0
    delivered: int = 0
    accepted: int = 0
    returned: int = 0


@dataclass(frozen=True, slots=True)
class RecordFulfilment:
    """Goods moved: shipped, delivered, accepted or returned (cumulative counts per line)."""

    event_id: str
    occurred_on: date
    lines: tuple[LineQuantities, ...]


@dataclass(frozen=True, slots=True)
class SatisfyObligation:
    """A milestone was reached or someone recorded satisfaction by hand: `units` satisfied so
    far of an obligation whose trigger is milestone or manual."""

    event_id: str
    occurred_on: date
    obligation_id: str
    units: int


@dataclass(frozen=True, slots=True)
class RecordProgress:
    """Cost-to-cost input: costs incurred to date and total expected costs, in minor units."""

    event_id: str
    occurred_on: date
    obligation_id: str
    done: int
    total: int


@dataclass(frozen=True, slots=True)
class IssueInvoice:
    """Billing issued an invoice for the contract."""

    event_id: str
    occurred_on: date
    amount_minor: int


@dataclass(frozen=True, slots=True)
class IssueCreditNote:
    """Billing issued a credit note.

    `refund` settles what the customer is owed (after a return): billing only.
    `price_concession` also lowers the transaction price of the named lines' obligations (all
    obligations when no lines are named): the part for what has transferred reverses revenue
    now, the rest lowers what is still to be recognized (ASC 606-10-32-42 to 32-44).
    """

    event_id: str
    occurred_on: date
    amount_minor: int
    kind: CreditNoteKind
    line_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ClosePeriod:
    """Month-end close: take ratable revenue through the period."""

    period: str

    @property
    def event_id(self) -> str:
        return f"close:{self.period}"

    @property
    def occurred_on(self) -> date:
        return last_day(period_index(self.period))


Treatment = Literal["separate_contract", "prospective", "cumulative_catch_up"]


@dataclass(frozen=True, slots=True)
class LineChange:
    """A line as it stands after a modification: new lines have ids the contract lacks.

    `quantity` is the line's new total; `term_months`, when given, is the new total term of the
    line's ratable obligations (an extension or a shortening).
    """

    line_id: str
    sku: str
    quantity: int
    unit_price_minor: int
    term_months: int | None = None


@dataclass(frozen=True, slots=True)
class ModifyContract:
    """An approved change in scope or price (ASC 606-10-25-10, IFRS 15.18).

    `concession_minor` is a price reduction for what has already transferred (for example a
    credit for defects); `variable`, when given, replaces the contract's variable terms (a
    constraint released, a new bonus); `progress_totals` gives new total expected costs of
    cost-to-cost obligations. `requested_treatment` overrides the rule table, and the decision
    records both.
    """

    event_id: str
    occurred_on: date
    lines: tuple[LineChange, ...] = ()
    concession_minor: int = 0
    variable: tuple[VariableConsideration, ...] | None = None
    progress_totals: tuple[tuple[str, int], ...] = ()
    requested_treatment: Treatment | None = None
    reason: str = ""
