"""Dual approval: one person requests a change with a reason, another with the right role approves.

Manual overrides (recognize now, defer, release a hold, another treatment for a modification, a
rule change, an amendment over the threshold) never take effect when asked: the request is stored
and its kind's executor runs only when a different person holding the kind's required role
approves it, in the approver's transaction. Both steps are appended to the audit chain.

Self-approval is refused by key and by person: the same key id, or two keys with the same
`owner`, count as one requester. Requests expire (`expire_due`, scheduled by `ordertrail serve`);
an expired or decided request cannot be approved.

When an executor raises, nothing it did is kept (its transaction rolls back) and the request is
marked `failed` with the error in a second transaction (`Approvals.approve`): the approver decided
on a state of the books that no longer holds, so a fresh request, made against the books as they
are now, is the honest way forward rather than a silent retry of the same approval.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from ordertrail.services.approval_ports import (
    APPROVALS_PAGE_MAX,
    ApprovalFilter,
    ApprovalRequest,
    ApprovalUnitOfWork,
)
from ordertrail.services.audit_ports import AuditRecord
from ordertrail.services.keys import Principal

DEFAULT_TTL = timedelta(days=3)
"""How long a request waits for a decision unless it names its own expiry."""
MAX_TTL = timedelta(days=30)
"""The longest a request may wait: an approval should judge the books as they are now."""
REASON_MAX = 500
EXPIRE_BATCH_MAX = 1_000


class ApprovalError(Exception):
    """An approval operation could not be done; the message says why in a sentence."""

    code = "approval_invalid"


class UnknownKind(ApprovalError):
    code = "unknown_approval_kind"


class InvalidApprovalRequest(ApprovalError):
    code = "invalid_approval_request"


class ApprovalNotFound(ApprovalError):
    code = "approval_not_found"


class SelfApproval(ApprovalError):
    code = "self_approval"


class ApprovalRoleMissing(ApprovalError):
    code = "approval_role_missing"


class ApprovalClosed(ApprovalError):
    """Already decided, or expired (even if the expiry job has not marked it yet)."""

    code = "approval_closed"


class ApprovalFailed(ApprovalError):
    """The executor raised: the request is marked failed and nothing it did was kept."""

    code = "approval_failed"

    def __init__(self, message: str, *, error: str) -> None:
        super().__init__(message)
        self.error = error


class Executor(Protocol):
    """Apply an approved request's payload in the approver's transaction.

    Returns a JSON-able summary of what it did (stored as the request's result), or None.
    Raises to refuse; the whole transaction is then rolled back.
    """

    def __call__(
        self,
        *,
        uow: Any,
        tenant_id: str,
        payload: Mapping[str, Any],
        actor: str,
        now: datetime,
    ) -> Mapping[str, Any] | None: ...


PayloadCheck = Callable[[Mapping[str, Any]], None]
"""Validate a payload when requested (raise ValueError with a sentence): bad ones fail early."""


@dataclass(frozen=True, slots=True)
class KindEntry:
    kind: str
    required_role: str
    executor: Executor
    check: PayloadCheck | None = None


@dataclass(slots=True)
class ExecutorRegistry:
    """The kinds a tenant may request, each with the role its approver needs and its executor.

    Filled by bootstrap (and by tests with their own executors); one per application, never global.
    """

    entries: dict[str, KindEntry] = field(default_factory=dict)

    def register_executor(
        self,
        kind: str,
        required_role: str,
        executor: Executor,
        *,
        check: PayloadCheck | None = None,
    ) -> None:
        """Register (or replace) `kind`'s executor, approvable by holders of `required_role`."""
        self.entries[kind] = KindEntry(
            kind=kind, required_role=required_role, executor=executor, check=check
        )

    def entry(self, kind: str) -> KindEntry:
        found = self.entries.get(kind)
        if found is None:
            known = ", ".join(sorted(self.entries)) or "(none registered)"
            raise UnknownKind(f"unknown approval kind {kind!r}; choose from {known}")
        return found

    def kinds(self) -> list[KindEntry]:
        return [self.entries[kind] for kind in sorted(self.entries)]


@dataclass(frozen=True, slots=True)
class Party:
    """Who requests or decides: an actor id and, when known, the person behind it."""

    actor: str
    owner: str | None = None

    @classmethod
    def of(cls, principal: Principal) -> Party:
        return cls(actor=principal.actor, owner=principal.owner)


def _same_person(request: ApprovalRequest, approver: Party) -> bool:
    if request.requester == approver.actor:
        return True
    owner = (approver.owner or "").strip().casefold()
    return bool(owner) and owner == (request.requester_owner or "").strip().casefold()


def _audit(
    uow: ApprovalUnitOfWork,
    request: ApprovalRequest,
    *,
    kind: str,
    actor: str,
    now: datetime,
    body: Mapping[str, Any],
) -> None:
    record = AuditRecord(
        kind=kind,
        subject=f"request:{request.request_id}",
        actor=actor,
        cause=None,
        body={"kind": request.kind, "subject": request.subject, **body},
        occurred_at=now,
    )
    uow.audit.append(tenant_id=request.tenant_id, records=[record])


def request_approval(
    *,
    uow: ApprovalUnitOfWork,
    registry: ExecutorRegistry,
    tenant_id: str,
    kind: str,
    subject: str,
    payload: Mapping[str, Any],
    reason: str,
    requester: Party,
    now: datetime,
    expires_at: datetime | None = None,
    request_id: str | None = None,
) -> ApprovalRequest:
    """Store a request for `kind` and audit it; nothing happens until another person approves."""
    entry = registry.entry(kind)
    if not reason.strip() or len(reason) > REASON_MAX:
        raise InvalidApprovalRequest(f"a reason of 1 to {REASON_MAX} characters is required")
    if not subject.strip() or len(subject) > 300:
        raise InvalidApprovalRequest("a subject of 1 to 300 characters is required")
    expires = expires_at or now + DEFAULT_TTL
    if not now < expires <= now + MAX_TTL:
        raise InvalidApprovalRequest(
            f"expires_at must be after now and at most {MAX_TTL.days} days ahead"
        )
    if entry.check is not None:
        try:
            entry.check(payload)
        except ValueError as error:
            raise InvalidApprovalRequest(f"{kind}: {error}") from None
    request = ApprovalRequest(
        request_id=request_id or uuid.uuid4().hex,
        tenant_id=tenant_id,
        kind=kind,
        subject=subject,
        payload=dict(payload),
        reason=reason,
        requester=requester.actor,
        requester_owner=requester.owner,
        requested_at=now,
        expires_at=expires,
    )
    uow.approvals.add(request=request)
    _audit(
        uow,
        request,
        kind="approval.requested",
        actor=requester.actor,
        now=now,
        body={
            "payload": dict(payload),
            "reason": reason,
            "expires_at": expires.isoformat(),
            "requester_owner": requester.owner,
        },
    )
    return request


def _open_request(
    uow: ApprovalUnitOfWork, *, tenant_id: str, request_id: str, now: datetime
) -> ApprovalRequest:
    request = uow.approvals.get(tenant_id=tenant_id, request_id=request_id)
    if request is None:
        raise ApprovalNotFound(f"no approval request {request_id} for your tenant")
    if request.status != "requested":
        raise ApprovalClosed(f"request {request_id} is already {request.status}")
    if request.expires_at <= now:
        raise ApprovalClosed(f"request {request_id} expired at {request.expires_at.isoformat()}")
    return request


def _decide(uow: ApprovalUnitOfWork, decided: ApprovalRequest) -> None:
    if not uow.approvals.decide(request=decided):
        raise ApprovalClosed(f"request {decided.request_id} was decided by someone else meanwhile")


def approve(
    *,
    uow: ApprovalUnitOfWork,
    registry: ExecutorRegistry,
    tenant_id: str,
    request_id: str,
    approver: Party,
    approver_roles: tuple[str, ...],
    now: datetime,
    note: str | None = None,
) -> ApprovalRequest:
    """Approve a request and run its executor in this transaction; the caller commits.

    Refuses self-approval (same key or same owner), closed and expired requests, and approvers
    without the kind's role. An executor error propagates as `ApprovalFailed`: roll back, then
    `record_failure` in a new transaction.
    """
    request = _open_request(uow, tenant_id=tenant_id, request_id=request_id, now=now)
    if _same_person(request, approver):
        raise SelfApproval(
            f"request {request_id} must be approved by someone other than its requester"
        )
    entry = registry.entry(request.kind)
    if entry.required_role not in approver_roles:
        raise ApprovalRoleMissing(f"approving {request.kind} needs the role {entry.required_role}")
    try:
        # The request's id rides along so an executor can link what it did to the approval.
        result = entry.executor(
            uow=uow,
            tenant_id=tenant_id,
            payload={**request.payload, "request_id": request.request_id},
            actor=approver.actor,
            now=now,
        )
    except Exception as error:  # Any refusal fails the request: see the module doc.
        raise ApprovalFailed(
            f"request {request_id} could not be applied: {error}", error=f"{error}"
        ) from error
    decided = replace(
        request,
        status="approved",
        decided_by=approver.actor,
        decided_by_owner=approver.owner,
        decided_at=now,
        decision_note=note,
        result=dict(result or {}),
    )
    _decide(uow, decided)
    body = {"requester": request.requester, "note": note, "result": dict(result or {})}
    _audit(uow, decided, kind="approval.approved", actor=approver.actor, now=now, body=body)
    _audit(
        uow,
        decided,
        kind="override.applied",
        actor=approver.actor,
        now=now,
        body={"payload": dict(request.payload), "requester": request.requester},
    )
    return decided


def record_failure(
    *,
    uow: ApprovalUnitOfWork,
    tenant_id: str,
    request_id: str,
    approver: Party,
    error: str,
    now: datetime,
) -> ApprovalRequest | None:
    """Mark an open request failed after its executor raised; None if it is no longer open."""
    request = uow.approvals.get(tenant_id=tenant_id, request_id=request_id)
    if request is None or request.status != "requested":
        return None
    failed = replace(
        request,
        status="failed",
        decided_by=approver.actor,
        decided_by_owner=approver.owner,
        decided_at=now,
        result={"error": error[:2000]},
    )
    if not uow.approvals.decide(request=failed):
        return None
    _audit(
        uow,
        failed,
        kind="approval.failed",
        actor=approver.actor,
        now=now,
        body={"error": error[:2000]},
    )
    return failed


def reject(
    *,
    uow: ApprovalUnitOfWork,
    tenant_id: str,
    request_id: str,
    decider: Party,
    now: datetime,
    note: str | None = None,
) -> ApprovalRequest:
    """Reject an open request; its requester may withdraw it the same way (recorded as theirs)."""
    request = _open_request(uow, tenant_id=tenant_id, request_id=request_id, now=now)
    decided = replace(
        request,
        status="rejected",
        decided_by=decider.actor,
        decided_by_owner=decider.owner,
        decided_at=now,
        decision_note=note,
    )
    _decide(uow, decided)
    _audit(
        uow, decided, kind="approval.rejected", actor=decider.actor, now=now, body={"note": note}
    )
    return decided


def expire_due(
    *,
    uow: ApprovalUnitOfWork,
    now: datetime,
    tenant_id: str | None = None,
    limit: int = EXPIRE_BATCH_MAX,
) -> list[ApprovalRequest]:
    """Mark open requests past their expiry as expired (at most `limit`); the caller commits."""
    expired: list[ApprovalRequest] = []
    for request in uow.approvals.due(tenant_id=tenant_id, now=now, limit=limit):
        decided = replace(request, status="expired", decided_by="system:approvals", decided_at=now)
        if uow.approvals.decide(request=decided):
            _audit(
                uow,
                decided,
                kind="approval.expired",
                actor="system:approvals",
                now=now,
                body={"expires_at": request.expires_at.isoformat()},
            )
            expired.append(decided)
    return expired


def list_requests(
    *,
    uow: ApprovalUnitOfWork,
    tenant_id: str,
    where: ApprovalFilter,
    after: tuple[datetime, str] | None = None,
    limit: int = 50,
) -> list[ApprovalRequest]:
    """Up to `limit + 1` requests newest first (the extra one says a next page exists)."""
    bounded = max(1, min(limit, APPROVALS_PAGE_MAX))
    return uow.approvals.page(tenant_id=tenant_id, where=where, after=after, limit=bounded + 1)


@dataclass(slots=True)
class Approvals:
    """The approval use cases, each in its own committed unit of work (API, CLI, scheduler)."""

    uow_factory: Callable[[], Any]
    registry: ExecutorRegistry
    new_id: Callable[[], str]

    def request(
        self,
        *,
        tenant_id: str,
        kind: str,
        subject: str,
        payload: Mapping[str, Any],
        reason: str,
        requester: Party,
        now: datetime,
        expires_at: datetime | None = None,
    ) -> ApprovalRequest:
        with self.uow_factory() as uow:
            request = request_approval(
                uow=uow,
                registry=self.registry,
                tenant_id=tenant_id,
                kind=kind,
                subject=subject,
                payload=payload,
                reason=reason,
                requester=requester,
                now=now,
                expires_at=expires_at,
                request_id=self.new_id(),
            )
            uow.commit()
        return request

    def approve(
        self,
        *,
        tenant_id: str,
        request_id: str,
        approver: Party,
        approver_roles: tuple[str, ...],
        now: datetime,
        note: str | None = None,
    ) -> ApprovalRequest:
        """Approve and apply; on an executor error mark the request failed and raise."""
        try:
            with self.uow_factory() as uow:
                decided = approve(
                    uow=uow,
                    registry=self.registry,
                    tenant_id=tenant_id,
                    request_id=request_id,
                    approver=approver,
                    approver_roles=approver_roles,
                    now=now,
                    note=note,
                )
                uow.commit()
            return decided
        except ApprovalFailed as failure:
            with self.uow_factory() as uow:
                record_failure(
                    uow=uow,
                    tenant_id=tenant_id,
                    request_id=request_id,
                    approver=approver,
                    error=failure.error,
                    now=now,
                )
                uow.commit()
            raise

    def reject(
        self,
        *,
        tenant_id: str,
        request_id: str,
        decider: Party,
        now: datetime,
        note: str | None = None,
    ) -> ApprovalRequest:
        with self.uow_factory() as uow:
            decided = reject(
                uow=uow,
                tenant_id=tenant_id,
                request_id=request_id,
                decider=decider,
                now=now,
                note=note,
            )
            uow.commit()
        return decided

    def expire_due(self, *, now: datetime, tenant_id: str | None = None) -> list[ApprovalRequest]:
        with self.uow_factory() as uow:
            expired = expire_due(uow=uow, now=now, tenant_id=tenant_id)
            uow.commit()
        return expired

    def get(self, *, tenant_id: str, request_id: str) -> ApprovalRequest:
        with self.uow_factory() as uow:
            request: ApprovalRequest | None = uow.approvals.get(
                tenant_id=tenant_id, request_id=request_id
            )
        if request is None:
            raise ApprovalNotFound(f"no approval request {request_id} for your tenant")
        return request

    def find(
        self,
        *,
        tenant_id: str,
        where: ApprovalFilter,
        after: tuple[datetime, str] | None = None,
        limit: int = 50,
    ) -> list[ApprovalRequest]:
        with self.uow_factory() as uow:
            found: list[ApprovalRequest] = list_requests(
                uow=uow, tenant_id=tenant_id, where=where, after=after, limit=limit
            )
        return found
