"""Apply one fact to a contract: new state plus the journal entries it causes.

One function per fact type, looked up in a table; each updates the measures the fact carries
and lets `posting.settle` post the difference to the targets. Applying a fact whose event id
was already applied changes nothing and posts nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from ordertrail.domain.ledger import JournalEntry, PeriodCalendar, add_months, period_index
from ordertrail.domain.revenue.billing import issue_credit_note, issue_invoice
from ordertrail.domain.revenue.catalog import Catalogs
from ordertrail.domain.revenue.errors import InvalidFact
from ordertrail.domain.revenue.facts import (
    ClosePeriod,
    IssueCreditNote,
    IssueInvoice,
    LineQuantities,
    ModifyContract,
    RecordFulfilment,
    RecordProgress,
    SatisfyObligation,
)
from ordertrail.domain.revenue.modification_rules import ModificationDecision
from ordertrail.domain.revenue.modifications import apply_modification
from ordertrail.domain.revenue.posting import settle_all
from ordertrail.domain.revenue.state import (
    APPLIED_EVENTS_MAX,
    ContractState,
    ObligationState,
    root_of,
    schedule_of,
)

Fact = (
    RecordFulfilment
    | SatisfyObligation
    | RecordProgress
    | IssueInvoice
    | IssueCreditNote
    | ModifyContract
    | ClosePeriod
)

# Which cumulative count transfers control for each trigger, and how many of the line's
# returned units came out of that count. Under acceptance, returned units are taken from the
# delivered-but-unaccepted pool first, since those were never recognized.
TRANSFER_COUNT: dict[str, Callable[[LineQuantities], int]] = {
    "shipment": lambda q: q.shipped,
    "delivery": lambda q: q.delivered,
    "acceptance": lambda q: q.accepted,
}
RETURNED_OF_TRANSFERRED: dict[str, Callable[[LineQuantities], int]] = {
    "shipment": lambda q: q.returned,
    "delivery": lambda q: q.returned,
    "acceptance": lambda q: max(q.returned - (q.delivered - q.accepted), 0),
}


@dataclass(frozen=True, slots=True)
class Applied:
    """What applying a fact did: the new state, its entries, and for a modification the
    decision and any separate contract it created."""

    state: ContractState
    entries: tuple[JournalEntry, ...] = ()
    decision: ModificationDecision | None = None
    new_contract: ContractState | None = None


@dataclass(frozen=True, slots=True)
class Context:
    calendar: PeriodCalendar
    catalogs: Catalogs | None


def _counts(ob: ObligationState, quantities: LineQuantities) -> tuple[ObligationState, int]:
    """Map a line's cumulative counts onto an open obligation; also return the returned units
    it could not take (units it never transferred itself)."""
    trigger = ob.obligation.trigger or ""
    if trigger not in TRANSFER_COUNT:
        return ob, 0
    # Counts below the offset belong to the obligation this one replaced in a modification.
    transferred = max(TRANSFER_COUNT[trigger](quantities) - ob.units_offset, 0)
    returned = max(RETURNED_OF_TRANSFERRED[trigger](quantities) - ob.returns_offset, 0)
    if transferred > ob.obligation.quantity:
        raise InvalidFact(
            f"{ob.obligation_id}: {transferred} units transferred of {ob.obligation.quantity}"
        )
    taken = min(returned, transferred)
    return replace(ob, transferred_units=transferred, returned_units=taken), returned - taken


def _terminated_returns(
    state: ContractState, quantities: LineQuantities, overflow: dict[str, int]
) -> list[tuple[int, int]]:
    """Returns beyond what the open obligations transferred go to the terminated obligations
    of the same promise, newest first (units delivered before a prospective modification),
    each up to the units it kept."""
    chains: dict[str, list[int]] = {}
    for index, ob in enumerate(state.obligations):
        trigger = ob.obligation.trigger or ""
        if (
            not ob.active
            and ob.obligation.line_id == quantities.line_id
            and ob.obligation.timing == "point_in_time"
            and trigger in TRANSFER_COUNT
        ):
            chains.setdefault(root_of(ob.obligation_id), []).append(index)
    moved = []
    for root, indexes in chains.items():
        newest = state.obligations[indexes[-1]]
        trigger = newest.obligation.trigger or ""
        late = overflow.pop(root, None)
        if late is None:
            late = max(RETURNED_OF_TRANSFERRED[trigger](quantities) - newest.returns_offset, 0)
        for index in reversed(indexes):
            ob = state.obligations[index]
            taken = min(late, ob.transferred_units - ob.returns_fixed)
            late -= taken
            if ob.returns_fixed + taken != ob.returned_units:
                moved.append((index, ob.returns_fixed + taken))
        if late:
            raise InvalidFact(f"{root}: {late} more units returned than were transferred")
    for root, late in overflow.items():
        if late:
            raise InvalidFact(f"{root}: {late} more units returned than were transferred")
    return moved


def _service_start(
    ob: ObligationState, quantities: LineQuantities, fact: RecordFulfilment
) -> ObligationState:
    o = ob.obligation
    if o.service_starts != "delivery" or o.service_start is not None or quantities.delivered <= 0:
        return ob
    end = None if o.term_months is None else add_months(fact.occurred_on, o.term_months)
    return replace(ob, obligation=replace(o, service_start=fact.occurred_on, service_end=end))


def _fulfil(state: ContractState, fact: RecordFulfilment, ctx: Context) -> Applied:
    obligations = list(state.obligations)
    touched: list[int] = []
    for quantities in fact.lines:
        if state.line(quantities.line_id) is None:
            raise InvalidFact(f"contract {state.contract_id} has no line {quantities.line_id}")
        overflow: dict[str, int] = {}
        for index in state.active_for_line(quantities.line_id):
            counted, extra = _counts(
                _service_start(obligations[index], quantities, fact), quantities
            )
            obligations[index] = counted
            overflow[root_of(counted.obligation_id)] = extra
            touched.append(index)
        for index, late in _terminated_returns(state, quantities, overflow):
            obligations[index] = replace(obligations[index], returned_units=late)
            touched.append(index)
    returning = any(
        obligations[i].returned_units != state.obligations[i].returned_units for i in touched
    )
    state, entries = settle_all(
        replace(state, obligations=tuple(obligations)),
        kind="return" if returning else "recognition",
        cause_event_id=fact.event_id,
        occurred_on=fact.occurred_on,
        calendar=ctx.calendar,
        indexes=touched,
    )
    return Applied(state=state, entries=tuple(entries))


def _satisfy(state: ContractState, fact: SatisfyObligation, ctx: Context) -> Applied:
    index = state.index_of(fact.obligation_id)
    ob = state.obligations[index]
    if ob.obligation.trigger not in ("milestone", "manual"):
        raise InvalidFact(f"{fact.obligation_id} is satisfied by {ob.obligation.trigger} facts")
    if not 0 <= fact.units <= ob.obligation.quantity:
        raise InvalidFact(f"{fact.obligation_id}: {fact.units} of {ob.obligation.quantity} units")
    updated = replace(ob, transferred_units=fact.units)
    return _settle_one(state, updated, fact, ctx, kind="recognition")


def _progress(state: ContractState, fact: RecordProgress, ctx: Context) -> Applied:
    index = state.index_of(fact.obligation_id)
    ob = state.obligations[index]
    if ob.obligation.method != "cost_to_cost":
        raise InvalidFact(f"{fact.obligation_id} is not measured cost-to-cost")
    if fact.total <= 0 or fact.done < 0:
        raise InvalidFact(f"{fact.obligation_id}: progress needs done >= 0 and total > 0")
    updated = replace(ob, progress_done=fact.done, progress_total=fact.total)
    return _settle_one(state, updated, fact, ctx, kind="progress")


def _settle_one(
    state: ContractState, updated: ObligationState, fact: Any, ctx: Context, *, kind: str
) -> Applied:
    index = state.index_of(updated.obligation_id)
    obligations = list(state.obligations)
    obligations[index] = updated
    state, entries = settle_all(
        replace(state, obligations=tuple(obligations)),
        kind=kind,
        cause_event_id=fact.event_id,
        occurred_on=fact.occurred_on,
        calendar=ctx.calendar,
        indexes=[index],
    )
    return Applied(state=state, entries=tuple(entries))


def _invoice(state: ContractState, fact: IssueInvoice, ctx: Context) -> Applied:
    state, entries = issue_invoice(state, fact, calendar=ctx.calendar)
    return Applied(state=state, entries=tuple(entries))


def _credit(state: ContractState, fact: IssueCreditNote, ctx: Context) -> Applied:
    state, entries = issue_credit_note(state, fact, calendar=ctx.calendar)
    return Applied(state=state, entries=tuple(entries))


def _close(state: ContractState, fact: ClosePeriod, ctx: Context) -> Applied:
    period = period_index(fact.period)
    ctx.calendar.require_open(period)
    obligations = list(state.obligations)
    touched = []
    for index, ob in enumerate(obligations):
        if ob.active and schedule_of(ob) is not None:
            through = period if ob.ratable_through is None else max(ob.ratable_through, period)
            obligations[index] = replace(ob, ratable_through=through)
            touched.append(index)
    state, entries = settle_all(
        replace(state, obligations=tuple(obligations)),
        kind="close",
        cause_event_id=fact.event_id,
        occurred_on=fact.occurred_on,
        calendar=ctx.calendar,
        indexes=touched,
    )
    return Applied(state=state, entries=tuple(entries))


def _modify(state: ContractState, fact: ModifyContract, ctx: Context) -> Applied:
    if ctx.catalogs is None:
        raise InvalidFact("a contract modification needs the catalogs to price new lines")
    outcome = apply_modification(
        state=state, modification=fact, catalogs=ctx.catalogs, calendar=ctx.calendar
    )
    return Applied(
        state=outcome.state,
        entries=outcome.entries,
        decision=outcome.decision,
        new_contract=outcome.new_contract,
    )


# Facts that may be applied again: the close is target-based, so a repeat posts only what late
# facts made newly due (and nothing when nothing changed).
REPEATABLE: frozenset[type] = frozenset({ClosePeriod})

HANDLERS: dict[type, Callable[[ContractState, Any, Context], Applied]] = {
    RecordFulfilment: _fulfil,
    SatisfyObligation: _satisfy,
    RecordProgress: _progress,
    IssueInvoice: _invoice,
    IssueCreditNote: _credit,
    ClosePeriod: _close,
    ModifyContract: _modify,
}


def apply_fact(
    *,
    state: ContractState,
    fact: Fact,
    calendar: PeriodCalendar,
    catalogs: Catalogs | None = None,
) -> Applied:
    """Apply one fact to a contract; return the new state and the entries it caused."""
    if type(fact) not in REPEATABLE and fact.event_id in state.applied_event_ids:
        return Applied(state=state)
    if len(state.applied_event_ids) >= APPLIED_EVENTS_MAX:
        raise InvalidFact(f"contract {state.contract_id} has applied {APPLIED_EVENTS_MAX} facts")
    applied = HANDLERS[type(fact)](state, fact, Context(calendar=calendar, catalogs=catalogs))
    remembered = replace(
        applied.state, applied_event_ids=applied.state.applied_event_ids | {fact.event_id}
    )
    return replace(applied, state=remembered)
