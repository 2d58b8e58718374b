"""Disputes: open one (holds its revenue), attach evidence, resolve it upheld or rejected.

Opening places a hold (source "dispute") on each disputed line, or on the order, so nothing on
them is recognized while the customer's claim stands. Upheld: the revenue engine posts a credit
note on the disputed lines (a price concession, or a refund when goods came back) under the
derived event id `dispute:<id>:upheld`, then the holds are released (the gate recognizes the
rest at the lowered price). Rejected: only once the evidence the reason requires is attached and
the decider holds the reason's signer role; a reason that wants a second person files a
`dispute.reinstate` approval request, whose executor releases the holds when approved.
Every step is appended to the audit chain in the same transaction.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, cast

from ordertrail.domain.disputes import (
    DEFAULT_REASONS,
    EVIDENCE_BYTES_MAX,
    EVIDENCE_KINDS,
    EVIDENCE_PER_DISPUTE_MAX,
    LINES_MAX,
    TEXT_MAX,
    TREATMENTS,
    DisputeAlreadyResolved,
    DisputeAmountInvalid,
    DisputeNotFound,
    DisputeNothingToReverse,
    DisputeReason,
    DisputeReinstatementPending,
    EvidenceCorrupt,
    EvidenceInvalid,
    EvidenceNotFound,
    EvidenceTooLarge,
    InvalidDispute,
    Resolution,
    check_reason,
    reason_of,
    require_threshold,
    threshold,
    verify_signature,
)
from ordertrail.domain.revenue import IssueCreditNote, apply_fact
from ordertrail.domain.revenue.errors import RevenueError
from ordertrail.services.approval_ports import ApprovalRequest
from ordertrail.services.approvals import ExecutorRegistry, Party, request_approval
from ordertrail.services.audit_ports import AuditRecord
from ordertrail.services.dispute_ports import (
    DISPUTES_PAGE_MAX,
    Dispute,
    DisputeFilter,
    DisputeUnitOfWork,
    Evidence,
    WebhookSecret,
    ids,
)
from ordertrail.services.holds import place_hold, release_hold
from ordertrail.services.revenue import apply_to, context_for, contract_line_id

DISPUTE_REINSTATE = "dispute.reinstate"
SECRET_CHARS_MAX = 500


def reasons_of(uow: DisputeUnitOfWork, *, tenant_id: str) -> list[DisputeReason]:
    """The tenant's reasons: those it configured, else the defaults (docs/revenue/disputes.md)."""
    return uow.disputes.reasons(tenant_id=tenant_id) or list(DEFAULT_REASONS)


def _audit(
    uow: DisputeUnitOfWork,
    *,
    tenant_id: str,
    kind: str,
    dispute: Dispute,
    actor: str,
    now: datetime,
    body: Mapping[str, Any],
) -> None:
    record = AuditRecord(
        kind=kind,
        subject=f"dispute:{dispute.dispute_id}",
        actor=actor,
        cause=None,
        body={"order_id": dispute.order_id, "line_ids": list(dispute.line_ids), **body},
        occurred_at=now,
    )
    uow.audit.append(tenant_id=tenant_id, records=[record])


def _check_text(name: str, value: str, *, required: bool) -> None:
    if (required and not value.strip()) or len(value) > TEXT_MAX:
        raise InvalidDispute(f"{name} must be {1 if required else 0} to {TEXT_MAX} characters")


def _contract_lines(
    uow: DisputeUnitOfWork, *, tenant_id: str, order_id: str, line_ids: Sequence[str]
) -> None:
    """When the order has a contract, every named line must be one of its lines."""
    contract_id = uow.revenue.contract_of_order(tenant_id=tenant_id, order_id=order_id)
    stored = (
        None
        if contract_id is None
        else uow.revenue.load(tenant_id=tenant_id, contract_id=contract_id)
    )
    if stored is None:
        return
    unknown = [line for line in line_ids if contract_line_id(stored.state, order_id, line) is None]
    if unknown:
        raise InvalidDispute(f"order {order_id} has no line(s) {', '.join(unknown)}")


