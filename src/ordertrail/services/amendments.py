"""Contract amendments above the tenant's impact threshold wait for approval before posting.

The revenue consumer asks `hold_amendment` before applying an `order.amended` modification.
Above the threshold for the contract's currency the milestone is parked, an `amendment.post`
request is made (requester `system:controls`) and `amendment.held` audited; nothing posts.
When a controller approves, the executor (services/recognition_rerun.py) applies the parked
milestone through the same modification accounting and audits `amendment.posted`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from ordertrail.domain.controls.amendments import AmendmentThreshold, order_value
from ordertrail.domain.revenue import ContractState, LineChange
from ordertrail.services.access import Role
from ordertrail.services.approvals import ExecutorRegistry, Party, request_approval
from ordertrail.services.audit_ports import AuditRecord
from ordertrail.services.controls_ports import ControlsUnitOfWork, ParkedAmendment
from ordertrail.services.revenue_ports import RevenueUnitOfWork

AMENDMENT_POST = "amendment.post"
APPROVED = "amendment_approved_by"
"""Set on a parked milestone's body when its approved request applies it."""
REQUESTER = Party(actor="system:controls")


def check_amendment_payload(payload: Mapping[str, Any]) -> None:
    if not isinstance(payload.get("event_id"), str):
        raise ValueError('the payload names the parked amendment: {"event_id": "..."}')


def hold_amendment(
    uow: RevenueUnitOfWork,
    *,
    tenant_id: str,
    body: Mapping[str, Any],
    state: ContractState,
    lines: Sequence[LineChange],
    now: datetime,
) -> bool:
    """Park the amendment when its impact reaches the threshold; True when parked (skip it)."""
    controls = cast(ControlsUnitOfWork, uow)
    if body.get(APPROVED):
        return False
    threshold = controls.controls.threshold(tenant_id=tenant_id, currency=state.currency)
    if threshold is None:
        return False
    before = order_value((line.quantity, line.unit_price_minor) for line in state.terms.lines)
    after = order_value((line.quantity, line.unit_price_minor) for line in lines)
    impact = abs(after - before)
    if not threshold.exceeded_by(impact_minor=impact, before_minor=before):
        return False
    event_id = str(body["event_id"])
    if controls.controls.parked(tenant_id=tenant_id, event_id=event_id) is not None:
        return True  # the same milestone again: it is parked already
    _park(controls, tenant_id=tenant_id, body=body, state=state, impact=impact, now=now)
    return True


def _park(
    uow: ControlsUnitOfWork,
    *,
    tenant_id: str,
    body: Mapping[str, Any],
    state: ContractState,
    impact: int,
    now: datetime,
) -> None:
    event_id, order_id = str(body["event_id"]), str(body["order_id"])
    # One registry per call: the request only needs the kind to exist and its payload checked;
    # the app's registry (bootstrap) runs the executor when someone approves.
    kinds = ExecutorRegistry()
    kinds.register_executor(
        AMENDMENT_POST, Role.CONTROLLER, _unused_executor, check=check_amendment_payload
    )
    request = request_approval(
        uow=cast(Any, uow),
        registry=kinds,
        tenant_id=tenant_id,
        kind=AMENDMENT_POST,
        subject=f"order:{order_id}",
        payload={"event_id": event_id, "order_id": order_id, "impact_minor": impact},
        reason=f"amendment moves {state.contract_id} by {impact} {state.currency} minor units",
        requester=REQUESTER,
        now=now,
    )
    uow.controls.park(
        tenant_id=tenant_id,
        parked=ParkedAmendment(
            event_id=event_id,
            order_id=order_id,
            body=body,
            currency=state.currency,
            impact_minor=impact,
            request_id=request.request_id,
            parked_at=now,
        ),
    )
    uow.audit.append(
        tenant_id=tenant_id,
        records=[
            AuditRecord(
                kind="amendment.held",
                subject=f"order:{order_id}",
                actor=REQUESTER.actor,
                cause=f"{tenant_id}/{event_id}",
                body={
                    "contract_id": state.contract_id,
                    "impact_minor": impact,
                    "currency": state.currency,
                    "request_id": request.request_id,
                },
                occurred_at=now,
            )
        ],
    )


def _unused_executor(**_: Any) -> Mapping[str, Any] | None:
    raise RuntimeError("amendment.post runs through the application's registry")


def set_threshold(
    *,
    uow: ControlsUnitOfWork,
    tenant_id: str,
    threshold: AmendmentThreshold,
    actor: str,
    now: datetime,
) -> None:
    uow.controls.put_threshold(tenant_id=tenant_id, threshold=threshold, actor=actor, now=now)
