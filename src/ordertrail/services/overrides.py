"""Executors of override kinds that apply revenue-engine commands once a request is approved.

`modification.treatment` re-treats a contract's latest modification with the existing engine
command (services/revenue_commands.py), in the approver's transaction. The journal entries it
posts are vouched for in the audit chain like the revenue handler's, so `audit verify` covers them.
`recognize_now` records an obligation satisfied by hand; `defer` holds an obligation back.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, cast, get_args

from ordertrail.domain.revenue import InvalidFact, SatisfyObligation
from ordertrail.domain.revenue.facts import Treatment
from ordertrail.services.approval_ports import ApprovalRequest
from ordertrail.services.approvals import ExecutorRegistry, Party, request_approval
from ordertrail.services.audit import entry_audit_records
from ordertrail.services.holds import open_holds, place_hold
from ordertrail.services.revenue import apply_to, context_for
from ordertrail.services.revenue_commands import ContractNotFound, apply_treatment_change
from ordertrail.services.revenue_ports import StoredContract

TREATMENTS: tuple[str, ...] = get_args(Treatment)
TREATMENT_KIND = "modification.treatment"


def check_treatment_payload(payload: Mapping[str, Any]) -> None:
    """A treatment request names the contract, the modification's version and the treatment."""
    if not isinstance(payload.get("contract_id"), str) or not payload["contract_id"]:
        raise ValueError('the payload names the contract: {"contract_id": "..."}')
    version = payload.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError("the payload names the modification's version, a positive integer")
    if payload.get("treatment") not in TREATMENTS:
        raise ValueError(f"the treatment is one of {', '.join(TREATMENTS)}")


def treatment_executor(
    *,
    uow: Any,
    tenant_id: str,
    payload: Mapping[str, Any],
    actor: str,
    now: datetime,
) -> Mapping[str, Any] | None:
    """The `modification.treatment` kind: apply the requested treatment, audit its entries."""
    check_treatment_payload(payload)
    contract_id = str(payload["contract_id"])
    known = {e.entry_id for e in uow.ledger.entries(tenant_id=tenant_id, contract_id=contract_id)}
    reason = str(payload.get("reason") or "approved treatment change")
    stored = apply_treatment_change(
        uow=uow,
        tenant_id=tenant_id,
        contract_id=contract_id,
        version=int(payload["version"]),
        treatment=cast(Treatment, payload["treatment"]),
        reason=f"{reason} (request {payload.get('request_id')}, approved by {actor})",
        now=now,
    )
    posted = [
        e
        for e in uow.ledger.entries(tenant_id=tenant_id, contract_id=contract_id)
        if e.entry_id not in known
    ]
    cause = f"request:{payload.get('request_id')}"
    records = entry_audit_records(posted, actor=actor, cause=cause, occurred_at=now)
    if records:
        uow.audit.append(tenant_id=tenant_id, records=records)
    latest = stored.state.versions[-1]
    return {
        "contract_id": contract_id,
        "version": latest.version,
        "treatment": latest.treatment,
        "related_contract_id": latest.related_contract_id,
        "entries": [e.entry_id for e in posted],
    }


def request_treatment_change(
    *,
    uow: Any,
    registry: ExecutorRegistry,
    tenant_id: str,
    contract_id: str,
    version: int,
    treatment: str,
    reason: str,
    requester: Party,
    now: datetime,
    request_id: str,
) -> ApprovalRequest:
    """Ask for another treatment of a modification; it applies once another person approves.

    The contract must exist now (so a typo fails at once); whether the version can still be
    re-treated is checked when the request is approved, against the books as they are then.
    """
    if uow.revenue.load(tenant_id=tenant_id, contract_id=contract_id) is None:
        raise ContractNotFound(contract_id)
    return request_approval(
        uow=uow,
        registry=registry,
        tenant_id=tenant_id,
        kind=TREATMENT_KIND,
        subject=f"contract:{contract_id}/v{version}",
        payload={
            "contract_id": contract_id,
            "version": version,
            "treatment": treatment,
            "reason": reason,
        },
        reason=reason,
        requester=requester,
        now=now,
        request_id=request_id,
    )


# -- recognize_now and defer (CONTROLS had not provided them when these were wired) --

RECOGNIZE_NOW_KIND = "recognize_now"
DEFER_KIND = "defer"


class OverrideRefused(ValueError):
    """The override cannot be applied to the books as they are now."""


