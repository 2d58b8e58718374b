"""Ports of dual approval: the requests a second person decides, stored in the caller's transaction.

A request is written when it is made and updated once, when it is decided (approved, rejected,
expired or failed). The decision is a conditional update on the status still being `requested`,
so two approvers racing on one request cannot both win: the loser's unit of work sees `False`
and rolls back, executor effects included.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from ordertrail.services.audit_ports import AuditLog

ApprovalStatus = Literal["requested", "approved", "rejected", "expired", "failed"]
STATUSES: tuple[ApprovalStatus, ...] = ("requested", "approved", "rejected", "expired", "failed")

APPROVALS_PAGE_MAX = 500
"""The most requests one listing returns."""


@dataclass(frozen=True, slots=True)
class ApprovalRequest:
    """One request for a change that takes effect only when another person approves it."""

    request_id: str
    tenant_id: str
    kind: str
    """What is asked, e.g. recognize_now, hold.release, modification.treatment."""
    subject: str
    """What it is about, e.g. "order:SO-1" or "contract:ctr-1/v2"."""
    payload: Mapping[str, Any]
    """The executor's arguments, JSON-able; fixed when requested, so the approver sees them."""
    reason: str
    requester: str
    """The requesting API key ("key:<id>") or "system:<component>"."""
    requester_owner: str | None
    """The person behind the requesting key, when the key names one."""
    requested_at: datetime
    expires_at: datetime
    status: ApprovalStatus = "requested"
    decided_by: str | None = None
    decided_by_owner: str | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None
    result: Mapping[str, Any] | None = None
    """What the executor reported on approval, or {"error": ...} when it failed."""


@dataclass(frozen=True, slots=True)
class ApprovalFilter:
    """Which requests a listing returns; None means any."""

    status: ApprovalStatus | None = None
    kind: str | None = None
    subject: str | None = None
    requester: str | None = None


class ApprovalStore(Protocol):
    """Approval requests of every tenant, read and written in the unit of work's transaction."""

    def add(self, *, request: ApprovalRequest) -> None:
        """Store a new request (its id is unique per tenant)."""
        ...

    def get(self, *, tenant_id: str, request_id: str) -> ApprovalRequest | None: ...

    def decide(self, *, request: ApprovalRequest) -> bool:
        """Store the decided `request` if the stored one is still open; say whether it was."""
        ...

    def page(
        self,
        *,
        tenant_id: str,
        where: ApprovalFilter,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[ApprovalRequest]:
        """Requests newest first (requested_at, then id, descending), after the cursor."""
        ...

    def due(self, *, tenant_id: str | None, now: datetime, limit: int) -> list[ApprovalRequest]:
        """Open requests whose expiry is at or before `now`, oldest expiry first."""
        ...


class ApprovalUnitOfWork(Protocol):
    """What the approval service needs of a unit of work."""

    approvals: ApprovalStore
    audit: AuditLog

    def commit(self) -> None: ...
