"""Prospective treatment of a modification (ASC 606-10-25-13(a), IFRS 15.21(a)).

Each open obligation is measured to the modification date and frozen there (after any
concession for what transferred); its remainder, if any, becomes a new obligation
(`<id>@v<version>`) that shares, with the added obligations, the consideration not yet
recognized plus what the change adds, on SSP at the modification date.
"""

from __future__ import annotations

from dataclasses import replace

from ordertrail.domain.ledger import JournalEntry, PeriodCalendar
from ordertrail.domain.money import allocate
from ordertrail.domain.revenue.catalog import Catalogs
from ordertrail.domain.revenue.errors import InvalidFact
from ordertrail.domain.revenue.facts import ModifyContract
from ordertrail.domain.revenue.inception import obligation_states
from ordertrail.domain.revenue.modification_change import (
    Change,
    consideration_change,
    pool_allocation,
    returned_by_line,
)
from ordertrail.domain.revenue.posting import settle_all
from ordertrail.domain.revenue.remainders import line_returns, line_units, remainder, sources
from ordertrail.domain.revenue.schedules import ratable_to_date
from ordertrail.domain.revenue.state import (
    ContractState,
    ObligationState,
    RoleBalances,
    root_of,
    schedule_of,
    targets_of,
)


def _to_date(ob: ObligationState, mod: ModifyContract) -> RoleBalances:
    """Measure an obligation up to the modification date."""
    o = ob.obligation
    if schedule_of(ob) is None or o.service_start is None or o.service_end is None:
        return targets_of(ob)
    earned = ratable_to_date(
        allocated_minor=ob.allocated_minor,
        start=o.service_start,
        end=o.service_end,
        method=o.method or "",
        day=mod.occurred_on,
    )
    return RoleBalances(revenue=earned)


def _concede(
    measured: dict[int, RoleBalances], concession_minor: int
) -> tuple[dict[int, RoleBalances], int]:
    """Take a concession for transferred goods out of the revenue it relates to.

    Returns the reduced measures and whatever of the concession found no transferred revenue
    to reduce (it then reduces the consideration still to allocate).
    """
    earned = [i for i, m in measured.items() if m.revenue > 0]
    placeable = min(concession_minor, sum(measured[i].revenue for i in earned))
    if placeable == 0:
        return measured, concession_minor
    parts = allocate(total_minor=placeable, weights=[measured[i].revenue for i in earned])
    reduced = dict(measured)
    for i, part in zip(earned, parts, strict=True):
        reduced[i] = replace(measured[i], revenue=measured[i].revenue - part)
    return reduced, concession_minor - placeable


def _spread(measured: dict[int, RoleBalances], amount_minor: int) -> dict[int, RoleBalances]:
    """Add an amount to the revenue of what transferred, by consideration (equally if none)."""
    indexes = list(measured)
    if not indexes:
        raise InvalidFact(f"a modification adds {amount_minor} with nothing to allocate it to")
    weights = [measured[i].satisfied_gross_minor for i in indexes]
    parts = allocate(
        total_minor=amount_minor, weights=weights if any(weights) else [1] * len(weights)
    )
    return {
        i: replace(measured[i], revenue=measured[i].revenue + part)
        for i, part in zip(indexes, parts, strict=True)
    }


def prospective(
    *,
    state: ContractState,
    mod: ModifyContract,
    change: Change,
    catalogs: Catalogs,
    calendar: PeriodCalendar,
    kind: str,
) -> tuple[ContractState, list[JournalEntry]]:
    """Terminate what transferred and create the remainder with the consideration left."""
    active = [i for i, ob in enumerate(state.obligations) if ob.active]
    measured = {i: _to_date(state.obligations[i], mod) for i in active}
    # Consideration not yet recognized: allocated less what transferred and what came back.
    left = sum(
        state.obligations[i].allocated_minor
        - measured[i].satisfied_gross_minor
        - state.obligations[i].returned_minor
        for i in active
    )
    before = left + consideration_change(state, mod, change, returned=returned_by_line(state))
    # A price cut larger than what is left relates to what has already transferred: the excess
    # is a concession on it, like an explicit one.
    excess = max(-before, 0)
    measured, unplaced = _concede(measured, mod.concession_minor + excess)
    pool = before + excess - unplaced
    version = len(state.versions) + 1
    remainders = [
        r
        for i in sources(state)
        if (
            r := remainder(
                state.obligations[i],
                change=change,
                mod=mod,
                catalogs=catalogs,
                currency=state.currency,
                version=version,
                line_returns=line_returns(state, state.obligations[i]),
            )
        )
        is not None
    ]
    fresh = list(remainders) + [
        ObligationState(obligation=o, allocated_minor=0) for o in change.added
    ]
    if not fresh and pool > 0:
        # Nothing remains to carry a price increase: it is revenue for what has transferred.
        measured, pool = _spread(measured, pool), 0
    entries: list[JournalEntry] = []
    obligations = list(state.obligations)
    roots = {root_of(state.obligations[i].obligation_id) for i in active}
    for i, ob in enumerate(obligations):
        # Late returns earlier terminated obligations took are now fixed: new returns will be
        # counted from this modification on.
        if ob.frozen is not None and root_of(ob.obligation_id) in roots:
            obligations[i] = replace(ob, returns_fixed=ob.returned_units)
    for i in active:
        ob, frozen = obligations[i], measured[i]
        # A terminated obligation keeps the units it transferred and kept, so units that come
        # back later can still be valued against it.
        kept = ob.transferred_units - ob.returned_units
        obligations[i] = replace(
            ob,
            frozen=frozen,
            allocated_minor=frozen.satisfied_gross_minor,
            transferred_units=kept if ob.obligation.timing == "point_in_time" else 0,
            returned_units=0,
            units_offset=line_units(ob),
            returns_offset=line_returns(state, ob),
        )
    state = replace(
        state,
        obligations=tuple(obligations),
        terms=replace(state.terms, lines=tuple(x for x in change.lines if x.quantity > 0)),
        pricing=state.pricing
        if mod.variable is None
        else replace(state.pricing, variable=mod.variable),
        concessions_minor=state.concessions_minor + mod.concession_minor,
    )
    state, frozen_entries = settle_all(
        state,
        kind=kind,
        cause_event_id=mod.event_id,
        occurred_on=mod.occurred_on,
        calendar=calendar,
        indexes=active,
    )
    entries += frozen_entries
    if fresh:
        allocation = pool_allocation(state, [ob.obligation for ob in fresh], pool)
        priced = obligation_states([ob.obligation for ob in fresh], allocation)
        placed = tuple(
            replace(
                ob,
                allocated_minor=p.allocated_minor,
                return_rate_bp=p.return_rate_bp,
                unit_cost_minor=p.unit_cost_minor,
                allocation_basis=p.allocation_basis,
            )
            for ob, p in zip(fresh, priced, strict=True)
        )
        first = len(state.obligations)
        state = replace(state, obligations=state.obligations + placed)
        state, fresh_entries = settle_all(
            state,
            kind=kind,
            cause_event_id=mod.event_id,
            occurred_on=mod.occurred_on,
            calendar=calendar,
            indexes=list(range(first, len(state.obligations))),
        )
        entries += fresh_entries
    elif pool != 0:
        raise InvalidFact(
            f"modification {mod.event_id} leaves {pool} with nothing to allocate it to"
        )
    return state, entries