def open_dispute(
    *,
    uow: DisputeUnitOfWork,
    tenant_id: str,
    dispute_id: str,
    order_id: str,
    line_ids: Sequence[str],
    reason_code: str,
    description: str,
    external_ref: str | None,
    channel: str,
    actor: str,
    now: datetime,
) -> tuple[Dispute, bool]:
    """Open a dispute and hold its lines (or order); the same external reference again returns
    the dispute it opened, with False. The caller commits."""
    if external_ref is not None:
        existing = uow.disputes.by_external_ref(tenant_id=tenant_id, external_ref=external_ref)
        if existing is not None:
            return existing, False
    if not order_id.strip() or len(order_id) > 128:
        raise InvalidDispute("order_id must be 1 to 128 characters")
    lines = ids(line_ids)
    if len(lines) > LINES_MAX or any(not line or len(line) > 128 for line in lines):
        raise InvalidDispute(f"name at most {LINES_MAX} lines, each 1 to 128 characters")
    _check_text("description", description, required=True)
    reason = reason_of(reasons_of(uow, tenant_id=tenant_id), reason_code)
    _contract_lines(uow, tenant_id=tenant_id, order_id=order_id, line_ids=lines)
    holds = [
        place_hold(
            uow=uow,
            tenant_id=tenant_id,
            order_id=order_id,
            line_id=line,
            reason_code=f"dispute:{reason.code}",
            source="dispute",
            source_ref=dispute_id,
            actor=actor,
            now=now,
        )
        for line in (lines or (None,))
    ]
    dispute = Dispute(
        dispute_id=dispute_id,
        order_id=order_id,
        line_ids=lines,
        reason_code=reason.code,
        description=description,
        external_ref=external_ref,
        channel=channel,
        opened_by=actor,
        opened_at=now,
        hold_ids=tuple(h.hold_id for h in holds),
    )
    uow.disputes.add(tenant_id=tenant_id, dispute=dispute)
    _audit(
        uow,
        tenant_id=tenant_id,
        kind="dispute.opened",
        dispute=dispute,
        actor=actor,
        now=now,
        body={
            "reason_code": reason.code,
            "external_ref": external_ref,
            "channel": channel,
            "hold_ids": list(dispute.hold_ids),
        },
    )
    return dispute, True


def _dispute(uow: DisputeUnitOfWork, *, tenant_id: str, dispute_id: str) -> Dispute:
    dispute = uow.disputes.get(tenant_id=tenant_id, dispute_id=dispute_id)
    if dispute is None:
        raise DisputeNotFound(f"no dispute {dispute_id} for your tenant")
    return dispute


def _open(uow: DisputeUnitOfWork, *, tenant_id: str, dispute_id: str) -> Dispute:
    dispute = _dispute(uow, tenant_id=tenant_id, dispute_id=dispute_id)
    if dispute.status != "open":
        raise DisputeAlreadyResolved(f"dispute {dispute_id} was already {dispute.status}")
    return dispute


def attach_evidence(
    *,
    uow: DisputeUnitOfWork,
    tenant_id: str,
    dispute_id: str,
    evidence_id: str,
    kind: str,
    filename: str,
    media_type: str,
    content: bytes,
    note: str,
    actor: str,
    now: datetime,
) -> Evidence:
    """Store a document with its SHA-256 and size, and audit the hash; the caller commits."""
    dispute = _open(uow, tenant_id=tenant_id, dispute_id=dispute_id)
    if kind not in EVIDENCE_KINDS:
        raise EvidenceInvalid(f"evidence kind must be one of {', '.join(EVIDENCE_KINDS)}")
    if not content:
        raise EvidenceInvalid("the evidence document is empty")
    if len(content) > EVIDENCE_BYTES_MAX:
        raise EvidenceTooLarge(f"an evidence document is at most {EVIDENCE_BYTES_MAX} bytes")
    if not 1 <= len(filename) <= 200 or not 1 <= len(media_type) <= 100 or len(note) > TEXT_MAX:
        raise EvidenceInvalid("filename 1-200, media type 1-100 and note 0-2000 characters")
    if len(uow.disputes.evidence(tenant_id=tenant_id, dispute_id=dispute_id)) >= (
        EVIDENCE_PER_DISPUTE_MAX
    ):
        raise EvidenceInvalid(f"a dispute carries at most {EVIDENCE_PER_DISPUTE_MAX} documents")
    evidence = Evidence(
        evidence_id=evidence_id,
        dispute_id=dispute_id,
        kind=kind,
        filename=filename,
        media_type=media_type,
        size_bytes=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        attached_by=actor,
        attached_at=now,
        note=note,
    )
    uow.disputes.add_evidence(tenant_id=tenant_id, evidence=evidence, content=content)
    _audit(
        uow,
        tenant_id=tenant_id,
        kind="dispute.evidence",
        dispute=dispute,
        actor=actor,
        now=now,
        body={
            "evidence_id": evidence_id,
            "kind": kind,
            "sha256": evidence.sha256,
            "size_bytes": evidence.size_bytes,
        },
    )
    return evidence


