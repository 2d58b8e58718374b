"""Cumulative catch-up treatment of a modification (ASC 606-10-25-13(b), IFRS 15.21(b)).

Obligations change in place and the whole transaction price is allocated again on the
inception basis (SSPs at inception, ASC 606-10-32-43); the difference in revenue to date posts
at once.
"""

from __future__ import annotations

from dataclasses import replace

from ordertrail.domain.ledger import JournalEntry, PeriodCalendar, add_months
from ordertrail.domain.revenue.catalog import RATABLE_METHODS
from ordertrail.domain.revenue.contracts import LineFacts
from ordertrail.domain.revenue.errors import InvalidFact
from ordertrail.domain.revenue.facts import ModifyContract
from ordertrail.domain.revenue.inception import obligation_states, price_and_allocate
from ordertrail.domain.revenue.modification_change import (
    Change,
    consideration_change,
    pool_allocation,
)
from ordertrail.domain.revenue.posting import settle_all
from ordertrail.domain.revenue.state import ContractState, ObligationState, root_of, targets_of


def _changed_in_place(ob: ObligationState, line: LineFacts, term: int | None) -> ObligationState:
    o = ob.obligation
    moved = ob.units_offset + ob.transferred_units
    if line.quantity < moved:
        raise InvalidFact(
            f"line {line.line_id} cannot drop to {line.quantity}: {moved} transferred"
        )
    if line.quantity == ob.units_offset:
        # Nothing of this obligation remains: it ends at what it has earned.
        current = targets_of(ob)
        return replace(ob, frozen=current, allocated_minor=current.satisfied_gross_minor)
    updated = replace(
        o, quantity=line.quantity - ob.units_offset, unit_price_minor=line.unit_price_minor
    )
    if term is not None and o.method in RATABLE_METHODS:
        end = None if o.service_start is None else add_months(o.service_start, term)
        updated = replace(updated, term_months=term, service_end=end)
    return replace(ob, obligation=updated)


def _refuse_units_without_obligation(state: ContractState, change: Change) -> None:
    """Units added to a line whose goods obligations were all terminated have nothing to
    carry them here: they are distinct goods and call for the prospective treatment."""
    open_roots = {root_of(ob.obligation_id) for ob in state.obligations if ob.active}
    latest: dict[str, ObligationState] = {}
    for ob in state.obligations:
        if ob.obligation.timing == "point_in_time" and root_of(ob.obligation_id) not in open_roots:
            latest[root_of(ob.obligation_id)] = ob
    for root, ob in latest.items():
        line = change.line(ob.obligation.line_id)
        if line is not None and line.quantity > ob.units_offset:
            raise InvalidFact(
                f"{root} was terminated; units added to its line are distinct goods: "
                "treat the modification prospectively"
            )


def catch_up(
    *,
    state: ContractState,
    mod: ModifyContract,
    change: Change,
    calendar: PeriodCalendar,
    kind: str,
) -> tuple[ContractState, list[JournalEntry]]:
    """Change obligations in place, reallocate, and post the change in revenue to date."""
    had_frozen = any(not ob.active for ob in state.obligations)
    active_before = sum(ob.allocated_minor for ob in state.obligations if ob.active)
    obligations = list(state.obligations)
    _refuse_units_without_obligation(state, change)
    for i, ob in enumerate(obligations):
        line_id = ob.obligation.line_id
        touched = line_id in change.changed_line_ids or change.terms_by_line.get(line_id)
        line = change.line(line_id)
        if ob.active and touched and line is not None:
            obligations[i] = _changed_in_place(ob, line, change.terms_by_line.get(line_id))
    for obligation_id, total in mod.progress_totals:
        i = state.index_of(obligation_id)
        if obligations[i].obligation.method != "cost_to_cost" or total <= 0:
            raise InvalidFact(f"{obligation_id}: a new total cost needs a cost-to-cost obligation")
        obligations[i] = replace(obligations[i], progress_total=total)
    pricing = (
        state.pricing if mod.variable is None else replace(state.pricing, variable=mod.variable)
    )
    concessions = state.concessions_minor + mod.concession_minor
    active = [i for i, ob in enumerate(obligations) if ob.active]
    targets = [obligations[i].obligation for i in active] + list(change.added)
    lines = tuple(line for line in change.lines if line.quantity > 0)
    if not targets:
        raise InvalidFact(
            f"modification {mod.event_id} has nothing to allocate to: every obligation of "
            f"contract {state.contract_id} was terminated; use a credit note or a new contract"
        )
    if had_frozen:
        pool = active_before + consideration_change(state, mod, change) - mod.concession_minor
        allocation = pool_allocation(state, targets, pool)
    else:
        allocation = price_and_allocate(
            lines=lines,
            obligations=targets,
            pricing=pricing,
            policy=state.policy,
            concessions_minor=concessions,
        )
    for i in active:
        item = allocation.of(obligations[i].obligation_id)
        obligations[i] = replace(
            obligations[i],
            allocated_minor=item.allocated_minor,
            return_rate_bp=item.return_rate_bp,
            unit_cost_minor=item.unit_cost_minor,
            allocation_basis=item.basis,
        )
    added = obligation_states(change.added, allocation)
    state = replace(
        state,
        obligations=(*obligations, *added),
        terms=replace(state.terms, lines=lines),
        pricing=pricing,
        concessions_minor=concessions,
    )
    indexes = active + list(range(len(obligations), len(obligations) + len(added)))
    return settle_all(
        state,
        kind=kind,
        cause_event_id=mod.event_id,
        occurred_on=mod.occurred_on,
        calendar=calendar,
        indexes=indexes,
    )
