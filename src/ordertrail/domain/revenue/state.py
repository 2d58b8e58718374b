"""Contract and obligation state, and the balances the facts so far call for (the targets).

The engine never computes an entry's amounts directly. For each obligation it computes where
the balances should stand given every fact so far (revenue, refund liability, return asset,
cost of sales, inventory), and posts the difference from where they stand. Replaying facts
therefore converges to the same balances, a late fact only moves them, and the close can run
any number of times.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

from ordertrail.domain.revenue.allocation import AllocationPolicy, share
from ordertrail.domain.revenue.catalog import PROGRESS_METHODS, RATABLE_METHODS
from ordertrail.domain.revenue.contracts import ContractTerms, LineFacts
from ordertrail.domain.revenue.errors import InvalidContract
from ordertrail.domain.revenue.obligations import Obligation
from ordertrail.domain.revenue.pricing import BASIS_POINTS, PricingTerms
from ordertrail.domain.revenue.schedules import Schedule, ratable_schedule

APPLIED_EVENTS_MAX = 1_000_000


@dataclass(frozen=True, slots=True)
class RoleBalances:
    """An obligation's balances by role, each in its natural sign (positive = normal side)."""

    revenue: int = 0
    refund_liability: int = 0
    return_asset: int = 0
    cost_of_sales: int = 0
    inventory: int = 0

    @property
    def satisfied_gross_minor(self) -> int:
        """Consideration for what has transferred: revenue plus what is expected back."""
        return self.revenue + self.refund_liability


@dataclass(frozen=True, slots=True)
class ObligationState:
    """One obligation, its allocated price, the facts that measure it, and its posted balances.

    `units_offset` and `returns_offset` are the line's units transferred and returned before
    this obligation existed (it replaced another in a prospective modification), so the line's
    cumulative counts map onto it. `frozen` holds the balances at which a prospective
    modification terminated the obligation; a terminated obligation then keeps in
    `transferred_units` the units it had transferred and kept, and counts in `returned_units`
    the units of those that came back later (its `returns_offset` is the line's count of
    returned units when it was terminated; `returns_fixed` is how many of its late returns
    came before a later modification of the same line, and can no longer change).
    """

    obligation: Obligation
    allocated_minor: int
    return_rate_bp: int = 0
    unit_cost_minor: int | None = None
    units_offset: int = 0
    returns_offset: int = 0
    transferred_units: int = 0
    returned_units: int = 0
    progress_done: int = 0
    progress_total: int = 0
    ratable_through: int | None = None
    frozen: RoleBalances | None = None
    returns_fixed: int = 0
    posted: RoleBalances = field(default_factory=RoleBalances)
    allocation_basis: str = ""

    @property
    def obligation_id(self) -> str:
        return self.obligation.obligation_id

    @property
    def active(self) -> bool:
        return self.frozen is None

    @property
    def expected_refund_minor(self) -> int:
        return share(total_minor=self.allocated_minor, part=self.return_rate_bp, whole=BASIS_POINTS)

    @property
    def has_remainder(self) -> bool:
        """Whether anything of the obligation is still to transfer or to be recognized."""
        if self.frozen is not None:
            return False
        if self.obligation.timing == "point_in_time":
            return self.transferred_units < self.obligation.quantity
        return self.posted.revenue < self.allocated_minor

    @property
    def returned_minor(self) -> int:
        """The allocated price of units that came back: no longer revenue nor deferred."""
        if self.obligation.timing != "point_in_time":
            return 0
        if self.frozen is not None:
            return share(
                total_minor=self.allocated_minor,
                part=self.returned_units,
                whole=self.transferred_units,
            )
        return share(
            total_minor=self.allocated_minor,
            part=self.returned_units,
            whole=self.obligation.quantity,
        )

    @property
    def unrecognized_minor(self) -> int:
        """What is still to be recognized (deferred) of the allocated price.

        allocated = recognized + refund liability + returned + unrecognized, always.
        """
        if self.frozen is not None:
            return 0
        return self.allocated_minor - self.posted.satisfied_gross_minor - self.returned_minor


def schedule_of(state: ObligationState) -> Schedule | None:
    """Return the ratable schedule of an obligation once its service term is known."""
    ob = state.obligation
    if ob.method not in RATABLE_METHODS or ob.service_start is None or ob.service_end is None:
        return None
    return ratable_schedule(
        allocated_minor=state.allocated_minor,
        start=ob.service_start,
        end=ob.service_end,
        method=ob.method,
    )


def _over_time_revenue(state: ObligationState) -> int:
    method = state.obligation.method
    if method == "units_delivered":
        return share(
            total_minor=state.allocated_minor,
            part=state.transferred_units,
            whole=state.obligation.quantity,
        )
    if method in PROGRESS_METHODS:
        if state.progress_total <= 0:
            return 0
        return share(
            total_minor=state.allocated_minor, part=state.progress_done, whole=state.progress_total
        )
    schedule = schedule_of(state)
    if schedule is None or state.ratable_through is None:
        return 0
    return schedule.cumulative_through(state.ratable_through)