def read_document(
    uow: DisputeUnitOfWork, *, tenant_id: str, dispute_id: str, evidence_id: str
) -> tuple[Evidence, bytes]:
    """The stored document, refused if it no longer matches the hash taken on attaching."""
    found = uow.disputes.document(
        tenant_id=tenant_id, dispute_id=dispute_id, evidence_id=evidence_id
    )
    if found is None:
        raise EvidenceNotFound(f"no evidence {evidence_id} on dispute {dispute_id}")
    evidence, content = found
    if hashlib.sha256(content).hexdigest() != evidence.sha256 or len(content) != (
        evidence.size_bytes
    ):
        raise EvidenceCorrupt(
            f"evidence {evidence_id} no longer matches its SHA-256 {evidence.sha256}"
        )
    return evidence, content


# ---- resolution -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Resolved:
    """What resolving did: the dispute as it stands, and the approval request when one was filed."""

    dispute: Dispute
    request: ApprovalRequest | None = None


def _release_all(
    uow: DisputeUnitOfWork,
    *,
    tenant_id: str,
    dispute: Dispute,
    actor: str,
    now: datetime,
    approval_id: str | None,
) -> list[str]:
    released = []
    for hold_id in dispute.hold_ids:
        hold = uow.controls.hold(tenant_id=tenant_id, hold_id=hold_id)
        # A hold someone already released by hand stays released; the rest are released now.
        if hold is not None and hold.is_open:
            release_hold(
                uow=uow,
                tenant_id=tenant_id,
                hold_id=hold_id,
                actor=actor,
                now=now,
                approval_id=approval_id,
            )
            released.append(hold_id)
    return released


def _finish(
    uow: DisputeUnitOfWork,
    *,
    tenant_id: str,
    dispute: Dispute,
    resolution: Resolution,
    now: datetime,
) -> Dispute:
    resolved = replace(
        dispute,
        status=resolution.outcome,
        resolution=resolution,
        resolved_at=now,
        pending_request_id=None,
    )
    if not uow.disputes.update(tenant_id=tenant_id, dispute=resolved):
        raise DisputeAlreadyResolved(f"dispute {dispute.dispute_id} was resolved meanwhile")
    return resolved


def reversal_bound(
    uow: DisputeUnitOfWork, *, tenant_id: str, dispute: Dispute
) -> tuple[int, tuple[str, ...]]:
    """The most a reversal may credit (billed on the contract, and allocated to the disputed
    lines), with the disputed lines' contract ids."""
    revenue = uow.revenue
    contract_id = revenue.contract_of_order(tenant_id=tenant_id, order_id=dispute.order_id)
    stored = (
        None if contract_id is None else revenue.load(tenant_id=tenant_id, contract_id=contract_id)
    )
    if stored is None:
        raise DisputeNothingToReverse(
            f"order {dispute.order_id} has no revenue contract: nothing was billed to reverse"
        )
    state = stored.state
    lines = tuple(
        line
        for line in (contract_line_id(state, dispute.order_id, d) for d in dispute.line_ids)
        if line is not None
    )
    members = [ob for ob in state.obligations if not lines or ob.obligation.line_id in lines]
    carried = sum(ob.allocated_minor for ob in members if ob.active) or sum(
        ob.allocated_minor for ob in members
    )
    return min(state.billed_minor, carried), lines


