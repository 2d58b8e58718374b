"""Ports of disputes: the disputes, their lines and evidence, reason thresholds, webhook secrets.

Writes go through `uow.disputes` so a dispute, its holds and its audit records commit together.
Evidence is append-only: a document once attached is never changed, only added to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ordertrail.domain.disputes import DisputeReason, Resolution
from ordertrail.services.approval_ports import ApprovalStore
from ordertrail.services.audit_ports import AuditLog
from ordertrail.services.controls_ports import ControlsUnitOfWork

DISPUTES_PAGE_MAX = 500


@dataclass(frozen=True, slots=True)
class Dispute:
    """A customer's dispute of an order (or some of its lines), open until resolved."""

    dispute_id: str
    order_id: str
    line_ids: tuple[str, ...]
    """Empty: the whole order is disputed."""
    reason_code: str
    description: str
    external_ref: str | None
    channel: str
    """api or webhook."""
    opened_by: str
    opened_at: datetime
    hold_ids: tuple[str, ...]
    status: str = "open"
    """open, upheld or rejected."""
    pending_request_id: str | None = None
    """A `dispute.reinstate` approval request waiting for its second person."""
    resolution: Resolution | None = None
    resolved_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Evidence:
    """A document attached to a dispute, with the SHA-256 taken when it arrived."""

    evidence_id: str
    dispute_id: str
    kind: str
    filename: str
    media_type: str
    size_bytes: int
    sha256: str
    attached_by: str
    attached_at: datetime
    note: str = ""


@dataclass(frozen=True, slots=True)
class DisputeFilter:
    status: str | None = None
    order_id: str | None = None
    reason_code: str | None = None


@dataclass(frozen=True, slots=True)
class WebhookSecret:
    tenant_id: str
    token: str
    secret: str
    updated_at: datetime
    updated_by: str


class DisputeStore(Protocol):
    def add(self, *, tenant_id: str, dispute: Dispute) -> None: ...

    def get(self, *, tenant_id: str, dispute_id: str) -> Dispute | None: ...

    def by_external_ref(self, *, tenant_id: str, external_ref: str) -> Dispute | None: ...

    def update(self, *, tenant_id: str, dispute: Dispute) -> bool:
        """Save the status, pending request and resolution of a dispute that is still open;
        False when it was resolved meanwhile (nothing written)."""
        ...

    def page(
        self,
        *,
        tenant_id: str,
        where: DisputeFilter,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[Dispute]:
        """Newest first by (opened_at, dispute_id), strictly after the cursor."""
        ...

    def add_evidence(self, *, tenant_id: str, evidence: Evidence, content: bytes) -> None: ...

    def evidence(self, *, tenant_id: str, dispute_id: str) -> list[Evidence]: ...

    def document(
        self, *, tenant_id: str, dispute_id: str, evidence_id: str
    ) -> tuple[Evidence, bytes] | None: ...

    def reasons(self, *, tenant_id: str) -> list[DisputeReason]:
        """The tenant's configured reasons (empty when it configured none)."""
        ...

    def save_reason(
        self, *, tenant_id: str, reason: DisputeReason, actor: str, now: datetime
    ) -> None: ...

    def webhook(self, *, token: str) -> WebhookSecret | None: ...

    def webhook_of(self, *, tenant_id: str) -> WebhookSecret | None: ...

    def put_webhook(self, *, secret: WebhookSecret) -> None: ...

    def delete_webhook(self, *, tenant_id: str) -> bool: ...


class DisputeUnitOfWork(ControlsUnitOfWork, Protocol):
    disputes: DisputeStore
    audit: AuditLog
    approvals: ApprovalStore


def ids(items: Sequence[str]) -> tuple[str, ...]:
    """Order-preserving de-duplication of line ids as a client may repeat them."""
    return tuple(dict.fromkeys(items))
