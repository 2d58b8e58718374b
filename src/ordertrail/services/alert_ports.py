"""The ports monitoring needs: alert storage, the set-based stagnation queries, configuration,
completion counts and notification sinks. Adapters implement them (SQL, SMTP, HTTP, logging).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from ordertrail.domain.monitoring.alerts import Alert, AlertKind, AlertState
from ordertrail.domain.monitoring.escalation import EscalationLevel
from ordertrail.domain.monitoring.rules import Severity, StagnationRule, SubjectType
from ordertrail.services.ports import Page


@dataclass(frozen=True, slots=True)
class Cutoffs:
    """Per key (a status, or an escalation level), the latest time that already counts.

    A subject whose last update is at or before its key's cutoff is past the threshold. `None`
    means the key is not watched. Tenant entries win over the defaults; with `replace_whole`, a
    tenant that has entries uses only its own (an escalation path is replaced as a whole).
    """

    default: Mapping[str, datetime | None]
    by_tenant: Mapping[str, Mapping[str, datetime | None]] = field(default_factory=dict)
    replace_whole: bool = False


@dataclass(frozen=True, slots=True)
class StagnantSubject:
    """A shipment or order past its status's threshold, with no unresolved alert yet."""

    tenant_id: str
    subject: str
    status: str
    since: datetime
    details: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class NewAlert:
    tenant_id: str
    kind: AlertKind
    subject: str
    severity: Severity
    summary: str
    details: Mapping[str, Any]
    opened_at: datetime


@dataclass(frozen=True, slots=True)
class PendingNotification:
    """An open alert that reached escalation levels nobody has been told about yet."""

    alert: Alert
    notified_level: int


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """What one sink did with one notification."""

    sink: str
    sent: bool
    attempts: int = 1
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Notification:
    """One alert announced to one escalation level's target."""

    notification_id: str  # stable per alert and level: receivers de-duplicate on it
    event: str  # raised | escalated
    alert: Alert
    level: EscalationLevel
    sent_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "notification_id": self.notification_id,
            "event": self.event,
            "level": self.level.level,
            "target_role": self.level.target_role,
            "sent_at": self.sent_at.isoformat(),
            "alert": self.alert.as_dict(),
        }


@dataclass(frozen=True, slots=True)
class CompletionCount:
    """Shipments of one tenant's carrier due in one hour, and how many were on time."""

    tenant_id: str
    carrier: str
    hour_start: datetime
    due: int
    on_time: int


class Sink(Protocol):
    name: str

    def send(self, *, notification: Notification) -> DeliveryResult | None:
        """Deliver the notification (retrying as the sink sees fit); never raise for a failure.

        None when the sink has nothing to do for it (an email level without recipients).
        """
        ...


class StagnationQueries(Protocol):
    def stagnant(
        self, *, subject_type: SubjectType, cutoffs: Cutoffs, limit: int
    ) -> list[StagnantSubject]:
        """Subjects past their cutoff that have no unresolved alert of their kind."""
        ...

    def resolve_cleared(
        self, *, subject_type: SubjectType, cutoffs: Cutoffs, actor: str, now: datetime
    ) -> int:
        """Resolve the unresolved alerts of that kind whose subject is no longer past its cutoff."""
        ...


class AlertStore(Protocol):
    def insert(self, *, items: Sequence[NewAlert]) -> list[NewAlert]:
        """Insert the alerts whose subject has no unresolved alert; return those inserted."""
        ...

    def get(self, *, tenant_id: str, alert_id: int) -> Alert | None: ...

    def change_state(
        self,
        *,
        tenant_id: str,
        alert_id: int,
        expected: AlertState,
        wanted: AlertState,
        actor: str,
        at: datetime,
    ) -> bool:
        """Move the alert from `expected` to `wanted`; False when it was no longer `expected`."""
        ...

    def resolve_subject(
        self, *, tenant_id: str, kind: AlertKind, subject: str, actor: str, at: datetime
    ) -> bool: ...

    def page(
        self,
        *,
        tenant_id: str,
        states: Sequence[AlertState],
        kind: AlertKind | None,
        severity: Severity | None,
        subject: str | None,
        limit: int,
        cursor: str | None,
    ) -> Page: ...

    def escalate(self, *, level: int, cutoffs: Cutoffs, now: datetime) -> int:
        """Raise open alerts opened at or before their tenant's cutoff for `level` to it."""
        ...

    def pending_notifications(self, *, limit: int) -> list[PendingNotification]: ...

    def mark_notified(self, *, alert_id: int, level: int) -> None:
        """Record that levels up to `level` need no (more) notification."""
        ...

    def notifications(self, *, tenant_id: str, alert_id: int) -> list[dict[str, Any]]:
        """One alert's notification log, oldest first."""
        ...

    def record_notifications(
        self,
        *,
        alert: Alert,
        level: EscalationLevel,
        results: Sequence[DeliveryResult],
        at: datetime,
    ) -> None:
        """Log each sink's result and mark the level notified, in one transaction."""
        ...


class MonitoringConfig(Protocol):
    def rules(self, *, tenant_id: str | None) -> dict[str, list[StagnationRule]]:
        """Stored rules by tenant (one tenant's, or every tenant's when None)."""
        ...

    def replace_rules(
        self, *, tenant_id: str, rules: Sequence[StagnationRule], actor: str, at: datetime
    ) -> None: ...

    def paths(self, *, tenant_id: str | None) -> dict[str, list[EscalationLevel]]: ...

    def replace_path(
        self, *, tenant_id: str, path: Sequence[EscalationLevel], actor: str, at: datetime
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class RootCauseCount:
    carrier: str
    root_cause: str
    reason: str
    count: int


class RootCauseQueries(Protocol):
    def counts(
        self, *, tenant_id: str, start: datetime, end: datetime, carrier: str | None
    ) -> list[RootCauseCount]:
        """Shipments created in [start, end) with a root cause, by carrier, cause and reason."""
        ...


class CompletionQueries(Protocol):
    def counts(
        self, *, ranges: Sequence[tuple[datetime, datetime]], limit: int
    ) -> list[CompletionCount]:
        """Per tenant, carrier and hour: shipments due in the ranges and how many were on time."""
        ...
