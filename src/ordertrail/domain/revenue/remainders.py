"""What is left of an obligation after a prospective modification, as a new obligation.

A remainder continues the same promise (`<id>@v<version>`): for goods, the units of the line
not yet transferred; for a service, what is left of its term. It is priced on the SSP at the
modification date, because IFRS 15.21(a) treats it as part of a new contract. The line's
cumulative counts map onto it through offsets (units and returns before it existed).
"""

from __future__ import annotations

from dataclasses import replace

from ordertrail.domain.ledger import add_months
from ordertrail.domain.revenue.catalog import RATABLE_METHODS, Catalogs
from ordertrail.domain.revenue.contracts import LineFacts
from ordertrail.domain.revenue.errors import InvalidFact
from ordertrail.domain.revenue.facts import ModifyContract
from ordertrail.domain.revenue.modification_change import Change
from ordertrail.domain.revenue.obligations import Obligation
from ordertrail.domain.revenue.state import ContractState, ObligationState, root_of


def line_returns(state: ContractState, ob: ObligationState) -> int:
    """The line's count of returned units (for this promise's trigger) at the modification:
    the count when the current window opened, plus the returns taken since, open or late."""
    late = sum(
        o.returned_units - o.returns_fixed
        for o in state.obligations
        if o.frozen is not None and root_of(o.obligation_id) == root_of(ob.obligation_id)
    )
    return ob.returns_offset + (ob.returned_units if ob.active else 0) + late


def line_units(ob: ObligationState) -> int:
    """The line's count of transferred units for this promise: a terminated obligation keeps
    the count it was terminated at in `units_offset`."""
    return ob.units_offset if ob.frozen is not None else ob.units_offset + ob.transferred_units


def sources(state: ContractState) -> list[int]:
    """The obligations a remainder continues: every open one, and for goods whose open
    obligations all ended, the latest terminated one (units added to a line fully delivered)."""
    open_roots = {root_of(ob.obligation_id) for ob in state.obligations if ob.active}
    latest: dict[str, int] = {}
    for i, ob in enumerate(state.obligations):
        root = root_of(ob.obligation_id)
        ended = ob.frozen is not None and root not in open_roots
        if ended and ob.obligation.timing == "point_in_time":
            latest[root] = i
    return sorted(
        [i for i, ob in enumerate(state.obligations) if ob.active] + list(latest.values())
    )


def _repriced(o: Obligation, mod: ModifyContract, catalogs: Catalogs, currency: str) -> Obligation:
    # The remainder is part of a new contract (IFRS 15.21(a)): it is priced on the SSP at the
    # modification date, like the goods the change adds.
    row = catalogs.ssps.ssp_for(
        sku=o.sku, component=o.component, currency=currency, on=mod.occurred_on
    )
    return replace(
        o,
        ssp_unit_minor=row.unit_ssp_minor,
        ssp_low_minor=row.low_minor,
        ssp_high_minor=row.high_minor,
        residual_allowed=row.residual_allowed,
    )


def _ratable_remainder(
    ob: ObligationState, o: Obligation, line: LineFacts, mod: ModifyContract, term: int
) -> ObligationState | None:
    if o.service_start is None:
        pending = replace(o, quantity=line.quantity, term_months=term)
        return ObligationState(obligation=pending, allocated_minor=0)
    end = add_months(o.service_start, term)
    start = max(mod.occurred_on, o.service_start)
    if end <= start:
        return None
    # Weighted by the SSP of what is left of the term: SSP rows price one template term.
    one_term = (
        add_months(o.service_start, ob.obligation.term_months or term) - o.service_start
    ).days
    weight = (o.ssp_unit_minor or 0) * line.quantity * (end - start).days // max(one_term, 1)
    remainder = replace(
        o,
        quantity=line.quantity,
        term_months=term,
        service_start=start,
        service_end=end,
        ssp_total_override_minor=weight,
    )
    return ObligationState(
        obligation=remainder, allocated_minor=0, ratable_through=ob.ratable_through
    )


def remainder(
    ob: ObligationState,
    *,
    change: Change,
    mod: ModifyContract,
    catalogs: Catalogs,
    currency: str,
    version: int,
    line_returns: int,
) -> ObligationState | None:
    """The part of an obligation left after the modification date, as a fresh obligation."""
    line = change.line(ob.obligation.line_id)
    if line is None or line.quantity == 0:
        return None
    o = replace(
        _repriced(ob.obligation, mod, catalogs, currency),
        obligation_id=f"{root_of(ob.obligation_id)}@v{version}",
        unit_price_minor=line.unit_price_minor,
    )
    if o.method in RATABLE_METHODS:
        term = change.terms_by_line.get(o.line_id) or o.term_months or 0
        return _ratable_remainder(ob, o, line, mod, term)
    if o.method == "cost_to_cost":
        if not ob.has_remainder:
            return None
        raise InvalidFact(
            f"{o.obligation_id} is measured cost-to-cost as one output; a prospective "
            "treatment would split it, so treat the modification as a cumulative catch-up"
        )
    moved = line_units(ob)
    if line.quantity - moved <= 0:
        return None
    return ObligationState(
        obligation=replace(o, quantity=line.quantity - moved),
        allocated_minor=0,
        units_offset=moved,
        returns_offset=line_returns,
    )
