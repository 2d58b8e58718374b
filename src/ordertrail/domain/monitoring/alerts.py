"""Alerts: what was raised about which subject, and how it moves from open to resolved.

One alert per (tenant, kind, subject) is open at a time: the condition seen again on the next run
is the same alert, not a new page. An alert is acknowledged by a person (which stops escalation)
and resolved either by a person or automatically when its condition clears.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from ordertrail.domain.monitoring.rules import Severity, SubjectType

SYSTEM_ACTOR = "ordertrail"


class AlertKind(StrEnum):
    SHIPMENT_STAGNANT = "shipment_stagnant"
    ORDER_STAGNANT = "order_stagnant"
    COMPLETION_RATE_DROP = "completion_rate_drop"


# The kind of alert a stagnation rule raises for each subject type.
STAGNATION_KIND: dict[SubjectType, AlertKind] = {
    SubjectType.SHIPMENT: AlertKind.SHIPMENT_STAGNANT,
    SubjectType.ORDER: AlertKind.ORDER_STAGNANT,
}


class AlertState(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Resolution(StrEnum):
    AUTO = (
        "auto"  # the condition cleared: a new scan arrived, the order moved on, the rate recovered
    )
    MANUAL = "manual"


# Allowed state changes. Acknowledging twice or touching a resolved alert is refused, so two
# people acting on one page find out about each other instead of overwriting who did it.
TRANSITIONS: dict[AlertState, frozenset[AlertState]] = {
    AlertState.OPEN: frozenset({AlertState.ACKNOWLEDGED, AlertState.RESOLVED}),
    AlertState.ACKNOWLEDGED: frozenset({AlertState.RESOLVED}),
    AlertState.RESOLVED: frozenset(),
}


class AlertTransitionRefused(Exception):
    """The alert is not in a state that allows the requested change."""

    def __init__(self, *, alert_id: int, state: AlertState, wanted: AlertState) -> None:
        super().__init__(f"alert {alert_id} is {state.value}; it cannot become {wanted.value}")
        self.state = state
        self.wanted = wanted


@dataclass(frozen=True, slots=True)
class Alert:
    id: int
    tenant_id: str
    kind: AlertKind
    subject: str
    severity: Severity
    state: AlertState
    summary: str
    opened_at: datetime
    escalation_level: int
    details: dict[str, Any] = field(default_factory=dict)
    escalated_at: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    resolution: Resolution | None = None

    def as_dict(self) -> dict[str, Any]:
        """The alert as the API and the CLI show it."""

        def at(value: datetime | None) -> str | None:
            return None if value is None else value.isoformat()

        return {
            "id": self.id,
            "tenant_id": self.tenant_id,
            "kind": self.kind.value,
            "subject": self.subject,
            "severity": self.severity.value,
            "state": self.state.value,
            "summary": self.summary,
            "details": self.details,
            "opened_at": at(self.opened_at),
            "escalation_level": self.escalation_level,
            "escalated_at": at(self.escalated_at),
            "acknowledged_at": at(self.acknowledged_at),
            "acknowledged_by": self.acknowledged_by,
            "resolved_at": at(self.resolved_at),
            "resolved_by": self.resolved_by,
            "resolution": None if self.resolution is None else self.resolution.value,
        }


def check_transition(*, alert: Alert, wanted: AlertState) -> None:
    """Raise AlertTransitionRefused unless the alert may move to `wanted`."""
    if wanted not in TRANSITIONS[alert.state]:
        raise AlertTransitionRefused(alert_id=alert.id, state=alert.state, wanted=wanted)


def stagnation_summary(
    *, subject_type: SubjectType, subject: str, status: str, hours: float
) -> str:
    """One sentence for a person: what is stuck, where, and for how long."""
    return f"{subject_type.value} {subject} has been {status} for {hours:.0f} h without an update"
