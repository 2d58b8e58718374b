"""Recognition rules: propose a version (a `rule.change` request), activate it on approval,
list and show versions, and test the active rules against an order's known facts.

A proposed version is stored with status `proposed` and takes effect only when a second person
approves the request: the `rule.change` executor marks it `active` and the previous active
version `superseded`. Both steps are audited (rule.requested, rule.approved).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ordertrail.domain.controls.rule_language import compile_criterion, evaluate
from ordertrail.domain.controls.rules import InvalidRule, rule_for, rule_from
from ordertrail.services.approval_ports import ApprovalRequest
from ordertrail.services.approvals import ExecutorRegistry, Party, request_approval
from ordertrail.services.audit_ports import AuditRecord
from ordertrail.services.controls_ports import ControlsUnitOfWork, StoredRule
from ordertrail.services.recognition_gate import active_rules, rule_facts

RULE_CHANGE = "rule.change"


class RuleNotFound(Exception):
    pass


def propose_rule(
    *,
    uow: Any,
    registry: ExecutorRegistry,
    tenant_id: str,
    definition: Mapping[str, Any],
    reason: str,
    requester: Party,
    now: datetime,
    request_id: str | None = None,
) -> tuple[StoredRule, ApprovalRequest]:
    """Store a new version of a rule as proposed and request its approval; the caller commits.

    Raises InvalidRule (with the reason) for a definition that does not check."""
    rule_id = definition.get("rule_id") if isinstance(definition, Mapping) else None
    versions = (
        uow.controls.rules(tenant_id=tenant_id, rule_id=rule_id) if isinstance(rule_id, str) else []
    )
    rule = rule_from(definition, version=1 + max((s.rule.version for s in versions), default=0))
    request = request_approval(
        uow=uow,
        registry=registry,
        tenant_id=tenant_id,
        kind=RULE_CHANGE,
        subject=f"rule:{rule.rule_id}",
        payload={"rule_id": rule.rule_id, "version": rule.version, "rule": rule.as_dict()},
        reason=reason,
        requester=requester,
        now=now,
        request_id=request_id,
    )
    stored = StoredRule(
        rule=rule,
        status="proposed",
        proposed_by=requester.actor,
        proposed_at=now,
        request_id=request.request_id,
    )
    uow.controls.add_rule(tenant_id=tenant_id, stored=stored)
    uow.audit.append(
        tenant_id=tenant_id,
        records=[
            _record(
                "rule.requested",
                rule.rule_id,
                requester.actor,
                now,
                {**rule.as_dict(), "request_id": request.request_id},
            )
        ],
    )
    return stored, request


def rule_change_executor(
    *,
    uow: Any,
    tenant_id: str,
    payload: Mapping[str, Any],
    actor: str,
    now: datetime,
) -> Mapping[str, Any] | None:
    """The `rule.change` approval kind: activate the proposed version, supersede the old one."""
    rule_id, version = str(payload["rule_id"]), int(payload["version"])
    versions = uow.controls.rules(tenant_id=tenant_id, rule_id=rule_id)
    target = next((s for s in versions if s.rule.version == version), None)
    if target is None or target.status != "proposed":
        raise RuleNotFound(f"rule {rule_id} has no proposed version {version}")
    for stored in versions:
        if stored.status == "active":
            uow.controls.set_rule_status(
                tenant_id=tenant_id,
                rule_id=rule_id,
                version=stored.rule.version,
                status="superseded",
            )
    uow.controls.set_rule_status(
        tenant_id=tenant_id,
        rule_id=rule_id,
        version=version,
        status="active",
        approved_by=actor,
        approved_at=now,
    )
    uow.audit.append(
        tenant_id=tenant_id,
        records=[_record("rule.approved", rule_id, actor, now, {"version": version})],
    )
    return {"rule_id": rule_id, "version": version, "status": "active"}


def check_rule_change_payload(payload: Mapping[str, Any]) -> None:
    if not isinstance(payload.get("rule_id"), str) or not isinstance(payload.get("version"), int):
        raise ValueError('the payload names the rule version: {"rule_id": ..., "version": n}')


def _record(
    kind: str, rule_id: str, actor: str, now: datetime, body: Mapping[str, Any]
) -> AuditRecord:
    return AuditRecord(
        kind=kind,
        subject=f"rule:{rule_id}",
        actor=actor,
        cause=None,
        body=dict(body),
        occurred_at=now,
    )


@dataclass(frozen=True, slots=True)
class RuleTest:
    """What the active rules say about one line of an order now (nothing is recorded)."""

    line_id: str
    rule_id: str | None
    rule_version: int | None
    met: bool | None
    error: str | None
    facts: Mapping[str, Any]


def try_rules(
    *, uow: ControlsUnitOfWork, tenant_id: str, order_id: str, now: datetime
) -> list[RuleTest]:
    """Evaluate the active rules over an order's known facts, line by line."""
    gate = uow.controls.gate_order(tenant_id=tenant_id, order_id=order_id)
    if gate is None:
        raise RuleNotFound(f"the recognition gate has seen no fulfilment of order {order_id}")
    rules = active_rules(uow, tenant_id=tenant_id)
    order = gate.body.get("order") or {}
    results = []
    for line in order.get("lines") or ():
        facts = rule_facts(gate=gate, line=line, now=now)
        rule = rule_for(
            rules, sku=str(line.get("sku", "")), customer_id=str(order.get("customer_id", ""))
        )
        met: bool | None = None
        error = None
        if rule is not None:
            try:
                met = evaluate(compile_criterion(rule.criterion), facts=facts, now=now)
            except Exception as exc:
                error = str(exc)
        results.append(
            RuleTest(
                line_id=str(line["line_id"]),
                rule_id=None if rule is None else rule.rule_id,
                rule_version=None if rule is None else rule.version,
                met=met,
                error=error,
                facts=facts,
            )
        )
    return results


__all__ = [
    "RULE_CHANGE",
    "InvalidRule",
    "RuleNotFound",
    "RuleTest",
    "check_rule_change_payload",
    "propose_rule",
    "rule_change_executor",
    "try_rules",
]
