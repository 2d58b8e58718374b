"""The revenue controls' use cases, each in its own committed unit of work (API, CLI, jobs).

Holds (place, release or request a dual-approved release, list, aging), decisions (why an
obligation was or was not recognized), fallback recognitions, and recognition rules (propose
as a `rule.change` request, list, show, test against an order).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ordertrail.domain.controls.amendments import AmendmentThreshold
from ordertrail.domain.controls.holds import Hold, HoldNotFound
from ordertrail.services.amendments import set_threshold
from ordertrail.services.approval_ports import ApprovalRequest
from ordertrail.services.approvals import ExecutorRegistry, Party, request_approval
from ordertrail.services.controls_ports import (
    DECISIONS_PAGE_MAX,
    HOLDS_PAGE_MAX,
    Decision,
    StoredRule,
)
from ordertrail.services.holds import HoldAging, hold_aging, place_hold, release_hold
from ordertrail.services.rules import RuleTest, propose_rule, try_rules

HOLD_RELEASE = "hold.release"


@dataclass(frozen=True, slots=True)
class Released:
    """What asking to release a hold did: released it, or (dual approval) requested it."""

    hold: Hold
    request: ApprovalRequest | None = None


@dataclass(frozen=True, slots=True)
class Controls:
    uow_factory: Callable[[], Any]
    registry: ExecutorRegistry
    new_id: Callable[[], str]

    def place(
        self,
        *,
        tenant_id: str,
        order_id: str,
        line_id: str | None,
        obligation_id: str | None,
        reason_code: str,
        source: str,
        source_ref: str | None,
        actor: str,
        now: datetime,
    ) -> Hold:
        with self.uow_factory() as uow:
            hold = place_hold(
                uow=uow,
                tenant_id=tenant_id,
                order_id=order_id,
                line_id=line_id,
                obligation_id=obligation_id,
                reason_code=reason_code,
                source=source,
                source_ref=source_ref,
                actor=actor,
                now=now,
            )
            uow.commit()
        return hold

    def release(
        self, *, tenant_id: str, hold_id: str, requester: Party, reason: str, now: datetime
    ) -> Released:
        """Release a hold; one whose reason needs dual approval gets a `hold.release` request
        instead, applied when a different person with the kind's role approves it."""
        with self.uow_factory() as uow:
            hold = uow.controls.hold(tenant_id=tenant_id, hold_id=hold_id)
            if hold is None:
                raise HoldNotFound(f"no hold {hold_id} for your tenant")
            if hold.needs_dual_approval and hold.is_open:
                request_id = self.new_id()
                request = request_approval(
                    uow=uow,
                    registry=self.registry,
                    tenant_id=tenant_id,
                    kind=HOLD_RELEASE,
                    subject=f"hold:{hold_id}",
                    payload={"hold_id": hold_id, "request_id": request_id},
                    reason=reason,
                    requester=requester,
                    now=now,
                    request_id=request_id,
                )
                uow.commit()
                return Released(hold=hold, request=request)
            released = release_hold(
                uow=uow, tenant_id=tenant_id, hold_id=hold_id, actor=requester.actor, now=now
            )
            uow.commit()
        return Released(hold=released)

    def holds(
        self, *, tenant_id: str, order_id: str | None, open_only: bool, limit: int = HOLDS_PAGE_MAX
    ) -> list[Hold]:
        with self.uow_factory() as uow:
            found: list[Hold] = uow.controls.holds(
                tenant_id=tenant_id, order_id=order_id, open_only=open_only, limit=limit
            )
        return found

    def aging(self, *, tenant_id: str, now: datetime) -> list[HoldAging]:
        with self.uow_factory() as uow:
            return hold_aging(uow=uow, tenant_id=tenant_id, now=now)

    def decisions(
        self,
        *,
        tenant_id: str,
        contract_id: str | None = None,
        obligation_id: str | None = None,
        fallback_only: bool = False,
        limit: int = DECISIONS_PAGE_MAX,
    ) -> list[Decision]:
        with self.uow_factory() as uow:
            found: list[Decision] = uow.controls.decisions(
                tenant_id=tenant_id,
                contract_id=contract_id,
                obligation_id=obligation_id,
                fallback_only=fallback_only,
                limit=limit,
            )
        return found

    def propose(
        self,
        *,
        tenant_id: str,
        definition: Mapping[str, Any],
        reason: str,
        requester: Party,
        now: datetime,
    ) -> tuple[StoredRule, ApprovalRequest]:
        with self.uow_factory() as uow:
            proposed = propose_rule(
                uow=uow,
                registry=self.registry,
                tenant_id=tenant_id,
                definition=definition,
                reason=reason,
                requester=requester,
                now=now,
                request_id=self.new_id(),
            )
            uow.commit()
        return proposed

    def rules(self, *, tenant_id: str, rule_id: str | None = None) -> list[StoredRule]:
        with self.uow_factory() as uow:
            found: list[StoredRule] = uow.controls.rules(tenant_id=tenant_id, rule_id=rule_id)
        return found

    def set_threshold(
        self, *, tenant_id: str, threshold: AmendmentThreshold, actor: str, now: datetime
    ) -> None:
        with self.uow_factory() as uow:
            set_threshold(uow=uow, tenant_id=tenant_id, threshold=threshold, actor=actor, now=now)
            uow.commit()

    def test(self, *, tenant_id: str, order_id: str, now: datetime) -> list[RuleTest]:
        with self.uow_factory() as uow:
            return try_rules(uow=uow, tenant_id=tenant_id, order_id=order_id, now=now)


def hold_document(hold: Hold) -> dict[str, Any]:
    """A hold as clients see it."""
    return {
        "hold_id": hold.hold_id,
        "order_id": hold.order_id,
        "line_id": hold.line_id,
        "obligation_id": hold.obligation_id,
        "contract_id": hold.contract_id,
        "scope": hold.scope,
        "reason_code": hold.reason_code,
        "source": hold.source,
        "source_ref": hold.source_ref,
        "status": "open" if hold.is_open else "released",
        "placed_by": hold.placed_by,
        "placed_at": hold.placed_at.isoformat(),
        "released_by": hold.released_by,
        "released_at": None if hold.released_at is None else hold.released_at.isoformat(),
        "approval_id": hold.approval_id,
        "needs_dual_approval": hold.needs_dual_approval,
    }


def decision_document(d: Decision) -> dict[str, Any]:
    """A recognition decision as clients see it."""
    return {
        "seq": d.seq,
        "order_id": d.order_id,
        "contract_id": d.contract_id,
        "obligation_id": d.obligation_id,
        "line_id": d.line_id,
        "outcome": d.outcome,
        "reason": d.reason,
        "fallback": d.fallback,
        "rule_id": d.rule_id,
        "rule_version": d.rule_version,
        "counts": dict(d.counts),
        "facts": dict(d.facts),
        "cause": d.cause,
        "decided_at": d.decided_at.isoformat(),
    }


def rule_document(stored: StoredRule) -> dict[str, Any]:
    """A rule version as clients see it."""
    return {
        **stored.rule.as_dict(),
        "status": stored.status,
        "proposed_by": stored.proposed_by,
        "proposed_at": stored.proposed_at.isoformat(),
        "request_id": stored.request_id,
        "approved_by": stored.approved_by,
        "approved_at": None if stored.approved_at is None else stored.approved_at.isoformat(),
    }
