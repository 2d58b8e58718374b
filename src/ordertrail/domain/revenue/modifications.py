"""Apply a contract modification: separate contract, prospective, or cumulative catch-up.

- Separate contract (25-12): the added lines become a new contract; the original is untouched
  but gains a version that points to it.
- Prospective (25-13(a)): see `prospective.py`.
- Cumulative catch-up (25-13(b)): see `catch_up.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from ordertrail.domain.ledger import JournalEntry, PeriodCalendar
from ordertrail.domain.revenue.catalog import Catalogs
from ordertrail.domain.revenue.catch_up import catch_up
from ordertrail.domain.revenue.contracts import ContractTerms, LineFacts
from ordertrail.domain.revenue.errors import InvalidFact
from ordertrail.domain.revenue.facts import ModifyContract
from ordertrail.domain.revenue.inception import contract_from_terms
from ordertrail.domain.revenue.modification_change import Change
from ordertrail.domain.revenue.modification_rules import (
    ModificationDecision,
    ModificationFacts,
    decide_treatment,
)
from ordertrail.domain.revenue.obligations import Obligation, identify_obligations
from ordertrail.domain.revenue.pricing import BASIS_POINTS, PricingTerms
from ordertrail.domain.revenue.prospective import prospective
from ordertrail.domain.revenue.state import ContractState, ContractVersion, root_of

KIND = "modification"


@dataclass(frozen=True, slots=True)
class ModificationOutcome:
    state: ContractState
    entries: tuple[JournalEntry, ...]
    decision: ModificationDecision
    new_contract: ContractState | None = None


def _resolve(state: ContractState, mod: ModifyContract, catalogs: Catalogs) -> Change:
    if mod.concession_minor < 0:
        raise InvalidFact(f"modification {mod.event_id}: a concession cannot be negative")
    changes = {c.line_id: c for c in mod.lines}
    if len(changes) != len(mod.lines):
        raise InvalidFact(f"modification {mod.event_id} names a line twice")
    lines, changed = [], set()
    for line in state.terms.lines:
        c = changes.pop(line.line_id, None)
        if c is None:
            lines.append(line)
            continue
        if c.sku != line.sku:
            raise InvalidFact(f"line {line.line_id} is sku {line.sku}, not {c.sku}")
        if (
            c.quantity == line.quantity
            and c.unit_price_minor == line.unit_price_minor
            and c.term_months is None
        ):
            # Named as it stands: a feed that sends the whole amended order restates the lines
            # it did not change, and those must not make an added line look like a change to
            # the existing goods (which would rule out a separate contract, 606-10-25-12).
            lines.append(line)
            continue
        lines.append(LineFacts(c.line_id, c.sku, c.quantity, c.unit_price_minor))
        changed.add(c.line_id)
    added_lines = tuple(
        LineFacts(c.line_id, c.sku, c.quantity, c.unit_price_minor) for c in changes.values()
    )
    added = identify_obligations(
        lines=[line for line in added_lines if line.quantity > 0],
        currency=state.currency,
        shipping_terms=state.terms.shipping_terms,
        priced_on=mod.occurred_on,
        catalogs=catalogs,
    )
    return Change(
        lines=tuple(lines) + added_lines,
        added_lines=added_lines,
        added=added,
        changed_line_ids=frozenset(changed),
        terms_by_line={c.line_id: c.term_months for c in mod.lines if c.term_months is not None},
    )


def _at_ssp(line: LineFacts, obligations: Sequence[Obligation], tolerance_bp: int) -> bool:
    units = [o.ssp_unit_minor for o in obligations]
    if not obligations or any(unit is None for unit in units):
        return False
    ssp = sum(unit or 0 for unit in units)
    if all(o.ssp_low_minor is not None and o.ssp_high_minor is not None for o in obligations):
        low = sum(o.ssp_low_minor or 0 for o in obligations)
        high = sum(o.ssp_high_minor or 0 for o in obligations)
        return low <= line.unit_price_minor <= high
    return abs(line.unit_price_minor - ssp) * BASIS_POINTS <= tolerance_bp * ssp


def _grown(state: ContractState, change: Change) -> list[Obligation]:
    """The latest obligation of each promise on a line whose quantity grew: the added units
    remain to be transferred even if everything before them was."""
    before = {line.line_id: line.quantity for line in state.terms.lines}
    grown = {line.line_id for line in change.lines if line.quantity > before.get(line.line_id, 0)}
    latest: dict[str, Obligation] = {}
    for ob in state.obligations:
        if ob.obligation.line_id in grown:
            latest[root_of(ob.obligation_id)] = ob.obligation
    return list(latest.values())


def _rule_facts(state: ContractState, mod: ModifyContract, change: Change) -> ModificationFacts:
    remaining = [ob.obligation for ob in state.obligations if ob.active and ob.has_remainder]
    remaining += list(change.added) + _grown(state, change)
    return ModificationFacts(
        adds_only=bool(change.added_lines)
        and not change.changed_line_ids
        and mod.concession_minor == 0
        and mod.variable is None
        and not mod.progress_totals,
        added_distinct=all(not o.integrated for o in change.added),
        priced_at_ssp=all(
            _at_ssp(
                line,
                [o for o in change.added if o.line_id == line.line_id],
                state.policy.ssp_tolerance_bp,
            )
            for line in change.added_lines
        ),
        remaining_distinct=bool(remaining) and all(not o.integrated for o in remaining),
    )


def versioned(
    state: ContractState,
    mod: ModifyContract,
    decision: ModificationDecision,
    related_contract_id: str | None = None,
) -> ContractState:
    """Append the version a modification makes; earlier versions are kept as they were."""
    version = ContractVersion(
        version=len(state.versions) + 1,
        effective_on=mod.occurred_on,
        cause_event_id=mod.event_id,
        treatment=decision.treatment,
        reason=decision.summary,
        lines=state.terms.lines,
        obligation_ids=tuple(ob.obligation_id for ob in state.obligations if ob.active),
        transaction_price_minor=sum(
            ob.allocated_minor - ob.expected_refund_minor for ob in state.obligations
        ),
        related_contract_id=related_contract_id,
    )
    return replace(state, versions=(*state.versions, version))


@dataclass(frozen=True, slots=True)
class Job:
    """One modification being applied: everything a treatment needs."""

    state: ContractState
    mod: ModifyContract
    change: Change
    decision: ModificationDecision
    catalogs: Catalogs
    calendar: PeriodCalendar


def _separate(job: Job) -> ModificationOutcome:
    state, mod = job.state, job.mod
    terms = ContractTerms(
        contract_id=f"{state.contract_id}+{mod.event_id}",
        customer_id=state.terms.customer_id,
        currency=state.currency,
        shipping_terms=state.terms.shipping_terms,
        inception_on=mod.occurred_on,
        order_ids=state.terms.order_ids,
        lines=job.change.added_lines,
    )
    new_contract = contract_from_terms(
        terms=terms,
        obligations=job.change.added,
        pricing=PricingTerms(returns=state.pricing.returns),
        policy=state.policy,
        cause_event_id=mod.event_id,
        reason=job.decision.summary,
        related_contract_id=state.contract_id,
    )
    return ModificationOutcome(
        state=versioned(state, mod, job.decision, related_contract_id=new_contract.contract_id),
        entries=(),
        decision=job.decision,
        new_contract=new_contract,
    )


def _prospective(job: Job) -> ModificationOutcome:
    state, entries = prospective(
        state=job.state,
        mod=job.mod,
        change=job.change,
        catalogs=job.catalogs,
        calendar=job.calendar,
        kind=KIND,
    )
    return ModificationOutcome(
        state=versioned(state, job.mod, job.decision),
        entries=tuple(entries),
        decision=job.decision,
    )


def _catch_up(job: Job) -> ModificationOutcome:
    state, entries = catch_up(
        state=job.state, mod=job.mod, change=job.change, calendar=job.calendar, kind=KIND
    )
    return ModificationOutcome(
        state=versioned(state, job.mod, job.decision),
        entries=tuple(entries),
        decision=job.decision,
    )


TREATMENTS: dict[str, Callable[[Job], ModificationOutcome]] = {
    "separate_contract": _separate,
    "prospective": _prospective,
    "cumulative_catch_up": _catch_up,
}


def apply_modification(
    *,
    state: ContractState,
    modification: ModifyContract,
    catalogs: Catalogs,
    calendar: PeriodCalendar,
) -> ModificationOutcome:
    """Decide how a modification is treated (rules or request) and apply that treatment."""
    change = _resolve(state, modification, catalogs)
    decision = decide_treatment(
        facts=_rule_facts(state, modification, change),
        requested=modification.requested_treatment,
        requested_reason=modification.reason,
    )
    if decision.treatment == "separate_contract" and not change.added:
        raise InvalidFact(f"modification {modification.event_id} adds nothing to split off")
    job = Job(
        state=state,
        mod=modification,
        change=change,
        decision=decision,
        catalogs=catalogs,
        calendar=calendar,
    )
    return TREATMENTS[decision.treatment](job)
