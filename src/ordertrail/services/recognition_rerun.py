"""Re-apply an order's fulfilment through the gate when what is releasable may have changed:
a hold released or placed, a rule met later (the scheduled job), an approved override.

The stored milestone body is handled again as a RecordFulfilment under a derived event id
(`release:<hold>`, `rule:<order>@<instant>`, `override:<request>`), dated now; the gate hands the
engine the newly releasable counts and the target-based engine posts exactly the difference.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ordertrail.services.amendments import APPROVED
from ordertrail.services.audit_ports import AuditRecord
from ordertrail.services.controls_ports import PENDING_BATCH_MAX, ControlsUnitOfWork
from ordertrail.services.ports import Clock
from ordertrail.services.recognition_gate import RERUN_OF
from ordertrail.services.revenue import context_for, on_amended, on_fulfilment

logger = logging.getLogger("ordertrail.controls")


def rerun_order(
    *, uow: ControlsUnitOfWork, tenant_id: str, order_id: str, trigger: str, now: datetime
) -> bool:
    """Re-judge an order's known facts; returns False when the gate never saw the order."""
    gate = uow.controls.gate_order(tenant_id=tenant_id, order_id=order_id)
    if gate is None or "event_id" not in gate.body:
        return False
    cause = gate.body.get(RERUN_OF) or f"{tenant_id}/{gate.body['event_id']}"
    body = {**gate.body, "event_id": trigger, "occurred_at": now.isoformat(), RERUN_OF: cause}
    ctx = context_for(uow=uow, tenant_id=tenant_id, body=body, now=now)
    if not ctx.catalogs.templates.versions:
        return False
    on_fulfilment(ctx)
    return True


@dataclass(frozen=True, slots=True)
class ReevaluateResult:
    orders: int
    failed: int


def reevaluate_pending(
    *, uow_factory: Callable[[], ControlsUnitOfWork], clock: Clock, limit: int = PENDING_BATCH_MAX
) -> ReevaluateResult:
    """The scheduled job: re-judge every order with a line still held back (rules that became
    true with time, fallbacks that came due), one transaction per order, at most `limit`."""
    make = uow_factory
    with make() as uow:
        pending = uow.controls.pending_orders(limit=limit)
    done = failed = 0
    for tenant_id, order_id in pending:
        now = clock.now()
        try:
            with make() as uow:
                rerun_order(
                    uow=uow,
                    tenant_id=tenant_id,
                    order_id=order_id,
                    trigger=f"rule:{order_id}@{now.strftime('%Y%m%dT%H%M%S')}",
                    now=now,
                )
                uow.commit()
            done += 1
        except Exception:
            # One order's failure (e.g. a catalog gap) must not stop the others; it is logged
            # with its traceback and retried on the next run.
            logger.exception("re-evaluating %s/%s failed", tenant_id, order_id)
            failed += 1
    return ReevaluateResult(orders=done, failed=failed)


def post_amendment_executor(
    *,
    uow: Any,
    tenant_id: str,
    payload: Mapping[str, Any],
    actor: str,
    now: datetime,
) -> Mapping[str, Any] | None:
    """The `amendment.post` approval kind: apply the parked `order.amended` milestone through
    the engine's modification accounting, then audit `amendment.posted`."""
    event_id = str(payload["event_id"])
    parked = uow.controls.parked(tenant_id=tenant_id, event_id=event_id)
    if parked is None or parked.posted_at is not None:
        raise ValueError(f"no amendment {event_id} is waiting to be posted")
    body = {**parked.body, APPROVED: actor}
    ctx = context_for(uow=uow, tenant_id=tenant_id, body=body, now=now)
    on_amended(ctx)
    uow.controls.mark_posted(tenant_id=tenant_id, event_id=event_id, now=now)
    uow.audit.append(
        tenant_id=tenant_id,
        records=[
            AuditRecord(
                kind="amendment.posted",
                subject=f"order:{parked.order_id}",
                actor=actor,
                cause=f"{tenant_id}/{event_id}",
                body={"request_id": parked.request_id, "impact_minor": parked.impact_minor},
                occurred_at=now,
            )
        ],
    )
    return {"event_id": event_id, "order_id": parked.order_id}
