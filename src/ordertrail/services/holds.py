"""Holds: place, release and list them; placing or releasing re-runs the recognition gate.

Nothing under an open hold is recognized: the gate hands the engine a held line's last released
counts. Releasing re-applies the order's known facts under `release:<hold id>`, so exactly what
was held back is recognized then. A hold whose reason needs dual approval is released only by
the executor of an approved `hold.release` request (services/approvals.py).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from ordertrail.domain.controls.holds import (
    AGING_BUCKETS,
    Hold,
    HoldAlreadyReleased,
    HoldNeedsApproval,
    HoldNotFound,
    InvalidHold,
    aging_bucket,
    check_new_hold,
)
from ordertrail.services.audit_ports import AuditRecord
from ordertrail.services.controls_ports import HOLDS_PAGE_MAX, ControlsUnitOfWork
from ordertrail.services.recognition_rerun import rerun_order

__all__ = [
    "HoldAging",
    "hold_aging",
    "open_holds",
    "place_hold",
    "release_hold",
    "release_hold_executor",
]


def _hold_id(
    *,
    tenant_id: str,
    order_id: str,
    line_id: str | None,
    obligation_id: str | None,
    source: str,
    source_ref: str | None,
) -> str:
    """A hold from a source reference (a dispute) has a derived id, so placing it twice is one
    hold; a manual hold gets a random id."""
    if source_ref is None:
        return f"hold-{secrets.token_hex(8)}"
    key = "\x1f".join((tenant_id, order_id, line_id or "", obligation_id or "", source, source_ref))
    return f"hold-{hashlib.sha256(key.encode()).hexdigest()[:16]}"


def _contract_of(uow: ControlsUnitOfWork, *, tenant_id: str, order_id: str) -> str | None:
    return uow.revenue.contract_of_order(tenant_id=tenant_id, order_id=order_id)


def place_hold(
    *,
    uow: ControlsUnitOfWork,
    tenant_id: str,
    order_id: str,
    line_id: str | None = None,
    obligation_id: str | None = None,
    reason_code: str,
    source: str,
    source_ref: str | None = None,
    actor: str,
    now: datetime,
) -> Hold:
    """Place a hold (idempotent for a source reference) and audit it; the caller commits."""
    check_new_hold(
        source=source, reason_code=reason_code, line_id=line_id, obligation_id=obligation_id
    )
    hold_id = _hold_id(
        tenant_id=tenant_id,
        order_id=order_id,
        line_id=line_id,
        obligation_id=obligation_id,
        source=source,
        source_ref=source_ref,
    )
    existing = uow.controls.hold(tenant_id=tenant_id, hold_id=hold_id)
    if existing is not None:
        return existing
    contract_id = None
    if obligation_id is not None:
        contract_id = _contract_of(uow, tenant_id=tenant_id, order_id=order_id)
        if contract_id is None:
            raise InvalidHold(f"order {order_id} has no contract, so no obligation {obligation_id}")
    hold = Hold(
        hold_id=hold_id,
        order_id=order_id,
        line_id=line_id,
        obligation_id=obligation_id,
        contract_id=contract_id,
        reason_code=reason_code,
        source=source,
        source_ref=source_ref,
        placed_by=actor,
        placed_at=now,
    )
    uow.controls.add_hold(tenant_id=tenant_id, hold=hold)
    uow.audit.append(tenant_id=tenant_id, records=[_record("hold.placed", hold, actor, now)])
    # Placing records the hold in the gate's next decisions; nothing already recognized moves.
    return hold


def release_hold(
    *,
    uow: ControlsUnitOfWork,
    tenant_id: str,
    hold_id: str,
    actor: str,
    now: datetime,
    approval_id: str | None = None,
) -> Hold:
    """Release a hold, audit it and recognize what it held back; the caller commits.

    A hold whose reason needs dual approval is refused without `approval_id` (the
    `hold.release` executor passes the approved request's id)."""
    hold = uow.controls.hold(tenant_id=tenant_id, hold_id=hold_id)
    if hold is None:
        raise HoldNotFound(f"no hold {hold_id} for your tenant")
    if not hold.is_open:
        raise HoldAlreadyReleased(f"hold {hold_id} was released at {hold.released_at}")
    if hold.needs_dual_approval and approval_id is None:
        raise HoldNeedsApproval(
            f"hold {hold_id} ({hold.reason_code}) is released by an approved hold.release request"
        )
    released = replace(hold, released_by=actor, released_at=now, approval_id=approval_id)
    uow.controls.save_release(tenant_id=tenant_id, hold=released)
    uow.audit.append(tenant_id=tenant_id, records=[_record("hold.released", released, actor, now)])
    rerun_order(
        uow=uow, tenant_id=tenant_id, order_id=hold.order_id, trigger=f"release:{hold_id}", now=now
    )
    return released


def open_holds(*, uow: ControlsUnitOfWork, tenant_id: str, order_id: str) -> list[Hold]:
    return uow.controls.holds(tenant_id=tenant_id, order_id=order_id, open_only=True)


def release_hold_executor(
    *,
    uow: Any,
    tenant_id: str,
    payload: Mapping[str, Any],
    actor: str,
    now: datetime,
) -> Mapping[str, Any] | None:
    """The `hold.release` approval kind: release the hold named in the payload."""
    hold = release_hold(
        uow=uow,
        tenant_id=tenant_id,
        hold_id=str(payload["hold_id"]),
        actor=actor,
        now=now,
        approval_id=str(payload.get("request_id") or "approved"),
    )
    return {"hold_id": hold.hold_id, "order_id": hold.order_id}


def check_release_payload(payload: Mapping[str, Any]) -> None:
    if not isinstance(payload.get("hold_id"), str):
        raise ValueError('the payload names the hold to release: {"hold_id": "..."}')


def _record(kind: str, hold: Hold, actor: str, now: datetime) -> AuditRecord:
    return AuditRecord(
        kind=kind,
        subject=f"hold:{hold.hold_id}",
        actor=actor,
        cause=None,
        body={
            "order_id": hold.order_id,
            "line_id": hold.line_id,
            "obligation_id": hold.obligation_id,
            "contract_id": hold.contract_id,
            "reason_code": hold.reason_code,
            "source": hold.source,
            "source_ref": hold.source_ref,
            "approval_id": hold.approval_id,
        },
        occurred_at=now,
    )


@dataclass(frozen=True, slots=True)
class HoldAging:
    """Open holds by age bucket: how many, and the deferred revenue they hold back."""

    bucket: str
    holds: int
    held_back_minor: dict[str, int]


def hold_aging(*, uow: ControlsUnitOfWork, tenant_id: str, now: datetime) -> list[HoldAging]:
    """The hold-aging report. The amount held back by a hold is the unrecognized price of the
    obligations it covers on its order's contract (deferred revenue it keeps from releasing)."""
    counts = {label: 0 for label, _, _ in AGING_BUCKETS}
    amounts: dict[str, dict[str, int]] = {label: {} for label, _, _ in AGING_BUCKETS}
    for hold in uow.controls.holds(tenant_id=tenant_id, open_only=True, limit=HOLDS_PAGE_MAX):
        label = aging_bucket(placed_at=hold.placed_at, now=now)
        counts[label] += 1
        currency, amount = _held_back(uow, tenant_id=tenant_id, hold=hold)
        if currency is not None:
            amounts[label][currency] = amounts[label].get(currency, 0) + amount
    return [HoldAging(bucket=b, holds=counts[b], held_back_minor=amounts[b]) for b in counts]


def _held_back(uow: ControlsUnitOfWork, *, tenant_id: str, hold: Hold) -> tuple[str | None, int]:
    contract_id = hold.contract_id or _contract_of(uow, tenant_id=tenant_id, order_id=hold.order_id)
    stored = (
        None
        if contract_id is None
        else uow.revenue.load(tenant_id=tenant_id, contract_id=contract_id)
    )
    if stored is None:
        return None, 0
    state = stored.state
    total = 0
    for ob in state.obligations:
        if not ob.active:
            continue
        line = ob.obligation.line_id
        if (
            (hold.scope == "order")
            or (hold.scope == "line" and line in (hold.line_id, f"{hold.order_id}:{hold.line_id}"))
            or (hold.scope == "obligation" and ob.obligation_id == hold.obligation_id)
        ):
            total += ob.unrecognized_minor
    return state.currency, total