def _obligation_payload(payload: Mapping[str, Any]) -> tuple[str, str]:
    contract_id, obligation_id = payload.get("contract_id"), payload.get("obligation_id")
    if not isinstance(contract_id, str) or not contract_id:
        raise ValueError('the payload names the contract: {"contract_id": "..."}')
    if not isinstance(obligation_id, str) or not obligation_id:
        raise ValueError('the payload names the obligation: {"obligation_id": "1/unit"}')
    return contract_id, obligation_id


def check_recognize_now_payload(payload: Mapping[str, Any]) -> None:
    """recognize_now names a contract's obligation and how many of its units are satisfied."""
    _obligation_payload(payload)
    units = payload.get("units")
    if not isinstance(units, int) or isinstance(units, bool) or units < 0:
        raise ValueError("the payload says how many units are satisfied so far: a count >= 0")
    if "occurred_on" in payload:
        try:
            date.fromisoformat(str(payload["occurred_on"]))
        except ValueError:
            raise ValueError("occurred_on is a date, YYYY-MM-DD") from None


def _stored(uow: Any, *, tenant_id: str, contract_id: str, obligation_id: str) -> StoredContract:
    stored: StoredContract | None = uow.revenue.load(tenant_id=tenant_id, contract_id=contract_id)
    if stored is None:
        raise ContractNotFound(contract_id)
    if all(ob.obligation_id != obligation_id for ob in stored.state.obligations):
        raise OverrideRefused(f"{contract_id} has no obligation {obligation_id}")
    return stored


def recognize_now_executor(
    *,
    uow: Any,
    tenant_id: str,
    payload: Mapping[str, Any],
    actor: str,
    now: datetime,
) -> Mapping[str, Any] | None:
    """The `recognize_now` kind: record the obligation satisfied by hand (`units` so far).

    Goes through the engine's SatisfyObligation fact, so it applies to obligations whose
    trigger is a milestone or manual satisfaction, and their entries are audited like any other.
    Holds win over overrides: an open hold on any of the contract's orders refuses it (release
    the hold first, itself an override when its reason needs one).
    """
    check_recognize_now_payload(payload)
    contract_id, obligation_id = _obligation_payload(payload)
    stored = _stored(uow, tenant_id=tenant_id, contract_id=contract_id, obligation_id=obligation_id)
    held = [
        hold.hold_id
        for order in stored.orders
        for hold in open_holds(uow=uow, tenant_id=tenant_id, order_id=order.order_id)
    ]
    if held:
        raise OverrideRefused(f"{contract_id} is held by {', '.join(held)}; release it first")
    event_id = f"override:{payload.get('request_id')}"
    ctx = context_for(uow=uow, tenant_id=tenant_id, body={"event_id": event_id}, now=now)
    occurred_on = date.fromisoformat(str(payload.get("occurred_on") or now.date().isoformat()))
    fact = SatisfyObligation(
        event_id=event_id,
        occurred_on=occurred_on,
        obligation_id=obligation_id,
        units=int(payload["units"]),
    )
    try:
        saved = apply_to(ctx, stored, fact)
    except InvalidFact as error:
        raise OverrideRefused(str(error)) from None
    ob = next(o for o in saved.state.obligations if o.obligation_id == obligation_id)
    return {
        "contract_id": contract_id,
        "obligation_id": obligation_id,
        "recognized_minor": ob.posted.revenue,
        "unrecognized_minor": ob.unrecognized_minor,
        "approved_by": actor,
    }


def defer_executor(
    *,
    uow: Any,
    tenant_id: str,
    payload: Mapping[str, Any],
    actor: str,
    now: datetime,
) -> Mapping[str, Any] | None:
    """The `defer` kind: hold an obligation back (a hold with reason `deferred_by_override`).

    Nothing already recognized moves; nothing more of the obligation is recognized until the
    hold is released. The hold's source reference is the request, so approving twice is one hold.
    """
    contract_id, obligation_id = _obligation_payload(payload)
    stored = _stored(uow, tenant_id=tenant_id, contract_id=contract_id, obligation_id=obligation_id)
    order_id = stored.orders[0].order_id
    hold = place_hold(
        uow=uow,
        tenant_id=tenant_id,
        order_id=order_id,
        obligation_id=obligation_id,
        reason_code="deferred_by_override",
        source="manual",
        source_ref=f"request:{payload.get('request_id')}",
        actor=actor,
        now=now,
    )
    return {"hold_id": hold.hold_id, "order_id": order_id, "obligation_id": obligation_id}


def check_defer_payload(payload: Mapping[str, Any]) -> None:
    _obligation_payload(payload)