def _reverse(
    uow: DisputeUnitOfWork,
    *,
    tenant_id: str,
    dispute: Dispute,
    amount_minor: int | None,
    treatment: str,
    now: datetime,
) -> tuple[str, ...]:
    """Post the credit note through the revenue engine; return its journal entries' ids."""
    if treatment not in TREATMENTS:
        raise InvalidDispute(f"treatment must be one of {', '.join(TREATMENTS)}")
    if amount_minor is None or amount_minor <= 0:
        raise DisputeAmountInvalid("an upheld dispute needs a positive amount_minor to reverse")
    bound, lines = reversal_bound(uow, tenant_id=tenant_id, dispute=dispute)
    if bound <= 0:
        raise DisputeNothingToReverse(
            f"nothing was billed on order {dispute.order_id}'s disputed lines: nothing to reverse"
        )
    if amount_minor > bound:
        raise DisputeAmountInvalid(
            f"amount_minor {amount_minor} exceeds {bound}, the most billed and allocated to "
            "the disputed lines"
        )
    # No milestone caused this: the body has no event id, so the entries' audit records carry
    # no cause; the dispute's own `dispute.upheld` record names them.
    ctx = context_for(uow=uow, tenant_id=tenant_id, body={"occurred_at": now.isoformat()}, now=now)
    contract_id = cast(
        str, uow.revenue.contract_of_order(tenant_id=tenant_id, order_id=dispute.order_id)
    )
    stored = uow.revenue.load(tenant_id=tenant_id, contract_id=contract_id)
    assert stored is not None  # reversal_bound found it in this transaction
    fact = IssueCreditNote(
        event_id=f"dispute:{dispute.dispute_id}:upheld",
        occurred_on=ctx.occurred_on,
        amount_minor=amount_minor,
        kind="refund" if treatment == "refund" else "price_concession",
        line_ids=lines,
    )
    try:
        applied = apply_fact(
            state=stored.state, fact=fact, calendar=ctx.calendar, catalogs=ctx.catalogs
        )
    except RevenueError as error:
        raise DisputeAmountInvalid(f"the revenue engine refused the credit note: {error}") from None
    apply_to(ctx, stored, fact)
    return tuple(entry.entry_id for entry in applied.entries)


def _uphold(
    uow: DisputeUnitOfWork,
    *,
    tenant_id: str,
    dispute: Dispute,
    amount_minor: int | None,
    treatment: str,
    note: str,
    actor: str,
    now: datetime,
) -> Dispute:
    entry_ids = _reverse(
        uow,
        tenant_id=tenant_id,
        dispute=dispute,
        amount_minor=amount_minor,
        treatment=treatment,
        now=now,
    )
    released = _release_all(
        uow, tenant_id=tenant_id, dispute=dispute, actor=actor, now=now, approval_id=None
    )
    resolution = Resolution(
        outcome="upheld",
        decided_by=actor,
        note=note,
        amount_minor=amount_minor,
        treatment=treatment,
        entry_ids=entry_ids,
    )
    resolved = _finish(uow, tenant_id=tenant_id, dispute=dispute, resolution=resolution, now=now)
    _audit(
        uow,
        tenant_id=tenant_id,
        kind="dispute.upheld",
        dispute=resolved,
        actor=actor,
        now=now,
        body={
            "amount_minor": amount_minor,
            "treatment": treatment,
            "entry_ids": list(entry_ids),
            "released_hold_ids": released,
            "note": note,
        },
    )
    return resolved


def _evidence_kinds(uow: DisputeUnitOfWork, *, tenant_id: str, dispute_id: str) -> list[str]:
    return [e.kind for e in uow.disputes.evidence(tenant_id=tenant_id, dispute_id=dispute_id)]


def _reason(uow: DisputeUnitOfWork, *, tenant_id: str, dispute: Dispute) -> DisputeReason:
    """The dispute's reason as configured now (a deactivated one still governs its disputes)."""
    every = reasons_of(uow, tenant_id=tenant_id)
    found = next((r for r in every if r.code == dispute.reason_code), None)
    return found or reason_of(list(DEFAULT_REASONS), dispute.reason_code)


