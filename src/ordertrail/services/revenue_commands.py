"""Revenue facts people enter: milestone or manual satisfaction and cost-to-cost progress.

Each names an obligation and carries the caller's `event_id`, the idempotency key of the fact:
sending it again changes nothing (the engine remembers applied event ids per contract).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from ordertrail.domain.revenue import RecordProgress, SatisfyObligation
from ordertrail.services.revenue import Context, apply_to, context_for
from ordertrail.services.revenue_ports import RevenueUnitOfWork, StoredContract

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
