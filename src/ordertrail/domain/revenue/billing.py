"""Billing: invoices and credit notes against the contract position.

An invoice is a receivable against the position (contract asset first, then contract
liability). A credit note is a refund (billing only) or a price concession, which also lowers
the named lines' allocated prices: revenue for what has transferred reverses now, the rest lowers
what is deferred (ASC 606-10-32-42 to 32-44).
"""

from __future__ import annotations

from dataclasses import replace

from ordertrail.domain.ledger import JournalEntry, PeriodCalendar
from ordertrail.domain.money import allocate
from ordertrail.domain.revenue.errors import CreditExceedsBilled, InvalidFact
from ordertrail.domain.revenue.facts import IssueCreditNote, IssueInvoice
from ordertrail.domain.revenue.posting import bill, settle_all
from ordertrail.domain.revenue.state import ContractState


def issue_invoice(
    state: ContractState, fact: IssueInvoice, *, calendar: PeriodCalendar
) -> tuple[ContractState, list[JournalEntry]]:
    """Post an invoice: Dr receivables, Cr contract asset then contract liability."""
    if fact.amount_minor <= 0:
        raise InvalidFact(f"invoice {fact.event_id}: amount must be positive")
    state, entry = bill(
        state,
        fact.amount_minor,
        kind="invoice",
        cause_event_id=fact.event_id,
        occurred_on=fact.occurred_on,
        calendar=calendar,
    )
    return state, [] if entry is None else [entry]


def _members(state: ContractState, fact: IssueCreditNote) -> list[int]:
    named = [
        i
        for i, ob in enumerate(state.obligations)
        if not fact.line_ids or ob.obligation.line_id in fact.line_ids
    ]
    # Open obligations carry a concession; when a modification terminated them all, the
    # terminated ones do (their revenue is what the concession reduces).
    open_ones = [i for i in named if state.obligations[i].active]
    return open_ones or named


def _concede(state: ContractState, fact: IssueCreditNote) -> tuple[ContractState, list[int]]:
    members = _members(state, fact)
    if not members:
        raise InvalidFact(f"credit note {fact.event_id} names no obligation of the contract")
    weights = [state.obligations[i].allocated_minor for i in members]
    if fact.amount_minor > sum(weights):
        raise InvalidFact(
            f"credit note {fact.event_id} of {fact.amount_minor} exceeds the "
            f"{sum(weights)} allocated to the obligations it concerns"
        )
    parts = allocate(
        total_minor=fact.amount_minor, weights=weights if any(weights) else [1] * len(weights)
    )
    obligations = list(state.obligations)
    for index, part in zip(members, parts, strict=True):
        ob = obligations[index]
        frozen = ob.frozen
        if frozen is not None:
            if part > frozen.revenue:
                raise InvalidFact(f"credit note {fact.event_id} exceeds {ob.obligation_id}")
            frozen = replace(frozen, revenue=frozen.revenue - part)
        obligations[index] = replace(ob, allocated_minor=ob.allocated_minor - part, frozen=frozen)
    conceded = replace(
        state,
        obligations=tuple(obligations),
        concessions_minor=state.concessions_minor + fact.amount_minor,
    )
    return conceded, members


def issue_credit_note(
    state: ContractState, fact: IssueCreditNote, *, calendar: PeriodCalendar
) -> tuple[ContractState, list[JournalEntry]]:
    """Post a credit note; a price concession first lowers the obligations' prices."""
    if fact.amount_minor <= 0:
        raise InvalidFact(f"credit note {fact.event_id}: amount must be positive")
    if fact.amount_minor > state.billed_minor:
        raise CreditExceedsBilled(
            f"credit note {fact.event_id} of {fact.amount_minor} exceeds the "
            f"{state.billed_minor} billed on contract {state.contract_id}"
        )
    entries: list[JournalEntry] = []
    if fact.kind == "price_concession":
        state, members = _concede(state, fact)
        state, entries = settle_all(
            state,
            kind="price_concession",
            cause_event_id=fact.event_id,
            occurred_on=fact.occurred_on,
            calendar=calendar,
            indexes=members,
        )
    state, entry = bill(
        state,
        -fact.amount_minor,
        kind="credit_note",
        cause_event_id=fact.event_id,
        occurred_on=fact.occurred_on,
        calendar=calendar,
    )
    return state, entries if entry is None else [*entries, entry]
