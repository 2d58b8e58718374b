"""Monitoring as the entry points see it: one object wired by bootstrap, one method per use case.

`evaluate()` is the scheduled job (stagnation, anomalies, escalation, notifications); the other
methods are what the API and CLI offer people: list, acknowledge, resolve, configure, report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ordertrail.domain.monitoring.alerts import Alert, AlertKind, AlertState
from ordertrail.domain.monitoring.anomaly import AnomalySettings
from ordertrail.domain.monitoring.escalation import DEFAULT_PATH, EscalationLevel, check_path
from ordertrail.domain.monitoring.rules import (
    Severity,
    StagnationRule,
    check_rule_set,
    effective_rules,
)
from ordertrail.services import alerts as alert_service
from ordertrail.services.alert_ports import (
    AlertStore,
    CompletionQueries,
    MonitoringConfig,
    RootCauseQueries,
    Sink,
    StagnationQueries,
)
from ordertrail.services.alerts import EvaluationReport, RaisedCallback
from ordertrail.services.anomaly import evaluate_anomalies, window_end
from ordertrail.services.ports import Clock, Page
from ordertrail.services.root_causes_report import RootCauseReport, root_cause_report


@dataclass(frozen=True, slots=True)
class RuleView:
    """A rule in force for a tenant, and whether it is the default or the tenant's own."""

    rule: StagnationRule
    source: str  # default | tenant

    def as_dict(self) -> dict[str, object]:
        return {
            "subject_type": self.rule.subject_type.value,
            "status": self.rule.status,
            "threshold_minutes": self.rule.threshold_minutes,
            "severity": self.rule.severity.value,
            "enabled": self.rule.enabled,
            "source": self.source,
        }


def level_dict(level: EscalationLevel) -> dict[str, object]:
    return {
        "level": level.level,
        "delay_minutes": level.delay_minutes,
        "target_role": level.target_role,
        "email_to": list(level.email_to),
    }


@dataclass(slots=True)
class Monitoring:
    store: AlertStore
    config: MonitoringConfig
    stagnation: StagnationQueries
    completion: CompletionQueries
    root_causes: RootCauseQueries
    sinks: Sequence[Sink]
    clock: Clock
    anomaly: AnomalySettings
    anomaly_settle_minutes: int = 60
    on_raised: RaisedCallback | None = None
    # The last window the anomaly detector assessed: its counts only change when an hour settles,
    # so the minute-by-minute job aggregates the shipments once an hour, not once a minute.
    anomaly_assessed_until: datetime | None = None

    def evaluate(self) -> EvaluationReport:
        """One run of the job: raise and resolve, detect anomalies (once per settled hour),
        escalate, notify."""
        now = self.clock.now()
        report = alert_service.evaluate_stagnation(
            queries=self.stagnation,
            store=self.store,
            config=self.config,
            now=now,
            on_raised=self.on_raised,
        )
        settled = window_end(now=now, settle_minutes=self.anomaly_settle_minutes)
        if settled != self.anomaly_assessed_until:
            report += evaluate_anomalies(
                queries=self.completion,
                store=self.store,
                settings=self.anomaly,
                settle_minutes=self.anomaly_settle_minutes,
                now=now,
                on_raised=self.on_raised,
            )
            self.anomaly_assessed_until = settled
        return report + alert_service.escalate_and_notify(
            store=self.store, config=self.config, sinks=self.sinks, now=now
        )

    def alerts(
        self,
        *,
        tenant_id: str,
        states: Sequence[AlertState] = (),
        kind: AlertKind | None = None,
        severity: Severity | None = None,
        subject: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page:
        return self.store.page(
            tenant_id=tenant_id,
            states=states,
            kind=kind,
            severity=severity,
            subject=subject,
            limit=limit,
            cursor=cursor,
        )

    def alert(self, *, tenant_id: str, alert_id: int) -> tuple[Alert, list[dict[str, object]]]:
        """One alert with its notification log."""
        found = self.store.get(tenant_id=tenant_id, alert_id=alert_id)
        if found is None:
            raise alert_service.AlertNotFound(f"no alert {alert_id} for tenant {tenant_id!r}")
        return found, [
            dict(n) for n in self.store.notifications(tenant_id=tenant_id, alert_id=alert_id)
        ]

    def acknowledge(self, *, tenant_id: str, alert_id: int, actor: str) -> Alert:
        return alert_service.change_state(
            store=self.store,
            tenant_id=tenant_id,
            alert_id=alert_id,
            wanted=AlertState.ACKNOWLEDGED,
            actor=actor,
            now=self.clock.now(),
        )

    def resolve(self, *, tenant_id: str, alert_id: int, actor: str) -> Alert:
        return alert_service.change_state(
            store=self.store,
            tenant_id=tenant_id,
            alert_id=alert_id,
            wanted=AlertState.RESOLVED,
            actor=actor,
            now=self.clock.now(),
        )

    def rules(self, *, tenant_id: str) -> list[RuleView]:
        own = self.config.rules(tenant_id=tenant_id).get(tenant_id, [])
        keys = {rule.key for rule in own}
        return [
            RuleView(rule=rule, source="tenant" if rule.key in keys else "default")
            for rule in effective_rules(overrides=own)
        ]

    def replace_rules(
        self, *, tenant_id: str, rules: Sequence[StagnationRule], actor: str
    ) -> list[RuleView]:
        """Store the tenant's own rules (replacing its previous ones); defaults fill the rest."""
        self.config.replace_rules(
            tenant_id=tenant_id, rules=check_rule_set(rules), actor=actor, at=self.clock.now()
        )
        return self.rules(tenant_id=tenant_id)

    def path(self, *, tenant_id: str) -> tuple[str, tuple[EscalationLevel, ...]]:
        own = self.config.paths(tenant_id=tenant_id).get(tenant_id)
        return ("tenant", tuple(own)) if own else ("default", DEFAULT_PATH)

    def replace_path(
        self, *, tenant_id: str, path: Sequence[EscalationLevel], actor: str
    ) -> tuple[str, tuple[EscalationLevel, ...]]:
        """Store the tenant's path; an empty path goes back to the default one."""
        checked = check_path(path) if path else ()
        self.config.replace_path(
            tenant_id=tenant_id, path=checked, actor=actor, at=self.clock.now()
        )
        return self.path(tenant_id=tenant_id)

    def root_cause_report(
        self, *, tenant_id: str, start: datetime, end: datetime, carrier: str | None = None
    ) -> RootCauseReport:
        return root_cause_report(
            queries=self.root_causes, tenant_id=tenant_id, start=start, end=end, carrier=carrier
        )
