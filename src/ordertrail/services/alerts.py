"""Alerts: raise them from stagnation rules, resolve them when the condition clears, escalate
the unacknowledged ones along their tenant's path, notify every sink, and let people act on them.

The evaluation is one job (`evaluate_stagnation` then `escalate_and_notify`) that `serve` runs on
a timer and `ordertrail alerts evaluate` runs once. Each step is a set-based statement in the
database with cutoffs computed from the injected clock, so the job's cost does not grow with the
number of healthy shipments it does not alert on, and tests move time by moving the clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ordertrail.domain.monitoring.alerts import (
    STAGNATION_KIND,
    SYSTEM_ACTOR,
    Alert,
    AlertState,
    check_transition,
    stagnation_summary,
)
from ordertrail.domain.monitoring.escalation import DEFAULT_PATH, EscalationLevel
from ordertrail.domain.monitoring.rules import (
    DEFAULT_RULES,
    Severity,
    StagnationRule,
    SubjectType,
)
from ordertrail.services.alert_ports import (
    AlertStore,
    Cutoffs,
    DeliveryResult,
    MonitoringConfig,
    NewAlert,
    Notification,
    Sink,
    StagnationQueries,
)

# Subjects raised per subject type and run; the next run picks up the rest.
RAISE_BATCH_MAX = 1_000
NOTIFY_BATCH_MAX = 200

RaisedCallback = Callable[[str, str, int], None]  # kind, severity, count


class AlertNotFound(LookupError):
    """No alert with that id for the tenant (another tenant's looks the same)."""


@dataclass(frozen=True, slots=True)
class EvaluationReport:
    raised: int = 0
    resolved: int = 0
    escalated: int = 0
    notified: int = 0
    failed_deliveries: int = 0

    def __add__(self, other: EvaluationReport) -> EvaluationReport:
        return EvaluationReport(
            raised=self.raised + other.raised,
            resolved=self.resolved + other.resolved,
            escalated=self.escalated + other.escalated,
            notified=self.notified + other.notified,
            failed_deliveries=self.failed_deliveries + other.failed_deliveries,
        )


def stagnation_cutoffs(
    *,
    subject_type: SubjectType,
    overrides: Mapping[str, Sequence[StagnationRule]],
    now: datetime,
    defaults: Iterable[StagnationRule] = DEFAULT_RULES,
) -> Cutoffs:
    """Per status, now minus its threshold (None when disabled), by default and per tenant."""

    def table(rules: Iterable[StagnationRule]) -> dict[str, datetime | None]:
        return {
            rule.status: now - timedelta(minutes=rule.threshold_minutes) if rule.enabled else None
            for rule in rules
            if rule.subject_type is subject_type
        }

    by_tenant = {tenant: table(rules) for tenant, rules in overrides.items()}
    return Cutoffs(default=table(defaults), by_tenant={t: c for t, c in by_tenant.items() if c})


def path_cutoffs(
    *,
    paths: Mapping[str, Sequence[EscalationLevel]],
    now: datetime,
    default_path: Sequence[EscalationLevel] = DEFAULT_PATH,
) -> Cutoffs:
    """Per level, now minus its delay: an alert opened at or before it has reached the level."""

    def table(path: Iterable[EscalationLevel]) -> dict[str, datetime | None]:
        return {str(item.level): now - timedelta(minutes=item.delay_minutes) for item in path}

    return Cutoffs(
        default=table(default_path),
        by_tenant={tenant: table(path) for tenant, path in paths.items() if path},
        replace_whole=True,
    )


def evaluate_stagnation(
    *,
    queries: StagnationQueries,
    store: AlertStore,
    config: MonitoringConfig,
    now: datetime,
    on_raised: RaisedCallback | None = None,
) -> EvaluationReport:
    """Raise an alert for each newly stagnant subject; resolve those whose condition cleared."""
    overrides = config.rules(tenant_id=None)
    raised = resolved = 0
    for subject_type in SubjectType:
        cutoffs = stagnation_cutoffs(subject_type=subject_type, overrides=overrides, now=now)
        resolved += queries.resolve_cleared(
            subject_type=subject_type, cutoffs=cutoffs, actor=SYSTEM_ACTOR, now=now
        )
        found = queries.stagnant(subject_type=subject_type, cutoffs=cutoffs, limit=RAISE_BATCH_MAX)
        severity = _severities(subject_type=subject_type, overrides=overrides)
        new = [
            NewAlert(
                tenant_id=item.tenant_id,
                kind=STAGNATION_KIND[subject_type],
                subject=item.subject,
                severity=severity(item.tenant_id, item.status),
                summary=stagnation_summary(
                    subject_type=subject_type,
                    subject=item.subject,
                    status=item.status,
                    hours=(now - item.since).total_seconds() / 3600,
                ),
                details=item.details,
                opened_at=now,
            )
            for item in found
        ]
        inserted = store.insert(items=new)
        raised += len(inserted)
        report_raised(inserted, on_raised=on_raised)
    return EvaluationReport(raised=raised, resolved=resolved)


def report_raised(alerts: Sequence[NewAlert], *, on_raised: RaisedCallback | None) -> None:
    """Tell the metrics how many alerts of each kind and severity were raised."""
    if on_raised is None:
        return
    counts: dict[tuple[str, str], int] = {}
    for alert in alerts:
        key = (alert.kind.value, alert.severity.value)
        counts[key] = counts.get(key, 0) + 1
    for (kind, severity), count in sorted(counts.items()):
        on_raised(kind, severity, count)


def _severities(
    *, subject_type: SubjectType, overrides: Mapping[str, Sequence[StagnationRule]]
) -> Callable[[str, str], Severity]:
    defaults = {r.status: r.severity for r in DEFAULT_RULES if r.subject_type is subject_type}
    tenants = {
        tenant: {r.status: r.severity for r in rules if r.subject_type is subject_type}
        for tenant, rules in overrides.items()
    }

    def severity(tenant_id: str, status: str) -> Severity:
        return tenants.get(tenant_id, {}).get(status) or defaults[status]

    return severity


def escalate_and_notify(
    *,
    store: AlertStore,
    config: MonitoringConfig,
    sinks: Sequence[Sink],
    now: datetime,
) -> EvaluationReport:
    """Move unacknowledged alerts up their path, then tell each newly reached level's target."""
    paths = config.paths(tenant_id=None)
    cutoffs = path_cutoffs(paths=paths, now=now)
    depth = max([len(DEFAULT_PATH), *(len(p) for p in paths.values())])
    escalated = sum(
        store.escalate(level=level, cutoffs=cutoffs, now=now) for level in range(1, depth + 1)
    )
    notified = failed = 0
    for pending in store.pending_notifications(limit=NOTIFY_BATCH_MAX):
        alert = pending.alert
        path = paths.get(alert.tenant_id) or list(DEFAULT_PATH)
        for level in path[pending.notified_level : alert.escalation_level]:
            results = notify(sinks=sinks, alert=alert, level=level, now=now)
            store.record_notifications(alert=alert, level=level, results=results, at=now)
            notified += 1
            failed += sum(1 for result in results if not result.sent)
        if len(path) < alert.escalation_level:
            # The tenant shortened its path after this alert climbed: the levels it passed no
            # longer exist, so there is nobody left to tell; do not look at it again.
            store.mark_notified(alert_id=alert.id, level=alert.escalation_level)
    return EvaluationReport(escalated=escalated, notified=notified, failed_deliveries=failed)


def notify(
    *, sinks: Sequence[Sink], alert: Alert, level: EscalationLevel, now: datetime
) -> list[DeliveryResult]:
    """Send one level's notification of an alert through every sink; collect what each did."""
    notification = Notification(
        notification_id=f"{alert.tenant_id}:{alert.id}:{level.level}",
        event="raised" if level.level == 1 else "escalated",
        alert=alert,
        level=level,
        sent_at=now,
    )
    results = [sink.send(notification=notification) for sink in sinks]
    return [result for result in results if result is not None]


def _existing(*, store: AlertStore, tenant_id: str, alert_id: int) -> Alert:
    alert = store.get(tenant_id=tenant_id, alert_id=alert_id)
    if alert is None:
        raise AlertNotFound(f"no alert {alert_id} for tenant {tenant_id!r}")
    return alert


def change_state(
    *,
    store: AlertStore,
    tenant_id: str,
    alert_id: int,
    wanted: AlertState,
    actor: str,
    now: datetime,
) -> Alert:
    """Acknowledge or resolve an alert on someone's behalf; refuse what its state does not allow.

    The update is conditional on the state it was read in, so of two people acting at once one
    succeeds and the other is told what happened instead of overwriting it.
    """
    alert = _existing(store=store, tenant_id=tenant_id, alert_id=alert_id)
    check_transition(alert=alert, wanted=wanted)
    if not store.change_state(
        tenant_id=tenant_id,
        alert_id=alert_id,
        expected=alert.state,
        wanted=wanted,
        actor=actor,
        at=now,
    ):
        current = _existing(store=store, tenant_id=tenant_id, alert_id=alert_id)
        check_transition(alert=current, wanted=wanted)
        return change_state(
            store=store, tenant_id=tenant_id, alert_id=alert_id, wanted=wanted, actor=actor, now=now
        )
    return _existing(store=store, tenant_id=tenant_id, alert_id=alert_id)