def _point_in_time(state: ObligationState) -> RoleBalances:
    # Units transferred and returned value at the same cumulative share of the allocated price;
    # expected refunds on what transferred are a liability until actual returns use them up,
    # and returns beyond the expectation reverse revenue (ASC 606-10-55-23 to 55-27).
    quantity = state.obligation.quantity
    q, r = state.transferred_units, state.returned_units
    transferred = share(total_minor=state.allocated_minor, part=q, whole=quantity)
    returned = share(total_minor=state.allocated_minor, part=r, whole=quantity)
    expected = share(total_minor=transferred, part=state.return_rate_bp, whole=BASIS_POINTS)
    refund = max(expected - returned, 0)
    revenue = transferred - returned - refund
    if state.unit_cost_minor is None:
        return RoleBalances(revenue=revenue, refund_liability=refund)
    # With a known unit cost, goods out are expensed except the cost of those expected back,
    # which is an asset until they come back (IFRS 15.B21(c), ASC 606-10-55-27).
    cost_out = q * state.unit_cost_minor
    cost_back = r * state.unit_cost_minor
    expected_cost = share(total_minor=cost_out, part=state.return_rate_bp, whole=BASIS_POINTS)
    return_asset = max(expected_cost - cost_back, 0)
    return RoleBalances(
        revenue=revenue,
        refund_liability=refund,
        return_asset=return_asset,
        cost_of_sales=cost_out - cost_back - return_asset,
        inventory=-(cost_out - cost_back),
    )


def _terminated(state: ObligationState, frozen: RoleBalances) -> RoleBalances:
    # Units that come back after termination are valued at the terminated obligation's average
    # and use up its refund liability and return asset first, like any return (55-27).
    if state.returned_units == 0:
        return frozen
    value = share(
        total_minor=frozen.satisfied_gross_minor,
        part=state.returned_units,
        whole=state.transferred_units,
    )
    used = min(value, frozen.refund_liability)
    after = replace(
        frozen,
        revenue=frozen.revenue - (value - used),
        refund_liability=frozen.refund_liability - used,
    )
    if state.unit_cost_minor is None:
        return after
    cost_back = state.returned_units * state.unit_cost_minor
    asset_used = min(cost_back, frozen.return_asset)
    return replace(
        after,
        return_asset=frozen.return_asset - asset_used,
        cost_of_sales=frozen.cost_of_sales - (cost_back - asset_used),
        inventory=frozen.inventory + cost_back,
    )


def root_of(obligation_id: str) -> str:
    """The id of the promise an obligation continues: `1/unit@v3` continues `1/unit`."""
    return obligation_id.split("@", 1)[0]


def targets_of(state: ObligationState) -> RoleBalances:
    """Return where an obligation's balances should stand given every fact so far."""
    if state.frozen is not None:
        return _terminated(state, state.frozen)
    if state.obligation.timing == "over_time":
        return RoleBalances(revenue=_over_time_revenue(state))
    return _point_in_time(state)


@dataclass(frozen=True, slots=True)
class ContractVersion:
    """One version of a contract: what changed, how it was treated and why. All are kept."""

    version: int
    effective_on: date
    cause_event_id: str
    treatment: str
    reason: str
    lines: tuple[LineFacts, ...]
    obligation_ids: tuple[str, ...]
    transaction_price_minor: int
    related_contract_id: str | None = None


@dataclass(frozen=True, slots=True)
class ContractState:
    """A contract with its obligations, versions, billing and contract-level balances.

    Contract assets and liabilities are measured per contract (ASC 606-10-45-1): the position is
    what was billed less the consideration for what has transferred.
    """

    terms: ContractTerms
    pricing: PricingTerms
    policy: AllocationPolicy
    obligations: tuple[ObligationState, ...]
    versions: tuple[ContractVersion, ...]
    concessions_minor: int = 0
    billed_minor: int = 0
    contract_liability_minor: int = 0
    contract_asset_minor: int = 0
    applied_event_ids: frozenset[str] = frozenset()

    @property
    def contract_id(self) -> str:
        return self.terms.contract_id

    @property
    def currency(self) -> str:
        return self.terms.currency

    @property
    def satisfied_gross_minor(self) -> int:
        return sum(ob.posted.satisfied_gross_minor for ob in self.obligations)

    @property
    def position_minor(self) -> int:
        """Billed less consideration for what transferred: > 0 liability, < 0 asset."""
        return self.billed_minor - self.satisfied_gross_minor

    def index_of(self, obligation_id: str) -> int:
        for index, ob in enumerate(self.obligations):
            if ob.obligation_id == obligation_id:
                return index
        raise InvalidContract(f"contract {self.contract_id} has no obligation {obligation_id}")

    def active_for_line(self, line_id: str) -> list[int]:
        return [
            i
            for i, ob in enumerate(self.obligations)
            if ob.active and ob.obligation.line_id == line_id
        ]

    def line(self, line_id: str) -> LineFacts | None:
        for line in self.terms.lines:
            if line.line_id == line_id:
                return line
        return None
