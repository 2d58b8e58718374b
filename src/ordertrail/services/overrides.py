"""Executors of override kinds that apply revenue-engine commands once a request is approved.

`modification.treatment` re-treats a contract's latest modification with the existing engine
command (services/revenue_commands.py), in the approver's transaction. The journal entries it
posts are vouched for in the audit chain like the revenue handler's, so `audit verify` covers them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast, get_args

from ordertrail.domain.revenue.facts import Treatment
from ordertrail.services.approval_ports import ApprovalRequest
from ordertrail.services.approvals import ExecutorRegistry, Party, request_approval
from ordertrail.services.audit import entry_audit_records
from ordertrail.services.revenue_commands import ContractNotFound, apply_treatment_change

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
