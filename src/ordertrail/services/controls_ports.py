"""Ports of the revenue controls: holds, rule versions, the gate's per-order state, decisions.

All writes happen in the caller's unit of work (`uow.controls`), so a hold, a decision or a rule
approval commits or rolls back with the recognition it governs and its audit record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from ordertrail.domain.controls.amendments import AmendmentThreshold
from ordertrail.domain.controls.holds import Hold
from ordertrail.domain.controls.rules import Rule
from ordertrail.services.audit_ports import AuditLog
from ordertrail.services.revenue_ports import RevenueUnitOfWork

HOLDS_PAGE_MAX = 1_000
DECISIONS_PAGE_MAX = 500
PENDING_BATCH_MAX = 500


@dataclass(frozen=True, slots=True)
class StoredRule:
    """A rule version and where it stands: proposed, active (approved), rejected, superseded."""

    rule: Rule
    status: str
    proposed_by: str
    proposed_at: datetime
    request_id: str | None = None
    approved_by: str | None = None
    approved_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """One recognition decision for one obligation: the rule version, the facts, the outcome."""

    order_id: str
    contract_id: str
    obligation_id: str
    line_id: str
    outcome: str
    reason: str
    facts: Mapping[str, Any]
    counts: Mapping[str, int]
    decided_at: datetime
    cause: str | None
    rule_id: str | None = None
    rule_version: int | None = None
    fallback: bool = False
    seq: int = 0


@dataclass(frozen=True, slots=True)
class GateOrder:
    """What the gate knows of one order: the latest milestone body (full cumulative counts),
    the facts gathered from every milestone, and the counts each line was released at."""

    order_id: str
    body: Mapping[str, Any]
    facts: Mapping[str, Any]
    released: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    fallback_lines: tuple[str, ...] = ()
    escalated_lines: tuple[str, ...] = ()
    pending: bool = False
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ParkedAmendment:
    """An `order.amended` milestone waiting for an approved `amendment.post` request."""

    event_id: str
    order_id: str
    body: Mapping[str, Any]
    currency: str
    impact_minor: int
    request_id: str
    parked_at: datetime
    posted_at: datetime | None = None


class AmendmentStore(Protocol):
    def threshold(self, *, tenant_id: str, currency: str) -> AmendmentThreshold | None: ...

    def put_threshold(
        self, *, tenant_id: str, threshold: AmendmentThreshold, actor: str, now: datetime
    ) -> None: ...

    def park(self, *, tenant_id: str, parked: ParkedAmendment) -> None: ...

    def parked(self, *, tenant_id: str, event_id: str) -> ParkedAmendment | None: ...

    def mark_posted(self, *, tenant_id: str, event_id: str, now: datetime) -> None: ...


class ControlsStore(AmendmentStore, Protocol):
    def add_hold(self, *, tenant_id: str, hold: Hold) -> None: ...

    def hold(self, *, tenant_id: str, hold_id: str) -> Hold | None: ...

    def save_release(self, *, tenant_id: str, hold: Hold) -> None:
        """Record a hold's release (released_by/at, approval id) on its row."""
        ...

    def holds(
        self,
        *,
        tenant_id: str,
        order_id: str | None = None,
        open_only: bool = False,
        limit: int = HOLDS_PAGE_MAX,
    ) -> list[Hold]:
        """Holds, oldest first, at most `limit`."""
        ...

    def gate_order(self, *, tenant_id: str, order_id: str) -> GateOrder | None: ...

    def save_gate_order(self, *, tenant_id: str, gate: GateOrder) -> None: ...

    def pending_orders(self, *, limit: int = PENDING_BATCH_MAX) -> list[tuple[str, str]]:
        """(tenant, order) pairs with a line the gate still holds back, least recently judged
        first (each run updates the ones it judged, so a long backlog rotates), at most `limit`."""
        ...

    def add_rule(self, *, tenant_id: str, stored: StoredRule) -> None: ...

    def rules(self, *, tenant_id: str, rule_id: str | None = None) -> list[StoredRule]:
        """Every version of the tenant's rules (or one rule's), by rule id then version."""
        ...

    def set_rule_status(
        self,
        *,
        tenant_id: str,
        rule_id: str,
        version: int,
        status: str,
        approved_by: str | None = None,
        approved_at: datetime | None = None,
    ) -> None: ...

    def add_decisions(self, *, tenant_id: str, decisions: Sequence[Decision]) -> None: ...

    def decisions(
        self,
        *,
        tenant_id: str,
        contract_id: str | None = None,
        obligation_id: str | None = None,
        order_id: str | None = None,
        fallback_only: bool = False,
        limit: int = DECISIONS_PAGE_MAX,
    ) -> list[Decision]:
        """Decisions, newest first, at most `limit`."""
        ...


class ControlsUnitOfWork(RevenueUnitOfWork, Protocol):
    """A revenue unit of work with the controls' stores and the audit log."""

    controls: ControlsStore
    audit: AuditLog