def _reinstate(
    uow: DisputeUnitOfWork,
    *,
    tenant_id: str,
    dispute: Dispute,
    note: str,
    decided_by: str,
    requested_by: str | None,
    approval_id: str | None,
    now: datetime,
) -> Dispute:
    released = _release_all(
        uow,
        tenant_id=tenant_id,
        dispute=dispute,
        actor=decided_by,
        now=now,
        approval_id=approval_id,
    )
    resolution = Resolution(
        outcome="rejected",
        decided_by=decided_by,
        note=note,
        requested_by=requested_by,
        approval_id=approval_id,
    )
    resolved = _finish(uow, tenant_id=tenant_id, dispute=dispute, resolution=resolution, now=now)
    evidence = uow.disputes.evidence(tenant_id=tenant_id, dispute_id=dispute.dispute_id)
    _audit(
        uow,
        tenant_id=tenant_id,
        kind="dispute.rejected",
        dispute=resolved,
        actor=decided_by,
        now=now,
        body={
            "decided_by": decided_by,
            "requested_by": requested_by,
            "approval_id": approval_id,
            "released_hold_ids": released,
            "evidence": [
                {"evidence_id": e.evidence_id, "kind": e.kind, "sha256": e.sha256} for e in evidence
            ],
            "note": note,
        },
    )
    return resolved


def resolve_dispute(
    *,
    uow: DisputeUnitOfWork,
    registry: ExecutorRegistry,
    tenant_id: str,
    dispute_id: str,
    outcome: str,
    amount_minor: int | None,
    treatment: str,
    note: str,
    decider: Party,
    decider_roles: Sequence[str],
    now: datetime,
    request_id: str,
) -> Resolved:
    """Uphold (reverse, then release) or reject (reinstate, or request a second person's
    approval when the reason wants one); the caller commits."""
    dispute = _open(uow, tenant_id=tenant_id, dispute_id=dispute_id)
    _check_text("note", note, required=True)
    if outcome == "upheld":
        return Resolved(
            dispute=_uphold(
                uow,
                tenant_id=tenant_id,
                dispute=dispute,
                amount_minor=amount_minor,
                treatment=treatment,
                note=note,
                actor=decider.actor,
                now=now,
            )
        )
    if outcome != "rejected":
        raise InvalidDispute("outcome must be upheld or rejected")
    reason = _reason(uow, tenant_id=tenant_id, dispute=dispute)
    attached = _evidence_kinds(uow, tenant_id=tenant_id, dispute_id=dispute_id)
    require_threshold(reason, attached=attached, decider_roles=decider_roles)
    if not reason.second_approval:
        return Resolved(
            dispute=_reinstate(
                uow,
                tenant_id=tenant_id,
                dispute=dispute,
                note=note,
                decided_by=decider.actor,
                requested_by=None,
                approval_id=None,
                now=now,
            )
        )
    if dispute.pending_request_id is not None:
        pending = uow.approvals.get(tenant_id=tenant_id, request_id=dispute.pending_request_id)
        if pending is not None and pending.status == "requested" and pending.expires_at > now:
            raise DisputeReinstatementPending(
                f"reinstatement of dispute {dispute_id} awaits approval of request "
                f"{pending.request_id}"
            )
    request = request_approval(
        uow=uow,
        registry=registry,
        tenant_id=tenant_id,
        kind=DISPUTE_REINSTATE,
        subject=f"dispute:{dispute_id}",
        payload={"dispute_id": dispute_id, "note": note, "requested_by": decider.actor},
        reason=note,
        requester=decider,
        now=now,
        request_id=request_id,
    )
    waiting = replace(dispute, pending_request_id=request.request_id)
    if not uow.disputes.update(tenant_id=tenant_id, dispute=waiting):
        raise DisputeAlreadyResolved(f"dispute {dispute_id} was resolved meanwhile")
    return Resolved(dispute=waiting, request=request)


def reinstate_executor(
    *,
    uow: Any,
    tenant_id: str,
    payload: Mapping[str, Any],
    actor: str,
    now: datetime,
) -> Mapping[str, Any] | None:
    """The `dispute.reinstate` approval kind: reject the dispute and release its holds, after
    checking again that its evidence threshold is still met."""
    duow = cast(DisputeUnitOfWork, uow)
    dispute = _open(duow, tenant_id=tenant_id, dispute_id=str(payload["dispute_id"]))
    reason = _reason(duow, tenant_id=tenant_id, dispute=dispute)
    found = threshold(
        reason, attached=_evidence_kinds(duow, tenant_id=tenant_id, dispute_id=dispute.dispute_id)
    )
    if not found.evidence_met:
        raise InvalidDispute(f"evidence missing: {', '.join(found.missing_evidence)}")
    resolved = _reinstate(
        duow,
        tenant_id=tenant_id,
        dispute=dispute,
        note=str(payload.get("note") or "reinstated"),
        decided_by=actor,
        requested_by=str(payload.get("requested_by") or "") or None,
        approval_id=str(payload.get("request_id") or "") or None,
        now=now,
    )
    return {"dispute_id": resolved.dispute_id, "status": resolved.status}


