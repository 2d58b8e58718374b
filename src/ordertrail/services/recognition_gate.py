"""The recognition gate: between a fulfilment milestone and the engine, per line, how many of
the transferred units may be recognized now.

The revenue handler hands the gate a contract and the lines' full cumulative counts; the gate
keeps the full counts and the order's facts (delivery, signature, acceptance, estimates) in
`recognition_gate_orders`, asks the holds and the line's recognition rule, and returns the
counts the engine may apply: full for a free line, the last released counts for a held or
unsatisfied one, synthetic delivered counts for a fallback. Each decision is stored with the
rule version and the facts it saw, and audited. Because the engine is target-based, handing it
larger counts later (a release, a rule met, a fallback) posts exactly the difference.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, cast

from ordertrail.domain.controls.gate import (
    Counts,
    LineVerdict,
    fallback_counts,
    releasable,
    with_returns,
)
from ordertrail.domain.controls.holds import Hold
from ordertrail.domain.controls.rule_language import (
    RuleLanguageError,
    compile_criterion,
    evaluate,
)
from ordertrail.domain.controls.rules import Rule, rule_for, whole_days
from ordertrail.domain.ledger import JournalEntry
from ordertrail.domain.revenue import ContractState, LineQuantities
from ordertrail.services.audit import entry_audit_records
from ordertrail.services.audit_ports import AuditRecord
from ordertrail.services.controls_ports import ControlsUnitOfWork, Decision, GateOrder
from ordertrail.services.revenue_ports import RevenueUnitOfWork

ACTOR = "system:recognition-gate"


@dataclass(frozen=True, slots=True)
class GateRun:
    """Why the gate runs: the milestone message behind the facts, and what triggered this run
    (the message itself, or a release, a rule re-evaluation, an override)."""

    cause: str | None
    trigger: str
    now: datetime


def merge_facts(facts: Mapping[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
    """The order's facts after one more milestone: dates, signature, acceptance, estimates."""
    merged = dict(facts)
    payload = body.get("payload") or {}
    event_type = body.get("event_type")
    occurred_at = body.get("occurred_at")
    if event_type == "shipment.dispatched" and payload.get("estimated_delivery_at"):
        merged["estimated_at"] = payload["estimated_delivery_at"]
    if event_type == "shipment.delivered":
        proof = payload.get("proof_of_delivery") or {}
        merged.setdefault("delivered_at", proof.get("delivered_at") or occurred_at)
        if proof.get("signed_by"):
            merged["signed_by"] = proof["signed_by"]
    if event_type == "delivery.accepted":
        merged.setdefault("accepted_at", occurred_at)
    return merged


