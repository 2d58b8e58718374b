"""Revenue facts people enter: milestone or manual satisfaction and cost-to-cost progress.

Each names an obligation and carries the caller's `event_id`, the idempotency key of the fact:
sending it again changes nothing (the engine remembers applied event ids per contract).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime

from ordertrail.domain.ledger import reverse_entry
from ordertrail.domain.revenue import RecordProgress, SatisfyObligation, apply_fact
from ordertrail.domain.revenue.facts import Treatment
from ordertrail.services.revenue import Context, Why, apply_to, context_for, save_contract
from ordertrail.services.revenue_ports import RevenueUnitOfWork, StoredContract
from ordertrail.services.revenue_rows import contract_from_document

UowFactory = Callable[[], RevenueUnitOfWork]


class ObligationNotFound(LookupError):
    """No such obligation for the tenant."""


def _contract_of(ctx: Context, contract_id: str, obligation_id: str) -> StoredContract:
    """Obligation ids are unique within a contract ("1/unit"), so the contract is named too."""
    stored = ctx.uow.revenue.load(tenant_id=ctx.tenant_id, contract_id=contract_id)
    if stored is None or all(ob.obligation_id != obligation_id for ob in stored.state.obligations):
        raise ObligationNotFound(f"{contract_id} {obligation_id}")
    return stored


def record_progress(
    *,
    uow_factory: UowFactory,
    tenant_id: str,
    contract_id: str,
    obligation_id: str,
    event_id: str,
    occurred_on: date,
    done: int,
    total: int,
    now: datetime,
) -> StoredContract:
    """Cost-to-cost: costs incurred to date (`done`) of the total expected (`total`)."""
    with uow_factory() as uow:
        ctx = context_for(uow=uow, tenant_id=tenant_id, body={"event_id": event_id}, now=now)
        stored = _contract_of(ctx, contract_id, obligation_id)
        fact = RecordProgress(
            event_id=event_id,
            occurred_on=occurred_on,
            obligation_id=obligation_id,
            done=done,
            total=total,
        )
        saved = apply_to(ctx, stored, fact)
        uow.commit()
    return saved


def satisfy_obligation(
    *,
    uow_factory: UowFactory,
    tenant_id: str,
    contract_id: str,
    obligation_id: str,
    event_id: str,
    occurred_on: date,
    units: int,
    now: datetime,
) -> StoredContract:
    """A milestone reached or manual satisfaction: `units` satisfied so far."""
    with uow_factory() as uow:
        ctx = context_for(uow=uow, tenant_id=tenant_id, body={"event_id": event_id}, now=now)
        stored = _contract_of(ctx, contract_id, obligation_id)
        fact = SatisfyObligation(
            event_id=event_id, occurred_on=occurred_on, obligation_id=obligation_id, units=units
        )
        saved = apply_to(ctx, stored, fact)
        uow.commit()
    return saved


class TreatmentNotChangeable(ValueError):
    """The version is not the contract's latest modification, or the contract moved since."""


def change_treatment(
    *,
    uow_factory: UowFactory,
    tenant_id: str,
    contract_id: str,
    version: int,
    treatment: Treatment,
    reason: str,
    now: datetime,
) -> StoredContract:
    """Apply a modification again under a requested treatment, recorded as a new version.

    Only the latest version can be re-treated, and only while nothing has moved the contract
    since (checked by applying the modification again to the contract as it stood before and
    comparing). The modification's entries are reversed and the new treatment's posted, each
    under a cause id naming the request, so the journal shows both and ids stay unique. Over
    the API the change is an approval request (`modification.treatment`), applied by
    `apply_treatment_change` once another person approves (services/overrides.py).
    """
    with uow_factory() as uow:
        saved = apply_treatment_change(
            uow=uow,
            tenant_id=tenant_id,
            contract_id=contract_id,
            version=version,
            treatment=treatment,
            reason=reason,
            now=now,
        )
        uow.commit()
    return saved


def apply_treatment_change(
    *,
    uow: RevenueUnitOfWork,
    tenant_id: str,
    contract_id: str,
    version: int,
    treatment: Treatment,
    reason: str,
    now: datetime,
) -> StoredContract:
    """`change_treatment` in the caller's transaction (an approval's executor); no commit."""
    ctx = context_for(uow=uow, tenant_id=tenant_id, body={"event_id": ""}, now=now)
    stored = uow.revenue.load(tenant_id=tenant_id, contract_id=contract_id)
    if stored is None:
        raise ContractNotFound(contract_id)
    records = uow.revenue.versions(tenant_id=tenant_id, contract_id=contract_id)
    record = next((r for r in records if r.version.version == version), None)
    latest = stored.state.versions[-1].version
    if record is None or record.modification is None or record.before is None:
        raise TreatmentNotChangeable(f"version {version} of {contract_id} is no modification")
    if version != latest:
        raise TreatmentNotChangeable(
            f"only the latest version ({latest}) of {contract_id} can be re-treated"
        )
    before = contract_from_document(record.before)
    again = apply_fact(
        state=before.state,
        fact=record.modification,
        calendar=ctx.calendar,
        catalogs=ctx.catalogs,
    )
    if again.state != stored.state:
        raise TreatmentNotChangeable(f"{contract_id} moved since version {version}")
    mod = record.modification
    cause = f"{mod.event_id}#treatment:v{latest + 1}"
    reversals = [
        reverse_entry(
            entry, cause_event_id=cause, occurred_on=mod.occurred_on, calendar=ctx.calendar
        )
        for entry in uow.ledger.entries(tenant_id=tenant_id, contract_id=contract_id)
        if entry.cause_event_id == mod.event_id
    ]
    # Numbered after every version so far: the re-treated one stays in the history.
    base = replace(before.state, versions=stored.state.versions)
    retreated = replace(mod, event_id=cause, requested_treatment=treatment, reason=reason)
    applied = apply_fact(state=base, fact=retreated, calendar=ctx.calendar, catalogs=ctx.catalogs)
    customer = stored.state.terms.customer_id
    uow.ledger.append(
        tenant_id=tenant_id,
        entries=(*reversals, *applied.entries),
        customer_id=customer,
        recorded_at=now,
    )
    _cancel_split(ctx, stored)
    if applied.new_contract is not None:
        new = StoredContract(
            state=applied.new_contract, orders=stored.orders, status="open", row_version=0
        )
        save_contract(ctx, new, applied.new_contract, expected=None)
    return save_contract(
        ctx,
        stored,
        applied.state,
        expected=stored.row_version,
        why=Why(decision=applied.decision, modification=retreated, before=record.before),
    )


class ContractNotFound(LookupError):
    """No such contract for the tenant."""


def _cancel_split(ctx: Context, stored: StoredContract) -> None:
    """A separate contract the re-treated modification had split off is cancelled (it was
    created with no entries of its own; anything it did since would have stopped the request)."""
    related = stored.state.versions[-1].related_contract_id
    if related is None:
        return
    split = ctx.uow.revenue.load(tenant_id=ctx.tenant_id, contract_id=related)
    if split is None:
        return
    if split.state.applied_event_ids or split.state.billed_minor:
        raise TreatmentNotChangeable(f"the separate contract {related} moved since")
    ctx.uow.revenue.save(
        tenant_id=ctx.tenant_id,
        contract=replace(split, status="cancelled"),
        expected_row_version=split.row_version,
        now=ctx.now,
    )