def check_reinstate_payload(payload: Mapping[str, Any]) -> None:
    if not isinstance(payload.get("dispute_id"), str):
        raise ValueError('the payload names the dispute: {"dispute_id": "..."}')


def list_disputes(
    *,
    uow: DisputeUnitOfWork,
    tenant_id: str,
    where: DisputeFilter,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[Dispute]:
    """Up to `limit + 1` disputes newest first (the extra one says a next page exists)."""
    bounded = max(1, min(limit, DISPUTES_PAGE_MAX))
    return uow.disputes.page(tenant_id=tenant_id, where=where, after=after, limit=bounded + 1)


# ---- documents: what the API and the CLI show -------------------------------------------


def evidence_document(e: Evidence) -> dict[str, Any]:
    return {
        "evidence_id": e.evidence_id,
        "kind": e.kind,
        "filename": e.filename,
        "media_type": e.media_type,
        "size_bytes": e.size_bytes,
        "sha256": e.sha256,
        "attached_by": e.attached_by,
        "attached_at": e.attached_at.isoformat(),
        "note": e.note,
    }


def dispute_document(d: Dispute, evidence: list[Evidence] | None = None) -> dict[str, Any]:
    r = d.resolution
    doc: dict[str, Any] = {
        "dispute_id": d.dispute_id,
        "order_id": d.order_id,
        "line_ids": list(d.line_ids),
        "reason_code": d.reason_code,
        "description": d.description,
        "external_ref": d.external_ref,
        "channel": d.channel,
        "status": d.status,
        "opened_by": d.opened_by,
        "opened_at": d.opened_at.isoformat(),
        "hold_ids": list(d.hold_ids),
        "pending_request_id": d.pending_request_id,
        "resolved_at": None if d.resolved_at is None else d.resolved_at.isoformat(),
        "resolution": None
        if r is None
        else {
            "outcome": r.outcome,
            "decided_by": r.decided_by,
            "requested_by": r.requested_by,
            "approval_id": r.approval_id,
            "note": r.note,
            "amount_minor": r.amount_minor,
            "treatment": r.treatment,
            "entry_ids": list(r.entry_ids),
        },
    }
    if evidence is not None:
        doc["evidence"] = [evidence_document(e) for e in evidence]
    return doc


def reason_document(r: DisputeReason) -> dict[str, Any]:
    return {
        "code": r.code,
        "description": r.description,
        "required_evidence": list(r.required_evidence),
        "signer_role": r.signer_role,
        "second_approval": r.second_approval,
        "active": r.active,
    }


UowFactory = Callable[[], Any]


@dataclass(frozen=True, slots=True)
class Disputes:
    """The dispute use cases, each in its own committed unit of work (API, CLI, webhook)."""

    uow_factory: UowFactory
    registry: ExecutorRegistry
    new_id: Callable[[], str]

    def open(
        self,
        *,
        tenant_id: str,
        order_id: str,
        line_ids: Sequence[str],
        reason_code: str,
        description: str,
        external_ref: str | None,
        channel: str,
        actor: str,
        now: datetime,
    ) -> tuple[Dispute, bool]:
        with self.uow_factory() as uow:
            opened = open_dispute(
                uow=uow,
                tenant_id=tenant_id,
                dispute_id=f"dsp-{self.new_id()}",
                order_id=order_id,
                line_ids=line_ids,
                reason_code=reason_code,
                description=description,
                external_ref=external_ref,
                channel=channel,
                actor=actor,
                now=now,
            )
            uow.commit()
        return opened

    def get(self, *, tenant_id: str, dispute_id: str) -> tuple[Dispute, list[Evidence]]:
        with self.uow_factory() as uow:
            dispute = _dispute(uow, tenant_id=tenant_id, dispute_id=dispute_id)
            return dispute, uow.disputes.evidence(tenant_id=tenant_id, dispute_id=dispute_id)

    def page(
        self,
        *,
        tenant_id: str,
        where: DisputeFilter,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[Dispute]:
        with self.uow_factory() as uow:
            return list_disputes(
                uow=uow, tenant_id=tenant_id, where=where, after=after, limit=limit
            )

    def attach(
        self,
        *,
        tenant_id: str,
        dispute_id: str,
        kind: str,
        filename: str,
        media_type: str,
        content: bytes,
        note: str,
        actor: str,
        now: datetime,
    ) -> Evidence:
        with self.uow_factory() as uow:
            evidence = attach_evidence(
                uow=uow,
                tenant_id=tenant_id,
                dispute_id=dispute_id,
                evidence_id=f"evd-{self.new_id()}",
                kind=kind,
                filename=filename,
                media_type=media_type,
                content=content,
                note=note,
                actor=actor,
                now=now,
            )
            uow.commit()
        return evidence

    def document(
        self, *, tenant_id: str, dispute_id: str, evidence_id: str
    ) -> tuple[Evidence, bytes]:
        with self.uow_factory() as uow:
            return read_document(
                uow, tenant_id=tenant_id, dispute_id=dispute_id, evidence_id=evidence_id
            )

    def resolve(
        self,
        *,
        tenant_id: str,
        dispute_id: str,
        outcome: str,
        amount_minor: int | None,
        treatment: str,
        note: str,
        decider: Party,
        decider_roles: Sequence[str],
        now: datetime,
    ) -> Resolved:
        with self.uow_factory() as uow:
            resolved = resolve_dispute(
                uow=uow,
                registry=self.registry,
                tenant_id=tenant_id,
                dispute_id=dispute_id,
                outcome=outcome,
                amount_minor=amount_minor,
                treatment=treatment,
                note=note,
                decider=decider,
                decider_roles=decider_roles,
                now=now,
                request_id=self.new_id(),
            )
            uow.commit()
        return resolved

    def reasons(self, *, tenant_id: str) -> list[DisputeReason]:
        with self.uow_factory() as uow:
            return reasons_of(uow, tenant_id=tenant_id)

    def set_reason(
        self,
        *,
        tenant_id: str,
        reason: DisputeReason,
        roles: Sequence[str],
        actor: str,
        now: datetime,
    ) -> DisputeReason:
        """Add or change a reason; the first change copies the defaults so none vanish."""
        check_reason(reason, roles=roles)
        with self.uow_factory() as uow:
            if not uow.disputes.reasons(tenant_id=tenant_id):
                for default in DEFAULT_REASONS:
                    uow.disputes.save_reason(
                        tenant_id=tenant_id, reason=default, actor=actor, now=now
                    )
            uow.disputes.save_reason(tenant_id=tenant_id, reason=reason, actor=actor, now=now)
            uow.commit()
        return reason

    def set_webhook_secret(
        self, *, tenant_id: str, secret: str, actor: str, now: datetime
    ) -> WebhookSecret:
        """Set or rotate the tenant's service-desk secret; the URL token survives rotation."""
        if not secret or len(secret) > SECRET_CHARS_MAX or secret != secret.strip():
            raise InvalidDispute(
                f"the secret must be 1 to {SECRET_CHARS_MAX} characters without surrounding spaces"
            )
        with self.uow_factory() as uow:
            current = uow.disputes.webhook_of(tenant_id=tenant_id)
            stored = WebhookSecret(
                tenant_id=tenant_id,
                token=current.token if current is not None else secrets.token_urlsafe(24),
                secret=secret,
                updated_at=now,
                updated_by=actor,
            )
            uow.disputes.put_webhook(secret=stored)
            uow.commit()
        return stored

    def delete_webhook_secret(self, *, tenant_id: str) -> bool:
        with self.uow_factory() as uow:
            removed: bool = uow.disputes.delete_webhook(tenant_id=tenant_id)
            uow.commit()
        return removed

    def authenticate_webhook(
        self, *, token: str, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> str:
        """The tenant whose secret signed `body` (fails closed: no secret, no tenant)."""
        with self.uow_factory() as uow:
            found = uow.disputes.webhook(token=token)
        verify_signature(
            secret=None if found is None else found.secret, headers=headers, body=body, now=now
        )
        assert found is not None  # verify_signature refuses a missing secret
        tenant_id: str = found.tenant_id
        return tenant_id