def _instant(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def rule_facts(*, gate: GateOrder, line: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """What a rule sees for one line: the order, the line's counts, the delivery facts."""
    order = gate.body.get("order") or {}
    facts = gate.facts
    disputed = bool(order.get("disputed", False))
    delivered_at = _instant(facts.get("delivered_at"))
    estimated_at = _instant(facts.get("estimated_at"))
    return {
        "order": {
            "id": gate.order_id,
            "customer_id": order.get("customer_id", ""),
            "status": order.get("status", ""),
            "disputed": disputed,
            "on_hold": bool(order.get("on_hold", False)),
        },
        "line": {
            "line_id": line["line_id"],
            "sku": line.get("sku", ""),
            "ordered": int(line.get("ordered", 0)) - int(line.get("cancelled", 0)),
            **Counts.of(line).as_dict(),
        },
        "delivery": {
            "delivered": int(line.get("delivered", 0)) > 0,
            "signed": bool(facts.get("signed_by")),
            "signed_by": facts.get("signed_by") or "",
            "accepted": int(line.get("accepted", 0)) > 0,
            "exception": disputed or int(line.get("returned", 0)) > 0,
            **({"delivered_at": facts["delivered_at"]} if delivered_at else {}),
            **({"estimated_at": facts["estimated_at"]} if estimated_at else {}),
        },
        "days_since_delivery": whole_days(since=delivered_at, now=now),
        "days_since_estimated": whole_days(since=estimated_at, now=now),
    }


def active_rules(uow: ControlsUnitOfWork, *, tenant_id: str) -> list[Rule]:
    """Each rule's newest active version."""
    newest: dict[str, Rule] = {}
    for stored in uow.controls.rules(tenant_id=tenant_id):
        if stored.status == "active":
            newest[stored.rule.rule_id] = stored.rule
    return list(newest.values())


def _order_line_id(order_id: str, contract_line_id: str) -> str:
    prefix = f"{order_id}:"
    return contract_line_id.removeprefix(prefix)


def holds_covering(
    holds: Sequence[Hold], *, state: ContractState, order_line_id: str, contract_line_id: str
) -> tuple[str, ...]:
    """The open holds on the order, on this line, or on one of this line's obligations."""
    line_obligations = {
        ob.obligation_id for ob in state.obligations if ob.obligation.line_id == contract_line_id
    }
    return tuple(
        h.hold_id
        for h in holds
        if h.is_open
        and (
            h.scope == "order"
            or (h.scope == "line" and h.line_id in (order_line_id, contract_line_id))
            or (
                h.scope == "obligation"
                and h.obligation_id in line_obligations
                and h.contract_id in (None, state.contract_id)
            )
        )
    )


@dataclass(frozen=True, slots=True)
class _Judged:
    verdict: LineVerdict
    rule: Rule | None
    facts: dict[str, Any]
    escalate: bool


def _judge(
    *,
    gate: GateOrder,
    line: Mapping[str, Any],
    rule: Rule | None,
    held_by: tuple[str, ...],
    released: Counts | None,
    now: datetime,
) -> _Judged:
    full = Counts.of(line)
    facts = rule_facts(gate=gate, line=line, now=now)
    met, fallback, escalate = True, None, False
    if rule is not None:
        try:
            met = evaluate(compile_criterion(rule.criterion), facts=facts, now=now)
        except RuleLanguageError as error:
            # A rule that fails on these facts keeps the line deferred; the decision says why.
            facts = {**facts, "error": str(error)}
            met = False
        if not met:
            fallback, escalate = _fallback(rule=rule, facts=facts, full=full, now=now)
    verdict = releasable(
        line_id=str(line["line_id"]),
        full=full,
        released=released,
        held_by=held_by,
        rule_met=met,
        fallback=fallback,
    )
    return _Judged(verdict=verdict, rule=rule, facts=facts, escalate=escalate)


def _fallback(
    *, rule: Rule, facts: Mapping[str, Any], full: Counts, now: datetime
) -> tuple[Counts | None, bool]:
    """The fallback counts (or None) and whether to escalate, for a line whose rule is unmet."""
    delivery = facts["delivery"]
    estimated = _instant(delivery.get("estimated_at"))
    due = estimated is not None and now >= estimated + timedelta(days=rule.fallback.days)
    missing = full.shipped > full.delivered
    clean = not delivery["exception"] and not facts["order"]["on_hold"]
    if rule.fallback.kind == "estimated_delivery" and due and missing and clean:
        return fallback_counts(full), False
    return None, rule.fallback.kind == "escalate" and due


def judge_lines(
    uow: ControlsUnitOfWork,
    *,
    tenant_id: str,
    gate: GateOrder,
    state: ContractState,
    lines: Sequence[LineQuantities],
    now: datetime,
) -> list[tuple[str, _Judged]]:
    """Each of the contract's lines in `lines` judged: (contract line id, judgement)."""
    holds = uow.controls.holds(tenant_id=tenant_id, order_id=gate.order_id, open_only=True)
    rules = active_rules(uow, tenant_id=tenant_id)
    order = gate.body.get("order") or {}
    body_lines = {str(line["line_id"]): line for line in order.get("lines") or ()}
    judged = []
    for quantities in lines:
        order_line = _order_line_id(gate.order_id, quantities.line_id)
        line = {
            **body_lines.get(order_line, {}),
            "line_id": order_line,
            "shipped": quantities.shipped,
            "delivered": quantities.delivered,
            "accepted": quantities.accepted,
            "returned": quantities.returned,
        }
        rule = rule_for(
            rules, sku=str(line.get("sku", "")), customer_id=order.get("customer_id", "")
        )
        released = gate.released.get(quantities.line_id)
        judged.append(
            (
                quantities.line_id,
                _judge(
                    gate=gate,
                    line=line,
                    rule=rule,
                    held_by=holds_covering(
                        holds,
                        state=state,
                        order_line_id=order_line,
                        contract_line_id=quantities.line_id,
                    ),
                    released=None if released is None else Counts.of(released),
                    now=now,
                ),
            )
        )
    return judged


RERUN_OF = "rerun_of"
"""Marks a re-run body: the milestone message id whose facts a release or re-evaluation applies."""


def run_of(*, tenant_id: str, body: Mapping[str, Any], now: datetime) -> GateRun:
    """A milestone run is caused by its message; a re-run by the message it re-applies."""
    if RERUN_OF in body:
        return GateRun(cause=body[RERUN_OF], trigger=str(body["event_id"]), now=now)
    return GateRun(cause=f"{tenant_id}/{body['event_id']}", trigger="milestone", now=now)


@dataclass(frozen=True, slots=True)
class _Marks:
    reason: str
    flagged: bool
    records: tuple[AuditRecord, ...]


def _marks(
    j: _Judged,
    *,
    gate: GateOrder,
    line_id: str,
    run: GateRun,
    counts: Counts,
    sets: tuple[set[str], set[str]],
) -> _Marks:
    """Fallback flags for one line: recognized by a fallback, trued up, escalated. Updates the
    order's sets of fallback and escalated lines; returns the audit records of what changed."""
    fallback_lines, escalated = sets
    reason = j.verdict.reason
    flagged = j.verdict.outcome == "fallback"
    kinds = []
    if line_id in fallback_lines and not flagged:
        reason = f"fallback trued up: {reason}"
        fallback_lines.discard(line_id)
        kinds.append("fallback.trued_up")
    if flagged and line_id not in fallback_lines:
        fallback_lines.add(line_id)
        kinds.append("fallback.recognized")
    if j.escalate and line_id not in escalated:
        escalated.add(line_id)
        reason, flagged = f"{reason}; escalated", True
        kinds.append("fallback.escalated")
    records = tuple(
        _record(kind, gate, line_id=line_id, run=run, counts=counts, reason=reason)
        for kind in kinds
    )
    return _Marks(reason=reason, flagged=flagged, records=records)


def gate_lines(
    uow: RevenueUnitOfWork,
    *,
    tenant_id: str,
    body: Mapping[str, Any],
    state: ContractState,
    lines: Sequence[LineQuantities],
    now: datetime,
) -> tuple[LineQuantities, ...] | None:
    """The counts the engine may apply for `lines` now, or None when a re-run changes nothing.

    Records the order's facts, a decision per obligation whose line is judged, and audit
    records. A milestone body updates the stored facts; a re-run body (marked `rerun_of`,
    built by services/recognition_rerun.py) re-judges the stored ones.
    """
    uow = cast(ControlsUnitOfWork, uow)
    order_id = str(body["order_id"])
    run = run_of(tenant_id=tenant_id, body=body, now=now)
    rerun = RERUN_OF in body
    gate = uow.controls.gate_order(tenant_id=tenant_id, order_id=order_id)
    if gate is None:
        gate = GateOrder(order_id=order_id, body=body, facts={})
    if not rerun:
        gate = replace(gate, body=body, facts=merge_facts(gate.facts, body))
    judged = judge_lines(uow, tenant_id=tenant_id, gate=gate, state=state, lines=lines, now=run.now)
    released = dict(gate.released)
    fallback_lines = set(gate.fallback_lines)
    escalated = set(gate.escalated_lines)
    changed = False
    decisions: list[Decision] = []
    records: list[AuditRecord] = []
    pending = False
    for line_id, j in judged:
        full = next(q for q in lines if q.line_id == line_id)
        counts = j.verdict.counts
        if j.verdict.outcome != "recognized":
            triggers = tuple(
                ob.obligation.trigger or ""
                for ob in state.obligations
                if ob.obligation.line_id == line_id and ob.active
            )
            counts = with_returns(counts, full=Counts.of(_as_dict(full)), triggers=triggers)
        before = released.get(line_id)
        pending = pending or counts != Counts(
            full.shipped, full.delivered, full.accepted, full.returned
        )
        marks = _marks(
            j, gate=gate, line_id=line_id, run=run, counts=counts, sets=(fallback_lines, escalated)
        )
        records.extend(marks.records)
        reason, flagged = marks.reason, marks.flagged
        if before is not None and Counts.of(before) == counts and rerun and not marks.records:
            continue  # a re-run that changes nothing for this line says nothing
        changed = True
        released[line_id] = counts.as_dict()
        for ob in state.obligations:
            if ob.obligation.line_id != line_id or not ob.active:
                continue
            decision = Decision(
                order_id=order_id,
                contract_id=state.contract_id,
                obligation_id=ob.obligation_id,
                line_id=line_id,
                outcome=j.verdict.outcome,
                reason=reason,
                facts={**j.facts, "trigger": run.trigger},
                counts=counts.as_dict(),
                decided_at=run.now,
                cause=run.cause,
                rule_id=None if j.rule is None else j.rule.rule_id,
                rule_version=None if j.rule is None else j.rule.version,
                fallback=flagged,
            )
            decisions.append(decision)
            records.append(_decision_record(decision))
    gate = replace(
        gate,
        released=released,
        fallback_lines=tuple(sorted(fallback_lines)),
        escalated_lines=tuple(sorted(escalated)),
        pending=pending,
        updated_at=run.now,
    )
    uow.controls.save_gate_order(tenant_id=tenant_id, gate=gate)
    uow.controls.add_decisions(tenant_id=tenant_id, decisions=decisions)
    if records:
        uow.audit.append(tenant_id=tenant_id, records=records)
    if rerun and not changed:
        return None
    return tuple(LineQuantities(line_id=line_id, **released[line_id]) for line_id, _ in judged)


def _as_dict(q: LineQuantities) -> dict[str, int]:
    return {
        "shipped": q.shipped,
        "delivered": q.delivered,
        "accepted": q.accepted,
        "returned": q.returned,
    }


def _decision_record(d: Decision) -> AuditRecord:
    return AuditRecord(
        kind="decision",
        subject=f"obligation:{d.contract_id}/{d.obligation_id}",
        actor=ACTOR,
        cause=d.cause,
        body={
            "order_id": d.order_id,
            "line_id": d.line_id,
            "outcome": d.outcome,
            "reason": d.reason,
            "rule_id": d.rule_id,
            "rule_version": d.rule_version,
            "fallback": d.fallback,
            "counts": dict(d.counts),
            "facts": dict(d.facts),
        },
        occurred_at=d.decided_at,
    )


def _record(
    kind: str, gate: GateOrder, *, line_id: str, run: GateRun, counts: Counts, reason: str
) -> AuditRecord:
    return AuditRecord(
        kind=kind,
        subject=f"order:{gate.order_id}",
        actor=ACTOR,
        cause=run.cause,
        body={
            "line_id": line_id,
            "counts": counts.as_dict(),
            "reason": reason,
            "trigger": run.trigger,
        },
        occurred_at=run.now,
    )


def audit_entries(
    uow: RevenueUnitOfWork,
    *,
    tenant_id: str,
    body: Mapping[str, Any],
    entries: Sequence[JournalEntry],
    now: datetime,
) -> None:
    """Append one `recognition`/`reversal` record per journal entry the revenue consumer posts,
    linked to the milestone message behind it (for a re-run, the message it re-applies)."""
    if not entries:
        return
    cause = None
    if RERUN_OF in body or "event_id" in body:
        cause = run_of(tenant_id=tenant_id, body=body, now=now).cause
    records = entry_audit_records(entries, actor="system:revenue", cause=cause, occurred_at=now)
    cast(ControlsUnitOfWork, uow).audit.append(tenant_id=tenant_id, records=records)
